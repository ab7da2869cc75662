"""String query ids (TACoS "s17-d69_0", Ego4D-NLQ "train0"): imported, trained on as int64
codes, and written back out as the strings, by `amr predict`, `amr eval` and the export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import read_jsonl, write_jsonl

from amr.augment import AugmentConfig, augment
from amr.cli import cli
from amr.datasets import Store
from amr.datasets.query_ids import QUERY_IDS_FILE, STRING_CODES, query_code
from amr.export import ExportConfig, export_corpus
from amr.predict import Predictor, predict_split
from amr.train import ModelConfig, MomentDETR


def _tacos(root: Path, videos: int = 12) -> list[dict]:
    """A TACoS-like split amr writes itself: string qids, float durations, one window each,
    text files `{qid}.npz` (no `qid` prefix)."""
    rng = np.random.default_rng(0)
    rows = []
    for v in range(videos):
        duration = float(np.round(rng.uniform(40, 140), 2))
        for q in range(2):
            start = float(np.round(rng.uniform(0, duration - 12), 2))
            rows.append({"qid": f"s{v}-d{v * 3}_{q}", "query": f"the person cuts item {q}",
                         "duration": duration, "vid": f"s{v}-d{v * 3}",
                         "relevant_windows": [[start, round(start + 10.5, 2)]]})  # fmt: skip
    (root / "video").mkdir(parents=True)
    (root / "text").mkdir()
    for row in rows:
        clips = int(np.ceil(row["duration"] / 2))
        features = rng.standard_normal((clips, 12), dtype=np.float32)
        np.savez(root / "video" / f"{row['vid']}.npz", features=features)
        words = rng.standard_normal((6, 8), dtype=np.float32)
        np.savez(root / "text" / f"{row['qid']}.npz", last_hidden_state=words)
    return rows


@pytest.fixture(scope="module")
def tacos(tmp_path_factory) -> tuple[Path, list[dict], Path]:
    root = tmp_path_factory.mktemp("tacos")
    rows = _tacos(root)
    train = write_jsonl(root / "train.jsonl", rows[:16])
    val = write_jsonl(root / "val.jsonl", rows[16:])
    args = ["datasets", "import", "tacos", "--annotations", str(train), "--split", "train",
            "--annotations", str(val), "--split", "val", "--video-features", str(root / "video"),
            "--text-features", str(root / "text"), "--out", str(root / "store"),
            "--quiet"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return root, rows, root / "store"


def test_a_string_id_store_keeps_int64_codes_and_the_strings(tacos, small_store):
    root, rows, store_path = tacos
    assert (store_path / QUERY_IDS_FILE).is_file()
    assert not (small_store / QUERY_IDS_FILE).exists()  # integer ids: the store as it was
    store = Store.open(store_path)
    assert store.meta.clip_length == 2.0  # TACoS' default
    codes = store.samples("train").column("qid").to_pylist()
    assert codes == [query_code(r["qid"]) for r in rows[:16]]
    assert all(c >= STRING_CODES for c in codes)
    assert store.query_ids == {query_code(r["qid"]): r["qid"] for r in rows}
    first = rows[0]
    words = np.load(root / "text" / f"{first['qid']}.npz")["last_hidden_state"]
    assert store.text_features(query_code(first["qid"])).shape == words.shape


def test_predictions_and_eval_round_trip_string_ids(tacos, tmp_path):
    _, rows, store_path = tacos
    store = Store.open(store_path)
    model = MomentDETR(ModelConfig(video_dim=12, text_dim=8, hidden=16, heads=2, ffn=32))
    records = predict_split(Predictor(model, 2.0), store, "val")
    assert [r["qid"] for r in records] == [r["qid"] for r in rows[16:]]  # the strings, exactly
    predictions = write_jsonl(tmp_path / "val_preds.jsonl", records)
    write_jsonl(tmp_path / "gt.jsonl", rows[16:])
    # a store split knows it came from TACoS; an annotation file is told
    for ground_truth in (
        ["--store", str(store_path), "--split", "val"],
        ["--annotations", str(tmp_path / "gt.jsonl"), "--dataset", "tacos"],
    ):
        command = ["eval", "--predictions", str(predictions), "--json"]
        result = CliRunner().invoke(cli, [*command, *ground_truth])
        assert result.exit_code == 0, result.output
        body = json.loads(result.stdout)
        assert body["amr"]["dataset"] == "tacos" and body["amr"]["queries"] == 8
        assert "MR-full-R1@0.3" in body["brief"] and "MR-full-mIoU" in body["brief"]
    lost = read_jsonl(predictions)[1:]
    write_jsonl(tmp_path / "short.jsonl", lost)
    missing = CliRunner().invoke(cli, ["eval", "--predictions", str(tmp_path / "short.jsonl"),
                                       "--store", str(store_path), "--split", "val"])  # fmt: skip
    assert missing.exit_code == 1


def test_the_export_writes_string_ids_and_their_text_files(tacos, tmp_path):
    _, rows, store_path = tacos
    corpus = tmp_path / "corpus"
    augment(store_path, "train", corpus, AugmentConfig(multiplier=1, seed=1), show_progress=False)
    assert pq.read_schema(corpus / "part-00000.parquet").field("qid").type == "int64"
    out = tmp_path / "export"
    export_corpus(ExportConfig(corpus, out, "moment-detr", store=store_path), show_progress=False)
    lines = [json.loads(line) for line in (out / "data" / "train.jsonl").open()]
    strings = {r["qid"] for r in rows}
    assert lines and all(line["qid"] in strings for line in lines)
    text_files = {p.stem.removeprefix("qid") for p in (out / "features").rglob("*.npz")
                  if "text" in p.parent.name}  # fmt: skip
    assert {line["qid"] for line in lines} <= text_files


def test_a_synthetic_world_after_a_string_id_file_keeps_its_ids(tacos, tmp_path):
    root, rows, _ = tacos
    result = CliRunner().invoke(cli, [
        "datasets", "synth", "--preset", "tacos", "--annotations", str(root / "val.jsonl"),
        "--split", "val", "--video-dim", "12", "--text-dim", "8", "--out", str(tmp_path / "w"),
        "--quiet",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    store = Store.open(tmp_path / "w")
    assert sorted(store.query_ids.values()) == sorted(r["qid"] for r in rows[16:])
