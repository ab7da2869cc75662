"""Ego4D-NLQ: its own nested annotation file (videos → clips → annotations → queries), string
query ids, and the rule for its near-zero windows."""

from __future__ import annotations

import copy
import json

import numpy as np
from click.testing import CliRunner

from amr.cli import cli
from amr.datasets import Store
from amr.datasets.annotations import read_annotations
from amr.datasets.query_ids import query_code


def _query(start: float, end: float, text: str | None) -> dict:
    return {"clip_start_sec": start, "clip_end_sec": end, "query": text, "template": "t"}


NLQ = {
    "version": "v1",
    "videos": [
        {"video_uid": "vid-a", "clips": [
            {"clip_uid": "clip-a1", "clip_start_sec": 0.0, "clip_end_sec": 480.0,
             "annotations": [{"annotation_uid": "ann-1", "language_queries": [
                 _query(98.25, 102.75, "where did I put the knife?"),
                 _query(300.0, 300.0, "what did I pour in the bowl?"),  # zero length
                 _query(10.0, 20.0, None),  # no text: left out
             ]}]},
            {"clip_uid": "clip-a2", "clip_start_sec": 480.0, "clip_end_sec": 960.0,
             "annotations": [{"annotation_uid": "ann-2", "language_queries": [
                 _query(479.5, 480.0, "how many eggs did I crack?"),  # short, at the end
             ]}]},
        ]},
    ],
}  # fmt: skip


def test_the_nested_nlq_file_reads_as_queries_per_clip(tmp_path):
    path = tmp_path / "nlq_val.json"
    path.write_text(json.dumps(NLQ))
    table, report = read_annotations(path, clip_length=2.0)
    rows = table.to_pylist()
    assert [r["vid"] for r in rows] == ["clip-a1", "clip-a1", "clip-a2"]
    assert [r["qid"] for r in rows] == [query_code(q) for q in ("ann-1_0", "ann-1_1", "ann-2_0")]
    assert report.string_ids[query_code("ann-1_1")] == "ann-1_1"
    assert [r["duration"] for r in rows] == [480.0, 480.0, 480.0]
    assert rows[0]["relevant_windows"] == [[98.25, 102.75]]  # long enough: as annotated
    assert rows[1]["relevant_windows"] == [[299.0, 301.0]]  # zero: one clip around it
    assert rows[2]["relevant_windows"] == [[478.0, 480.0]]  # one clip, inside the video
    assert report.widened_windows == 2 and report.queries == 3


def test_nlq_imports_and_names_a_missing_id(tmp_path):
    path = tmp_path / "nlq_val.json"
    path.write_text(json.dumps(NLQ))
    rng = np.random.default_rng(0)
    (tmp_path / "video").mkdir()
    (tmp_path / "text").mkdir()
    for clip in ("clip-a1", "clip-a2"):
        features = rng.standard_normal((240, 8), dtype=np.float32)
        np.savez(tmp_path / "video" / f"{clip}.npz", features=features)
    for qid in ("ann-1_0", "ann-1_1", "ann-2_0"):
        words = rng.standard_normal((5, 4), dtype=np.float32)
        np.savez(tmp_path / "text" / f"{qid}.npz", last_hidden_state=words)
    args = ["datasets", "import", "nlq", "--annotations", str(path), "--split", "val",
            "--video-features", str(tmp_path / "video"), "--text-features",
            str(tmp_path / "text")]  # fmt: skip
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "store")])
    assert result.exit_code == 0, result.output
    assert "widened 2 windows shorter than a clip" in result.output
    store = Store.open(tmp_path / "store")
    assert sorted(store.query_ids.values()) == ["ann-1_0", "ann-1_1", "ann-2_0"]

    broken_file = copy.deepcopy(NLQ)
    del broken_file["videos"][0]["clips"][1]["annotations"][0]["annotation_uid"]
    path.write_text(json.dumps(broken_file))
    broken = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "other")])
    assert broken.exit_code == 1
    assert f"{path}: videos[0].clips[1].annotations[0]: missing annotation_uid" in broken.output


def test_an_indented_nlq_file_and_json_lines_named_json_both_read(tmp_path):
    pretty = tmp_path / "nlq_val.json"
    pretty.write_text(json.dumps(NLQ, indent=2))  # starts with a bare "{": read whole
    table, report = read_annotations(pretty, clip_length=2.0)
    assert table.num_rows == 3 and report.widened_windows == 2
    lines = tmp_path / "val.json"  # JSON lines under a .json name: the line reader's
    row = {"qid": 1, "query": "q", "duration": 30.0, "vid": "v", "relevant_windows": [[0, 4]]}
    lines.write_text(json.dumps(row) + "\n" + json.dumps({**row, "qid": 2}) + "\n")
    assert read_annotations(lines, clip_length=2.0)[0].num_rows == 2
