import json

import numpy as np
import pytest

from amr.datasets.annotations import clip_ids_of_windows, read_annotations
from amr.errors import AmrError
from tests.conftest import read_jsonl, write_jsonl


def test_qvhighlights_val_reads_every_label(qvh_val):
    table, report = read_annotations(qvh_val, clip_length=2.0)
    raw = read_jsonl(qvh_val)
    assert table.num_rows == report.queries == len(raw) == 1550
    assert report.labeled and report.clamped_windows == 0
    rows = table.to_pylist()
    for got, want in zip(rows[::97], raw[::97], strict=True):
        assert got["qid"] == want["qid"] and got["vid"] == want["vid"]
        assert got["query"] == want["query"]
        assert got["relevant_windows"] == [
            [float(s), float(e)] for s, e in want["relevant_windows"]
        ]
        assert got["relevant_clip_ids"] == want["relevant_clip_ids"]
        assert got["saliency_scores"] == want["saliency_scores"]


def test_qvhighlights_test_split_is_unlabeled(qvh_test):
    table, report = read_annotations(qvh_test, clip_length=2.0)
    assert not report.labeled
    assert table.num_rows == 1542
    assert all(len(w) == 0 for w in table["relevant_windows"].to_pylist())
    assert all(len(s) == 0 for s in table["saliency_scores"].to_pylist())


def test_charades_clip_ids_are_derived_from_windows(charades_val):
    table, report = read_annotations(charades_val, clip_length=1.0)
    assert report.labeled and table.num_rows == len(read_jsonl(charades_val))
    row = table.slice(0, 1).to_pylist()[0]
    ((start, end),) = row["relevant_windows"]
    assert row["relevant_clip_ids"] == list(range(int(np.floor(start)), int(np.ceil(end))))
    assert row["saliency_scores"] == []


def test_clip_ids_follow_the_qvhighlights_convention():
    assert clip_ids_of_windows([[82, 150]], 2.0) == list(range(41, 75))
    assert clip_ids_of_windows([[24.3, 30.4]], 2.0) == [12, 13, 14, 15]
    assert clip_ids_of_windows([[0, 2], [6, 8]], 2.0) == [0, 3]


def test_windows_past_duration_are_clamped_and_counted(tmp_path):
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {
                "qid": 1,
                "query": "q",
                "vid": "v",
                "duration": 30.0,
                "relevant_windows": [[20, 31.5]],
            },
            {"qid": 2, "query": "q", "vid": "v", "duration": 30.0, "relevant_windows": [[0, 4]]},
        ],
    )
    table, report = read_annotations(path, clip_length=2.0)
    assert report.clamped_windows == 1
    assert table["relevant_windows"].to_pylist()[0] == [[20.0, 30.0]]


GOOD = {
    "qid": 7,
    "query": "a man kicks a ball",
    "vid": "vid_a",
    "duration": 20,
    "relevant_windows": [[2, 6]],
    "relevant_clip_ids": [1, 2],
    "saliency_scores": [[1, 2, 3], [4, 4, 4]],
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"qid": None}, "missing qid"),
        ({"vid": None}, "missing vid"),
        ({"duration": None}, "missing duration"),
        ({"relevant_windows": [[6, 2]]}, "start > end"),
        ({"relevant_windows": [[-1, 2]]}, "starts before 0"),
        ({"relevant_windows": [[25, 30]]}, "starts at or after duration"),
        ({"relevant_windows": [[0, float("nan")]]}, "not finite"),
        ({"vid": "../../etc/passwd"}, "not a plain file name"),
        ({"saliency_scores": [[1, 2, 3]]}, "1 entries for 2 relevant clips"),
        ({"saliency_scores": [[1, 2, 9], [0, 0, 0]]}, "integers in 0..4"),
        ({"qid": "seven"}, "qid 'seven' mixes integer and string ids (line 1 has an integer"),
        ({"qid": [7]}, "qid must be an integer or a string"),
        ({"qid": " s1"}, "must be a non-empty string without spaces around it"),
        ({"duration": 0}, "duration must be positive"),
    ],
)
def test_bad_records_name_file_line_and_problem(tmp_path, change, message):
    record = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({**GOOD, "qid": 1}) + "\n" + json.dumps(record) + "\n")
    with pytest.raises(AmrError) as err:
        read_annotations(path, clip_length=2.0)
    text = str(err.value)
    assert f"{path}:2" in text and message in text
    assert "\n" not in text


def test_malformed_json_names_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(GOOD) + '\n\n{"qid": 8, "query": \n')
    with pytest.raises(AmrError, match=rf"{path}:3: malformed JSON"):
        read_annotations(path, clip_length=2.0)


def test_duplicate_qid_names_both_lines(tmp_path):
    path = write_jsonl(tmp_path / "dup.jsonl", [GOOD, {**GOOD, "query": "another query"}])
    with pytest.raises(
        AmrError,
        match=r"dup.jsonl:2 \(qid 7\): duplicate qid with another query \(first on line 1\)",
    ):
        read_annotations(path, clip_length=2.0)
    path = write_jsonl(tmp_path / "same_video.jsonl", [GOOD, {**GOOD, "relevant_windows": []}])
    with pytest.raises(AmrError, match=r"same_video.jsonl:2 \(qid 7\): duplicate qid for video"):
        read_annotations(path, clip_length=2.0)


def test_a_query_reused_on_other_videos_reads(tmp_path):
    """An exported corpus's augmented rows keep their source query's qid (and text features)."""
    path = write_jsonl(tmp_path / "export.jsonl", [GOOD, {**GOOD, "vid": "other_amr1"}])
    table, _ = read_annotations(path, clip_length=2.0)
    assert table["qid"].to_pylist() == [7, 7]
    assert table["vid"].to_pylist() == [GOOD["vid"], "other_amr1"]


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(AmrError, match="annotation file not found"):
        read_annotations(tmp_path / "nope.jsonl", 2.0)
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(AmrError, match="no annotations"):
        read_annotations(tmp_path / "empty.jsonl", 2.0)
