"""The `amr` command as a user runs it: a real process, its exit status and its stderr."""

import subprocess
import sys


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
