"""The `amr` command as a user runs it: a real process, its exit status and its stderr."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # trains models or runs real processes


def amr(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "amr.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_help_lists_the_commands():
    result = amr("--help")
    assert result.returncode == 0 and "datasets" in result.stdout
    result = amr("datasets", "--help")
    for command in ("import", "synth", "info"):
        assert command in result.stdout


def test_version():
    result = amr("--version")
    assert result.returncode == 0 and "amr" in result.stdout


def test_user_mistake_is_one_line_on_stderr_without_traceback(tmp_path):
    result = amr("datasets", "info", "--store", str(tmp_path / "missing"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'missing'}: not a store (no store.json)"
    ]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_demo_synth_and_info_end_to_end(tmp_path):
    result = amr("datasets", "synth", "--out", str(tmp_path / "store"), "--quiet")
    assert result.returncode == 0, result.stderr
    result = amr("datasets", "info", "--store", str(tmp_path / "store"))
    assert result.returncode == 0
    assert "synthetic-demo" in result.stdout and "fingerprint sha256:" in result.stdout


def test_help_states_each_stage_s_defaults_as_numbers():
    for stage, epochs in (("baseline", 30), ("cold-start", 30), ("distill", 100)):
        text = " ".join(amr("train", stage, "--help").stdout.split())
        assert f"--epochs INTEGER [default: {epochs}]" in text, stage
        assert "--lr FLOAT [default: 0.0001]" in text and "the stage's" not in text
    arms = " ".join(amr("experiment", "--help").stdout.split())
    assert "[default: all of them]" in arms and "…" not in arms


def test_import_without_features_points_to_the_ways_to_make_them(tmp_path):
    result = amr("datasets", "import", "qvhighlights", "--annotations", "a.jsonl", "--split",
                 "val", "--out", str(tmp_path / "s"))  # fmt: skip
    assert result.returncode == 2 and "Missing option '--video-features'" in result.stderr
    assert "amr features extract" in result.stderr and "amr datasets synth" in result.stderr
