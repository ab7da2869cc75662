"""QVHighlights' published test labels (highlight_test_with_gt.jsonl; the CodaLab server is
gone): imported as a labelled test split, scored locally with every metric, and a synthetic
qvh world whose test split is them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import read_jsonl, write_jsonl

from amr.cli import cli
from amr.datasets import Store

QUERIES = 40


@pytest.fixture(scope="module")
def qvh_test_gt(data_dir: Path) -> Path:
    return data_dir / "qvhighlights" / "highlight_test_with_gt.jsonl"


def test_the_published_test_labels_import_and_score_with_highlight_metrics(qvh_test_gt, tmp_path):
    rows = read_jsonl(qvh_test_gt, limit=QUERIES)
    annotations = write_jsonl(tmp_path / "test.jsonl", rows)
    rng = np.random.default_rng(0)
    (tmp_path / "video").mkdir()
    (tmp_path / "text").mkdir()
    for row in rows:
        clips = rng.standard_normal((int(row["duration"] // 2), 16), dtype=np.float32)
        np.savez(tmp_path / "video" / f"{row['vid']}.npz", features=clips)
        words = rng.standard_normal((5, 8), dtype=np.float32)
        np.savez(tmp_path / "text" / f"qid{row['qid']}.npz", last_hidden_state=words)
    store = tmp_path / "store"
    runner = CliRunner()
    imported = runner.invoke(cli, [
        "datasets", "import", "qvhighlights", "--annotations", str(annotations), "--split",
        "test", "--video-features", str(tmp_path / "video"), "--text-features",
        str(tmp_path / "text"), "--out", str(store), "--quiet",
    ])  # fmt: skip
    assert imported.exit_code == 0, imported.output
    samples = Store.open(store).samples("test").to_pylist()
    assert [s["relevant_windows"] for s in samples] == [r["relevant_windows"] for r in rows]
    assert all(s["saliency_scores"] for s in samples)  # labelled: windows and saliency

    # the ground truth itself as predictions: every metric at its best, highlight ones included
    perfect = []
    for row in rows:
        scores = np.zeros(int(row["duration"] // 2))
        for clip, levels in zip(row["relevant_clip_ids"], row["saliency_scores"], strict=True):
            scores[clip] = sum(levels)
        windows = [[s, e, 1.0] for s, e in row["relevant_windows"]]
        perfect.append({"qid": row["qid"], "pred_relevant_windows": windows,
                        "pred_saliency_scores": scores.tolist()})  # fmt: skip
    predictions = write_jsonl(tmp_path / "preds.jsonl", perfect)
    metrics = tmp_path / "metrics.json"
    scored = runner.invoke(cli, [
        "eval", "--store", str(store), "--split", "test", "--predictions", str(predictions),
        "--out", str(metrics), "--quiet",
    ])  # fmt: skip
    assert scored.exit_code == 0, scored.output
    brief = json.loads(metrics.read_text())["brief"]
    # only a line's first 10 windows count: a query with 11 (qid 3452) finds 10 of them
    best_map = np.mean([min(len(r["relevant_windows"]), 10) / len(r["relevant_windows"])
                        for r in rows]) * 100  # fmt: skip
    assert brief["MR-full-R1@0.7"] == 100.0 and brief["MR-full-mAP"] == round(best_map, 2)
    # highlight detection too: the top-ranked clip is a very good one
    assert brief["HL-min-VeryGood-Hit1"] == 100.0
    assert {"HL-min-Fair-mAP", "HL-min-Good-mAP", "HL-min-VeryGood-mAP"} <= set(brief)


def _data_dir(root: Path, qvh_files: dict[str, Path], limit: int) -> Path:
    """A data folder holding the first `limit` queries of each QVHighlights file."""
    folder = root / "qvhighlights"
    folder.mkdir(parents=True)
    for name, path in qvh_files.items():
        write_jsonl(folder / name, read_jsonl(path, limit=limit))
    return root


def test_synth_real_test_takes_the_published_test_labels(data_dir, tmp_path, monkeypatch):
    names = ("highlight_train_release.jsonl", "highlight_val_release.jsonl",
             "highlight_test_with_gt.jsonl")  # fmt: skip
    files = {name: data_dir / "qvhighlights" / name for name in names}
    monkeypatch.setenv("AMR_DATA_DIR", str(_data_dir(tmp_path / "data", files, 30)))
    runner = CliRunner()
    synth = ["datasets", "synth", "--preset", "qvh", "--video-dim", "16", "--text-dim", "8",
             "--quiet"]  # fmt: skip
    assert (
        runner.invoke(cli, [*synth, "--real-test", "--out", str(tmp_path / "real")]).exit_code == 0
    )
    assert runner.invoke(cli, [*synth, "--out", str(tmp_path / "carved")]).exit_code == 0
    real, carved = Store.open(tmp_path / "real"), Store.open(tmp_path / "carved")
    test_rows = read_jsonl(files["highlight_test_with_gt.jsonl"], limit=30)
    tested = real.samples("test").to_pylist()
    assert [s["qid"] for s in tested] == [r["qid"] for r in test_rows]
    assert [s["relevant_windows"] for s in tested] == [r["relevant_windows"] for r in test_rows]
    assert real.samples("val").num_rows == 30  # val stays whole
    carved_test = set(carved.samples("test").column("qid").to_pylist())
    val_qids = {r["qid"] for r in read_jsonl(files["highlight_val_release.jsonl"], limit=30)}
    assert carved_test and carved_test <= val_qids  # the registered default: a share of val
    assert carved.meta.fingerprint != real.meta.fingerprint

    charades = runner.invoke(cli, ["datasets", "synth", "--preset", "charades", "--real-test",
                                   "--out", str(tmp_path / "c")])  # fmt: skip
    assert charades.exit_code == 1 and "preset 'charades' has no published test labels" in (
        charades.output
    )
    given = runner.invoke(cli, [*synth, "--real-test", "--annotations",
                                str(files["highlight_val_release.jsonl"]), "--split", "val",
                                "--out", str(tmp_path / "g")])  # fmt: skip
    assert given.exit_code == 2 and "--annotations highlight_test_with_gt.jsonl" in given.output
