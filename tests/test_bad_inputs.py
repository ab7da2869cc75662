"""Bad options and mistyped outputs: one `error:` line naming the option or file, a non-zero
exit, and nothing a user wrote is replaced (issue 17's table)."""

import json

import pytest
from click.testing import CliRunner

from amr.cli import cli
from amr.datasets import Store


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
