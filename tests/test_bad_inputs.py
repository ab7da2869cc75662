"""Bad options and mistyped outputs: one `error:` line naming the option or file, a non-zero
exit, and nothing a user wrote is replaced; the OS's refusals read the same way."""

import json

import pytest
from click.testing import CliRunner

from amr.cli import cli
from amr.datasets import Store

pytestmark = pytest.mark.slow  # trains models or runs real processes


@pytest.fixture(scope="module")
def trained(small_store, tmp_path_factory):
    """A one-epoch baseline run, and a corpus of the small store."""
    root = tmp_path_factory.mktemp("bad")
    runner = CliRunner()
    tiny = root / "tiny.json"
    widths = {"video_dim": Store.open(small_store).meta.video_dim}  # the store's: accepted
    tiny.write_text(json.dumps({"model": {"hidden": 32, "heads": 4, "ffn": 64, **widths,
                                          "encoder_layers": 1, "decoder_layers": 1}}))  # fmt: skip
    (root / "wide.json").write_text(json.dumps({"model": {"text_dim": 7}}))
    (root / "typo.json").write_text(json.dumps({"model": {"hiden": 8}}))
    result = runner.invoke(cli, ["train", "baseline", "--store", str(small_store), "--out",
                                 str(root / "run"), "--epochs", "1", "--config", str(tiny),
                                 "--quiet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["augment", "--store", str(small_store), "--out",
                                 str(root / "corpus"), "--multiplier", "1", "--quiet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["predict", "--checkpoint", str(root / "run"), "--store",
                                 str(small_store), "--split", "val", "--out",
                                 str(root / "run" / "val_preds.jsonl")])  # fmt: skip
    assert result.exit_code == 0, result.output
    return root


TRAIN = ["train", "baseline", "--store", "{store}", "--out", "{root}/new"]
PREDICT = ["predict", "--checkpoint", "{root}/run", "--store", "{store}", "--split", "val"]
EVAL = ["eval", "--predictions", "{root}/run/val_preds.jsonl", "--store", "{store}", "--split",
        "val"]  # fmt: skip
CASES = [
    ([*TRAIN, "--epochs", "0"], "--epochs must be at least 1, got 0"),
    ([*TRAIN, "--epochs", "-3"], "--epochs must be at least 1, got -3"),
    ([*TRAIN, "--batch-size", "0"], "--batch-size must be at least 1, got 0"),
    ([*TRAIN, "--lr", "0"], "--lr must be positive, got 0.0"),
    ([*TRAIN, "--lr", "-1e-4"], "--lr must be positive"),
    ([*TRAIN, "--max-samples", "-5"], "--max-samples must be at least 1, got -5"),
    ([*TRAIN, "--patience", "0"], "--patience must be at least 1, got 0"),
    ([*TRAIN, "--config", "{root}/wide.json"], "model text_dim 7 does not match the store's"),
    ([*TRAIN, "--config", "{root}/typo.json"], "ModelConfig: unknown field 'hiden'"),
    ([*PREDICT, "--out", "{root}/p.jsonl", "--nms", "1.5"], "--nms must be an IoU in [0, 1]"),
    (
        ["inspect", "--corpus", "{root}/corpus", "--sql", "SELECT 1", "--limit", "-1"],
        "--limit must be at least",
    ),
    ([*PREDICT, "--out", "{store}/store.json"], "store.json: exists and is not a predictions file"),
    (
        [*EVAL, "--out", "{store}/store.json"],
        "store.json: exists and is not metrics amr eval wrote",
    ),
    (
        ["inspect", "--corpus", "{store}"],
        "is a store, not a corpus (amr datasets info --store describes a store",
    ),
]


@pytest.mark.parametrize(("args", "message"), CASES)
def test_bad_input_is_one_error_line(trained, small_store, args, message):
    before = (small_store / "store.json").read_bytes()
    filled = [a.format(store=small_store, root=trained) for a in args]
    result = CliRunner().invoke(cli, filled)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("error: ") and message in " ".join(result.output.split())
    assert (small_store / "store.json").read_bytes() == before
    assert not (trained / "new").exists()


def test_amr_outputs_are_replaced_and_overwrite_replaces_anything(trained, small_store):
    runner = CliRunner()
    preds = trained / "again.jsonl"
    base = ["predict", "--checkpoint", str(trained / "run"), "--store", str(small_store),
            "--split", "val", "--out", str(preds)]  # fmt: skip
    assert runner.invoke(cli, base).exit_code == 0
    assert runner.invoke(cli, base).exit_code == 0  # its own predictions: replaced
    notes = trained / "notes.txt"
    notes.write_text("mine")
    refused = runner.invoke(cli, [*base[:-1], str(notes)])
    assert refused.exit_code == 1 and notes.read_text() == "mine"
    assert runner.invoke(cli, [*base[:-1], str(notes), "--overwrite"]).exit_code == 0
    assert json.loads(notes.read_text().splitlines()[0])["qid"]
    metrics = trained / "m.json"
    scored = ["eval", "--predictions", str(preds), "--store", str(small_store), "--split", "val",
              "--out", str(metrics)]  # fmt: skip
    assert runner.invoke(cli, scored).exit_code == 0
    assert runner.invoke(cli, scored).exit_code == 0  # its own metrics: replaced


def test_resuming_a_finished_corpus_is_a_no_op(trained, small_store):
    corpus = trained / "corpus"
    before = {p.name: p.stat().st_mtime_ns for p in corpus.iterdir()}
    args = ["augment", "--store", str(small_store), "--out", str(corpus), "--multiplier", "1"]
    result = CliRunner().invoke(cli, [*args, "--resume"])
    assert result.exit_code == 0 and "already finished with these settings" in result.output
    assert {p.name: p.stat().st_mtime_ns for p in corpus.iterdir()} == before
    other = CliRunner().invoke(cli, [*args[:-1], "2", "--resume"])  # other settings
    assert other.exit_code == 1 and "pass --overwrite" in other.output


def _missing_field(corpus):
    manifest = json.loads((corpus / "manifest.json").read_text())
    del manifest["kinds"]
    (corpus / "manifest.json").write_text(json.dumps(manifest))


def _truncated(corpus):
    part = corpus / "part-00000.parquet"
    part.write_bytes(part.read_bytes()[:1000])


def _symlinked(corpus):
    part = corpus / "part-00000.parquet"
    elsewhere = corpus.parent / f"{corpus.name}-elsewhere.parquet"
    part.rename(elsewhere)
    part.symlink_to(elsewhere)


@pytest.mark.parametrize("command", [["inspect"], ["corpus", "info"]])
@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_missing_field, "manifest has no 'kinds' field"),
        (_truncated, "part-00000.parquet: truncated (1,000 of"),
        (_symlinked, "part-00000.parquet: is a symbolic link"),
    ],
)
def test_a_damaged_corpus_is_one_error_line(trained, tmp_path, command, damage, message):
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(trained / "corpus", corpus)
    damage(corpus)
    result = CliRunner().invoke(cli, [*command, "--corpus", str(corpus)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith("error: ") and message in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eval", "--nope"], "No such option '--nope'"),
        (["train", "cold-start", "--out", "x"], "Missing option '--corpus'"),
        (["experiment", "--store", "s", "--budget", "huge"], "'huge' is not one of"),
    ],
)
def test_usage_mistakes_are_one_error_line_with_status_2(args, message):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "--help')" in lines[0]


# Every command that writes, pointed at a place it cannot write (a path under a file: what a
# read-only directory is for a user who is not root).
BLOCKED = "{root}/blocked/out"
UNWRITABLE = [
    ["datasets", "synth", "--out", BLOCKED, "--preset", "demo", "--train-videos", "4",
     "--val-videos", "2", "--test-videos", "2"],
    ["datasets", "subset", "--store", "{store}", "--split", "train", "--fraction", "0.5",
     "--out", BLOCKED],
    ["augment", "--store", "{store}", "--out", BLOCKED, "--multiplier", "1"],
    ["corpus", "export", "--corpus", "{root}/corpus", "--format", "moment-detr", "--out", BLOCKED],
    [*TRAIN[:-1], BLOCKED, "--epochs", "1"],
    [*PREDICT, "--out", BLOCKED],
    [*EVAL, "--out", BLOCKED],
    ["features", "tiny", "--out", BLOCKED],
    ["experiment", "--store", "{store}", "--out", BLOCKED],
    ["show", "--corpus", "{root}/corpus", "--sample-id", "0", "--out", BLOCKED + ".png"],
]  # fmt: skip


@pytest.mark.parametrize("args", UNWRITABLE, ids=lambda args: " ".join(args[:2]))
def test_a_place_that_cannot_be_written_is_one_error_line(trained, small_store, args):
    (trained / "blocked").write_text("a file, where a directory should be")
    result = CliRunner().invoke(cli, [a.format(store=small_store, root=trained) for a in args])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("error: ") and "blocked" in result.output
    assert "not a directory" in result.output, result.output


def test_the_os_refusing_a_write_is_one_error_line(trained, small_store, tmp_path):
    """A write past the file-size limit fails as a full disk does, in a real process: one line,
    and the corpus that --overwrite was replacing is still whole."""
    import resource
    import shutil
    import signal
    import subprocess
    import sys

    from conftest import corpus_bytes

    corpus = tmp_path / "corpus"
    shutil.copytree(trained / "corpus", corpus)
    before = corpus_bytes(corpus)

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails (EFBIG), not the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (64_000, 64_000))

    args = ["augment", "--store", str(small_store), "--out", str(corpus), "--multiplier", "3",
            "--overwrite", "--quiet"]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "amr.cli", *args],
        capture_output=True, text=True, preexec_fn=small_files, timeout=300,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert "file too large" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert corpus_bytes(corpus) == before


def test_a_corpus_too_big_for_the_disk_or_memory_is_refused_before_writing(small_store, tmp_path):
    out = tmp_path / "corpus"
    for multiplier in ("100000000", str(10**12)):
        result = CliRunner().invoke(cli, ["augment", "--store", str(small_store), "--out",
                                          str(out), "--multiplier", multiplier])  # fmt: skip
        assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
        assert "this corpus needs about" in result.output and " free;" in result.output
        assert not out.exists() and list(tmp_path.iterdir()) == []


def test_an_annotation_file_that_is_not_utf8_names_its_line(trained, small_store, tmp_path):
    latin1 = tmp_path / "latin1.jsonl"
    line = (
        '{"qid": %d, "query": "caf\xe9", "vid": "v", "duration": 10, "relevant_windows": [[0, 2]]}'
    )
    latin1.write_bytes((line % 1 + "\n").encode() + (line % 2 + "\n").encode("latin-1"))
    predictions = str(trained / "run" / "val_preds.jsonl")
    result = CliRunner().invoke(
        cli, ["eval", "--predictions", predictions, "--annotations", str(latin1)]
    )
    assert result.exit_code == 1
    assert f"{latin1}:2: not UTF-8 text (byte 0xe9 at column" in result.output


def test_os_errors_read_as_what_to_do():
    import errno

    from amr.cli.options import os_error_line

    full = os_error_line(OSError(errno.ENOSPC, "No space left on device", "/d/part-00001.parquet"))
    assert full.startswith("/d/part-00001.parquet: no space left on the device; free some")
    arrow = OSError("Error writing bytes to file. Detail: [errno 28] No space left on device")
    assert os_error_line(arrow).startswith("no space left on the device")
    assert (
        os_error_line(OSError(errno.EIO, "Input/output error", "/d/x"))
        == "/d/x: Input/output error"
    )
