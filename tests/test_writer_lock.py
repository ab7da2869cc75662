"""One writer per output, across real processes: a second writer stops with one line naming the
holder; a lock left by a killed process blocks no one; nothing is left beside the output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from amr.errors import AmrError
from amr.writer_lock import exclusive_output

AMR = [sys.executable, "-m", "amr.cli"]
HOLD = (
    "import sys, time\n"
    "from amr.writer_lock import exclusive_output\n"
    "with exclusive_output(sys.argv[1]):\n"
    "    print('held', flush=True)\n"
    "    time.sleep(120)\n"
)


@pytest.fixture
def holder():
    """Start a process that holds an output's lock; yields a function taking the output path."""
    started = []

    def hold(out):
        process = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True
        )
        assert process.stdout.readline().strip() == "held"
        started.append(process)
        return process

    yield hold
    for process in started:
        process.kill()
        process.wait()


def _amr(*args):
    return subprocess.run([*AMR, *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_a_second_writer_is_refused_naming_the_holder(holder, small_store, tmp_path):
    corpus, run = tmp_path / "corpus", tmp_path / "run"
    augment = ["augment", "--store", str(small_store), "--split", "train", "--out", str(corpus)]
    augment += ["--multiplier", "1", "--quiet"]
    process = holder(corpus)
    refused = _amr(*augment)
    assert refused.returncode == 1, refused.stderr
    message = (refused.stdout + refused.stderr).strip()
    assert len(message.splitlines()) == 1
    assert f"process {process.pid}" in message and "is writing it" in message
    assert not corpus.exists()

    holder(run)
    train = ["train", "baseline", "--store", str(small_store), "--out", str(run)]
    refused = _amr(*train, "--overwrite", "--epochs", "1", "--quiet")
    assert refused.returncode == 1 and "is writing it" in refused.stdout + refused.stderr

    process.send_signal(signal.SIGKILL)  # a killed writer's lock blocks no one
    process.wait()
    done = _amr(*augment, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] > 0
    # the corpus's lock went with its writer; the run's is still held; no run was started
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.lock", "corpus"]


def test_the_lock_is_released_and_removed_when_the_writer_finishes(tmp_path):
    out = tmp_path / "out"
    with exclusive_output(out):
        assert (tmp_path / ".out.lock").read_text().startswith("process ")
        with exclusive_output(out):  # a step of the same command (extract imports a store)
            pass
        assert (tmp_path / ".out.lock").is_file()  # still held by the outer writer
        with exclusive_output(out, ".shard-1-of-2"):  # a role has a lock of its own
            assert (tmp_path / ".out.shard-1-of-2.lock").is_file()
    assert list(tmp_path.iterdir()) == []
    with exclusive_output(out):  # and it can be taken again
        pass


def test_an_unwritable_place_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    not_a_directory = r"file/out: cannot write there \(.*/file is a file, not a directory\)"
    with pytest.raises(AmrError, match=not_a_directory), exclusive_output(blocker / "out"):
        pass
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    if os.access(locked, os.W_OK):  # root writes anywhere: nothing to refuse
        return
    denied = r"locked/out: cannot write there \(Permission denied\)"
    with pytest.raises(AmrError, match=denied), exclusive_output(locked / "out"):
        pass
