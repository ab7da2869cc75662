"""`amr eval`: hand-computed cases, a plain-loop oracle of the published definitions, properties,
real annotation files, validation errors and the submission helpers."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import read_jsonl, write_jsonl
from hypothesis import given, settings
from hypothesis import strategies as st

from amr.errors import AmrError
from amr.eval import (
    evaluate,
    ground_truth_from_table,
    highlight,
    load_ground_truth,
    moment,
    read_predictions,
)
from amr.eval.ground_truth import as_written
from amr.eval.submission import postprocess, submission_records, write_submission

# -- helpers -----------------------------------------------------------------------------------


def _truth(tmp_path, rows, name="gt.jsonl"):
    """Ground truth from annotation rows (qid, duration, windows[, clip ids, saliency])."""
    lines = []
    for row in rows:
        line = {"query": f"query {row['qid']}", "vid": f"v{row['qid']}", "duration": 150, **row}
        lines.append(line)
    return load_ground_truth(write_jsonl(tmp_path / name, lines))


def _preds(tmp_path, rows, name="preds.jsonl"):
    return read_predictions(write_jsonl(tmp_path / name, rows))


def _one_query(tmp_path, gt_windows, pred_windows):
    truth = _truth(tmp_path, [{"qid": 1, "relevant_windows": gt_windows}])
    preds = _preds(tmp_path, [{"qid": 1, "pred_relevant_windows": pred_windows}])
    return evaluate(preds, truth, "qvhighlights")


def _iou(a, b):
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def _loop_ap(preds, gts, threshold):
    """AP of one query, written as a plain loop straight from the published definition."""
    ranked = sorted(preds[:10], key=lambda p: -p[2])  # stable: ties keep the listed order
    used, hits = set(), []
    for start, end, _ in ranked:
        ious = [_iou((start, end), g) for g in gts]
        free = [j for j in range(len(gts)) if ious[j] >= threshold and j not in used]
        if free:
            used.add(max(free, key=lambda j: (ious[j], j)))
        hits.append(bool(free))
    precision, recall, found = [], [], 0
    for i, hit in enumerate(hits):
        found += hit
        precision.append(found / (i + 1))
        recall.append(found / len(gts))
    ap, previous = 0.0, 0.0
    for i in range(len(hits)):
        if recall[i] > previous:
            ap += (recall[i] - previous) * max(precision[i:])
            previous = recall[i]
    return ap


def _loop_highlight_ap(y_true, y_score):
    """Highlight AP of one query and annotator, by brute force over score thresholds."""
    if len(set(y_true)) == 1:
        return float(y_true[0])
    points = []
    for threshold in sorted(set(y_score), reverse=True):
        picked = [t for t, s in zip(y_true, y_score, strict=True) if s >= threshold]
        points.append((sum(picked) / sum(y_true), sum(picked) / len(picked)))
    levels = sorted({r for r, _ in points if r > 0})
    return float(np.mean([max(p for r, p in points if r >= level) for level in levels]))


# -- moment retrieval: hand-computed -----------------------------------------------------------


def test_ap_with_two_ground_truths_and_a_duplicate(tmp_path):
    # TP, a duplicate of the same window (its ground truth is used up: FP), TP.
    # Precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1: AP = 1/2 * 1 + 1/2 * 2/3.
    result = _one_query(tmp_path, [[0, 10], [20, 30]], [[0, 10, 0.9], [0, 10, 0.8], [20, 30, 0.7]])
    assert result["full"]["MR-mAP"]["0.5"] == pytest.approx(100 * (0.5 + 0.5 * 2 / 3), abs=0.005)
    assert result["full"]["MR-R1"]["0.95"] == 100.0


def test_ties_in_score_keep_the_listed_order(tmp_path):
    wrong_first = _one_query(tmp_path, [[0, 10]], [[50, 60, 0.5], [0, 10, 0.5]])
    right_first = _one_query(tmp_path, [[0, 10]], [[0, 10, 0.5], [50, 60, 0.5]])
    assert wrong_first["full"]["MR-mAP"]["average"] == 50.0
    assert right_first["full"]["MR-mAP"]["average"] == 100.0


def test_a_window_as_close_to_two_ground_truths_takes_the_later(tmp_path):
    # [1, 9] has IoU 7/9 with both; taking [2, 10] leaves [0, 8] for the exact second window.
    result = _one_query(tmp_path, [[0, 8], [2, 10]], [[1, 9, 0.9], [0, 8, 0.8]])
    assert result["full"]["MR-mAP"]["0.75"] == 100.0
    assert result["full"]["MR-mAP"]["0.8"] == 25.0  # [1, 9] misses; [0, 8] at rank 2


def test_ranking_is_by_score_but_r1_takes_the_first_listed_window(tmp_path):
    result = _one_query(tmp_path, [[0, 10]], [[50, 60, 0.1], [0, 10, 0.9]])
    assert result["full"]["MR-mAP"]["average"] == 100.0
    assert result["full"]["MR-R1"]["0.5"] == 0.0
    assert result["amr"]["queries_not_sorted_by_score"] == 1


def test_r1_at_exactly_the_threshold(tmp_path):
    half = _one_query(tmp_path, [[0, 20]], [[0, 10, 1.0]])  # IoU 10/20
    assert half["full"]["MR-R1"]["0.5"] == 100.0 and half["full"]["MR-R1"]["0.55"] == 0.0
    seventy = _one_query(tmp_path, [[0, 20]], [[0, 14, 1.0]])  # IoU 14/20
    assert seventy["full"]["MR-R1"]["0.7"] == 100.0 and seventy["full"]["MR-R1"]["0.75"] == 0.0


def test_r1_uses_the_ground_truth_window_overlapping_most(tmp_path):
    result = _one_query(tmp_path, [[0, 4], [40, 60]], [[40, 58, 1.0]])
    assert result["full"]["MR-R1"]["0.9"] == 100.0  # 18/20 with the second window


def test_only_the_first_ten_windows_count(tmp_path):
    wrong = [[100 + i, 101 + i, 1.0 - i / 100] for i in range(10)]
    result = _one_query(tmp_path, [[0, 10]], [*wrong, [0, 10, 0.0]])
    assert result["full"]["MR-mAP"]["average"] == 0.0
    assert result["amr"]["windows_past_10"] == 1


def test_length_buckets_keep_only_their_moments(tmp_path):
    truth = _truth(
        tmp_path,
        [
            {"qid": 1, "relevant_windows": [[0, 10], [50, 90]]},  # a short and a long moment
            {"qid": 2, "relevant_windows": [[0, 20]]},  # middle
        ],
    )
    preds = _preds(
        tmp_path,
        [
            {"qid": 1, "pred_relevant_windows": [[50, 90, 0.9]]},
            {"qid": 2, "pred_relevant_windows": [[0, 20, 0.9]]},
        ],
    )
    result = evaluate(preds, truth, "qvhighlights")
    assert [result["amr"][f"queries_{b}"] for b in ("short", "middle", "long", "full")] == [
        1,
        1,
        1,
        2,
    ]
    assert result["short"]["MR-mAP"]["average"] == 0.0  # its only moment is missed
    assert result["long"]["MR-mAP"]["average"] == 100.0
    assert result["middle"]["MR-R1"]["0.95"] == 100.0
    assert result["full"]["MR-mAP"]["average"] == 75.0  # query 1: recall 1/2 at precision 1


# -- moment retrieval: the vectorised code against the loop, and properties -------------------

window = st.tuples(st.integers(0, 74), st.integers(1, 20)).map(
    lambda t: [2.0 * t[0], 2.0 * min(75, t[0] + t[1])]
)
scored = st.tuples(window, st.sampled_from([0.1, 0.3, 0.5, 0.7, 0.9])).map(lambda t: [*t[0], t[1]])
query = st.tuples(
    st.lists(window, min_size=1, max_size=4), st.lists(scored, min_size=1, max_size=12)
)


@settings(max_examples=60, deadline=None)
@given(st.lists(query, min_size=1, max_size=8))
def test_vectorised_ap_equals_the_loop_oracle(queries):
    gts = [q[0] for q in queries]
    preds = [q[1] for q in queries]
    kept = [p[:10] for p in preds]
    width = max(map(len, kept))
    windows = np.zeros((len(queries), width, 2))
    scores = np.zeros((len(queries), width))
    valid = np.zeros((len(queries), width), bool)
    for i, p in enumerate(kept):
        windows[i, : len(p)] = np.asarray(p)[:, :2]
        scores[i, : len(p)] = np.asarray(p)[:, 2]
        valid[i, : len(p)] = True
    gt = np.zeros((len(queries), max(map(len, gts)), 2))
    gt_valid = np.zeros(gt.shape[:2], bool)
    for i, g in enumerate(gts):
        gt[i, : len(g)] = g
        gt_valid[i, : len(g)] = True
    ap = moment.average_precision(windows, scores, valid, gt, gt_valid)
    for i in range(len(queries)):
        for t, threshold in enumerate(moment.MAP_THRESHOLDS):
            assert ap[i, t] == pytest.approx(_loop_ap(preds[i], gts[i], threshold), abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(window, min_size=1, max_size=3), min_size=1, max_size=6), st.randoms())
def test_perfect_predictions_score_100_and_query_order_does_not_matter(tmp_path_factory, gts, rnd):
    tmp = tmp_path_factory.mktemp("perfect")
    truth_rows = [{"qid": q, "relevant_windows": g} for q, g in enumerate(gts)]
    pred_rows = [
        {"qid": q, "pred_relevant_windows": [[*w, 1.0 - i / 10] for i, w in enumerate(g)]}
        for q, g in enumerate(gts)
    ]
    result = evaluate(_preds(tmp, pred_rows), _truth(tmp, truth_rows), "qvhighlights")
    assert all(v == 100.0 for v in result["full"]["MR-mAP"].values())
    assert all(v == 100.0 for v in result["full"]["MR-R1"].values())
    rnd.shuffle(pred_rows)
    rnd.shuffle(truth_rows)
    shuffled = evaluate(_preds(tmp, pred_rows), _truth(tmp, truth_rows), "qvhighlights")
    assert {k: v for k, v in shuffled.items() if k != "amr"} == {
        k: v for k, v in result.items() if k != "amr"
    }


@settings(max_examples=40, deadline=None)
@given(st.lists(query, min_size=1, max_size=6))
def test_a_lower_scored_wrong_window_never_raises_map(tmp_path_factory, queries):
    tmp = tmp_path_factory.mktemp("lower")
    # Ground truth inside [0, 150) of a 300 s video; the extra window [250, 290] overlaps none.
    truth_rows = [
        {"qid": q, "duration": 300, "relevant_windows": g} for q, (g, _) in enumerate(queries)
    ]
    preds = [p[:9] for _, p in queries]
    before = evaluate(
        _preds(tmp, [{"qid": q, "pred_relevant_windows": p} for q, p in enumerate(preds)]),
        _truth(tmp, truth_rows),
        "qvhighlights",
    )
    after = evaluate(
        _preds(
            tmp,
            [
                {"qid": q, "pred_relevant_windows": [*p, [250, 290, 0.0]]}
                for q, p in enumerate(preds)
            ],
        ),
        _truth(tmp, truth_rows),
        "qvhighlights",
    )
    for key, value in after["full"]["MR-mAP"].items():
        assert value <= before["full"]["MR-mAP"][key]


# -- highlight detection ------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 1), st.sampled_from([0.0, 0.2, 0.5, 0.9])), min_size=1, max_size=20
    )
)
def test_highlight_ap_equals_the_brute_force_curve(clips):
    y_true = [t for t, _ in clips]
    y_score = [s for _, s in clips]
    labels = np.asarray(y_true, bool)[None, :, None]
    ap = highlight.average_precision(np.asarray([y_score]), labels, np.ones((1, len(clips)), bool))
    assert ap[0, 0] == pytest.approx(_loop_highlight_ap(y_true, y_score), abs=1e-12)


def test_highlight_hit_and_ap_by_hand(tmp_path):
    # 10 s video, 5 clips; clip 2 scored (4, 1, 2) and clip 3 (2, 2, 2) by the 3 annotators.
    truth = _truth(
        tmp_path,
        [
            {
                "qid": 1,
                "duration": 10,
                "relevant_windows": [[4, 8]],
                "relevant_clip_ids": [2, 3],
                "saliency_scores": [[4, 1, 2], [2, 2, 2]],
            }
        ],
    )
    # Clip 3 first, clip 2 second, and 2 scores too many (cut).
    preds = _preds(
        tmp_path,
        [
            {
                "qid": 1,
                "pred_relevant_windows": [[4, 8, 1]],
                "pred_saliency_scores": [0, 0, 1, 2, 0, 5, 5],
            }
        ],
    )
    result = evaluate(preds, truth)
    # Top raw score is at index 5, past the 5 clips: no hit, at any threshold.
    assert result["HL-min-Fair"]["HL-Hit1"] == 0.0
    # Fair: annotators 1 and 3 see both clips positive, annotator 2 only clip 3 → AP 1, 1, 1.
    assert result["HL-min-Fair"]["HL-mAP"] == 100.0
    # VeryGood: only annotator 1 has a positive (clip 2, ranked second) → (1/2 + 0 + 0) / 3.
    assert result["HL-min-VeryGood"]["HL-mAP"] == pytest.approx(100 / 6, abs=0.005)
    assert result["amr"]["saliency_cut"] == 1 and result["amr"]["saliency_padded"] == 0


# -- real annotation files -----------------------------------------------------------------------

BRIEF_KEYS = [
    "MR-full-R1@0.5",
    "MR-full-R1@0.7",
    "MR-full-mAP",
    "MR-full-mAP@0.5",
    "MR-full-mAP@0.75",
    "MR-long-mAP",
    "MR-middle-mAP",
    "MR-short-mAP",
    "HL-min-Fair-mAP",
    "HL-min-Fair-Hit1",
    "HL-min-Good-mAP",
    "HL-min-Good-Hit1",
    "HL-min-VeryGood-mAP",
    "HL-min-VeryGood-Hit1",
]


def test_qvhighlights_val_with_perfect_predictions(qvh_val, tmp_path):
    rows = read_jsonl(qvh_val)
    preds = []
    for row in rows:
        n_clips = int(row["duration"] / 2)
        saliency = np.zeros(n_clips)
        saliency[row["relevant_clip_ids"]] = np.asarray(row["saliency_scores"]).sum(axis=1)
        preds.append(
            {
                "qid": row["qid"],
                "pred_relevant_windows": [
                    [*w, 1 - i / 100] for i, w in enumerate(row["relevant_windows"])
                ],
                "pred_saliency_scores": saliency.tolist(),
            }
        )
    result = evaluate(_preds(tmp_path, preds), load_ground_truth(qvh_val))
    assert list(result) == [
        "brief", "HL-min-Fair", "HL-min-Good", "HL-min-VeryGood",
        "full", "long", "middle", "short", "amr",
    ]  # fmt: skip
    assert list(result["brief"]) == BRIEF_KEYS
    assert list(result["full"]["MR-mAP"]) == [*map(str, moment.MAP_THRESHOLDS), "average"]
    assert result["amr"]["queries"] == len(rows) == 1550
    assert result["brief"]["MR-full-R1@0.7"] == 100.0
    over_ten = sum(len(r["relevant_windows"]) > 10 for r in rows)
    assert over_ten and result["brief"]["MR-full-mAP"] < 100.0  # only 10 windows are ranked
    assert result["brief"]["HL-min-Fair-Hit1"] == 100.0  # the best clip is always positive


def test_charades_val_metrics(charades_val, tmp_path):
    rows = read_jsonl(charades_val, limit=200)
    truth = load_ground_truth(write_jsonl(tmp_path / "gt.jsonl", rows))
    preds = []
    for i, row in enumerate(rows):
        start, end = row["relevant_windows"][0]
        first = [start, end, 0.9] if i % 2 == 0 else [end, end + 5, 0.9]  # half miss at top-1
        preds.append({"qid": row["qid"], "pred_relevant_windows": [first, [start, end, 0.5]]})
    result = evaluate(_preds(tmp_path, preds), truth)
    assert result["amr"]["dataset"] == "charades"
    assert list(result["brief"]) == [
        "MR-full-R1@0.3", "MR-full-R1@0.5", "MR-full-R1@0.7",
        "MR-full-R5@0.3", "MR-full-R5@0.5", "MR-full-R5@0.7", "MR-full-mIoU",
    ]  # fmt: skip
    assert result["brief"]["MR-full-R1@0.7"] == 50.0
    assert result["brief"]["MR-full-R5@0.7"] == 100.0
    assert result["brief"]["MR-full-mIoU"] == 50.0


HAND_TRUTH = [[10, 20], [0, 10], [30, 40], [50, 70]]
HAND_PREDICTED = [  # listed best first; the IoU with the truth after each window
    [[10, 20, 0.9]],  # 1
    [[5, 15, 0.9], [0, 10, 0.8]],  # 1/3, then 1
    [[32, 40, 0.9]],  # 0.8
    [[40, 55, 0.9], [48, 66, 0.8]],  # 5/30, then 16/22 = 0.727
]
# R1: IoU 1, 1/3, 0.8, 1/6 at top; R5: the best of each line's windows (1, 1, 0.8, 0.727)
HAND_RECALL = {
    "MR-full-R1@0.3": 75.0, "MR-full-R1@0.5": 50.0, "MR-full-R1@0.7": 50.0,
    "MR-full-R5@0.3": 100.0, "MR-full-R5@0.5": 100.0, "MR-full-R5@0.7": 100.0,
    "MR-full-mIoU": 57.5,  # (1 + 1/3 + 0.8 + 1/6) / 4
}  # fmt: skip


@pytest.mark.parametrize("dataset", ["charades", "tacos", "activitynet", "nlq"])
def test_each_dataset_gets_its_papers_metrics_on_a_hand_computed_example(dataset, tmp_path):
    rows = [{"qid": i, "query": "q", "duration": 100.0, "vid": f"v{i}", "relevant_windows": [w]}
            for i, w in enumerate(HAND_TRUTH)]  # fmt: skip
    truth = load_ground_truth(write_jsonl(tmp_path / "gt.jsonl", rows))
    preds = [{"qid": i, "pred_relevant_windows": windows}
             for i, windows in enumerate(HAND_PREDICTED)]  # fmt: skip
    result = evaluate(_preds(tmp_path, preds), truth, dataset)
    assert result["amr"]["dataset"] == dataset
    if dataset == "nlq":  # Ego4D-NLQ reports R@{1, 5} at IoU {0.3, 0.5}, no mIoU
        wanted = {k: v for k, v in HAND_RECALL.items() if k[-3:] in ("0.3", "0.5")}
    else:
        wanted = HAND_RECALL
    assert result["brief"] == wanted


def test_store_times_read_back_as_the_file_wrote_them():
    written = np.array([24.3, 30.96, 0.1, 149.98, 7.0])
    assert as_written(written.astype(np.float32)).tolist() == written.tolist()


def test_ground_truth_from_a_store_split(tmp_path):
    from amr.datasets import SynthConfig, synthesize

    store = tmp_path / "store"
    synthesize(
        store,
        SynthConfig.from_preset("demo", train_videos=6, val_videos=4, test_videos=2),
        show_progress=False,
    )
    truth = load_ground_truth(store=store, split="val")
    assert truth.clip_length == 2.0 and truth.has_saliency and len(truth) > 0
    windows = np.split(truth.windows, truth.window_offsets[1:-1])
    preds = [
        {"qid": int(q), "pred_relevant_windows": [[*w, 1.0] for w in ws.tolist()][:1]}
        for q, ws in zip(truth.qids, windows, strict=True)
    ]
    result = evaluate(_preds(tmp_path, preds), truth)
    assert result["full"]["MR-R1"]["0.95"] == 100.0


# -- validation ----------------------------------------------------------------------------------


P = "pred_relevant_windows"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r"preds\.jsonl:2: malformed JSON"),
        ({P: [[0, 1, 1]]}, r"preds\.jsonl:2: missing qid"),
        ({"qid": True, P: [[0, 1, 1]]}, "qid must be an integer or a string"),
        ({"qid": 1, P: [[0, 1, 1]]}, r"jsonl:2 \(qid 1\): duplicate qid \(first on line 1\)"),
        ({"qid": 2}, r"jsonl:2 \(qid 2\): missing pred_relevant_windows"),
        ({"qid": 2, P: []}, "must be a non-empty list"),
        ({"qid": 2, P: [[5, 1, 1]]}, r"\(qid 2\): window 0 starts after it ends"),
        ({"qid": 2, P: [[0, float("nan"), 1]]}, "window 0 has a non-finite value"),
        ({"qid": 2, P: [[0, 1]]}, r"window 0 is not \[start, end, score\]"),
        ({"qid": 2, P: [[0, 1, "a"]]}, r"is not \[start, end, score\]"),
        ({"qid": 2, P: [[0, 1, 1]], "pred_saliency_scores": [1, float("inf")]}, "non-finite"),
    ],
)
def test_bad_prediction_lines_are_clear_errors(tmp_path, line, message):
    path = tmp_path / "preds.jsonl"
    text = line if isinstance(line, str) else json.dumps(line)
    path.write_text(json.dumps({"qid": 1, P: [[0, 1, 1]]}) + "\n" + text + "\n")
    with pytest.raises(AmrError, match=message):
        read_predictions(path)


def test_missing_and_extra_qids_are_named(tmp_path):
    truth = _truth(tmp_path, [{"qid": q, "relevant_windows": [[0, 10]]} for q in (1, 2, 3)])
    two = _preds(tmp_path, [{"qid": q, "pred_relevant_windows": [[0, 10, 1]]} for q in (1, 3)])
    with pytest.raises(AmrError, match=r"no prediction for qid 2 of .*gt\.jsonl"):
        evaluate(two, truth)
    four = _preds(
        tmp_path, [{"qid": q, "pred_relevant_windows": [[0, 10, 1]]} for q in (1, 2, 3, 9)]
    )
    with pytest.raises(AmrError, match=r"preds\.jsonl:4 \(qid 9\): qid not in"):
        evaluate(four, truth)


def test_saliency_on_some_lines_only_and_unlabeled_truth_are_errors(tmp_path, qvh_test):
    rows = [
        {"qid": 1, "pred_relevant_windows": [[0, 1, 1]], "pred_saliency_scores": [1.0]},
        {"qid": 2, "pred_relevant_windows": [[0, 1, 1]]},
    ]
    with pytest.raises(AmrError, match=r":2 \(qid 2\): no pred_saliency_scores"):
        _preds(tmp_path, rows)
    with pytest.raises(AmrError, match=r"has no relevant_windows .*test split"):
        load_ground_truth(qvh_test)


# -- submission helpers --------------------------------------------------------------------------


def test_postprocess_clips_rounds_ranks_and_suppresses():
    windows = np.array([[[-3.0, 9.1], [140.2, 171.0], [0.4, 9.6], [60.0, 70.0]]])
    scores = np.array([[0.5, 0.91234567, 0.7, 0.1]])
    out, ranked, keep = postprocess(windows, scores, np.array([150.0]), 2.0)
    assert ranked.tolist() == [[0.9123, 0.7, 0.5, 0.1]]
    assert out[0].tolist() == [[140.0, 150.0], [0.0, 10.0], [0.0, 10.0], [60.0, 70.0]]
    assert keep.all()
    _, _, keep = postprocess(windows, scores, np.array([150.0]), 2.0, nms_threshold=0.7)
    assert keep.tolist() == [[True, True, False, True]]  # the duplicate [0, 10] goes
    odd, _, _ = postprocess(np.array([[[20.0, 31.0]]]), np.array([[1.0]]), np.array([31.0]), 2.0)
    assert odd.tolist() == [[[20.0, 31.0]]]  # 31 would round to 32, past the video


def test_a_written_submission_reads_back_and_scores(tmp_path, qvh_val):
    rows = read_jsonl(qvh_val, limit=20)
    truth = load_ground_truth(write_jsonl(tmp_path / "gt.jsonl", rows))
    windows = np.array([[r["relevant_windows"][0], [0, 150]] for r in rows], dtype=np.float64)
    windows[:, 0] += 0.6  # off the clip grid: rounding puts it back
    scores = np.tile([0.9, 0.1], (len(rows), 1))
    out, ranked, keep = postprocess(windows, scores, truth.durations, 2.0)
    saliency = [np.zeros(75) for _ in rows]
    records = submission_records(
        [r["qid"] for r in rows], [r["query"] for r in rows], [r["vid"] for r in rows],
        out, ranked, keep, saliency,
    )  # fmt: skip
    path = write_submission(tmp_path / "sub" / "val.jsonl", records)
    first = json.loads(path.read_text().splitlines()[0])
    assert set(first) == {"qid", "query", "vid", "pred_relevant_windows", "pred_saliency_scores"}
    result = evaluate(read_predictions(path), truth)
    assert result["brief"]["MR-full-R1@0.7"] == 100.0


# -- the command ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_amr_eval_command_writes_metrics_and_reports_errors(tmp_path, qvh_val):
    rows = read_jsonl(qvh_val, limit=30)
    gt = write_jsonl(tmp_path / "gt.jsonl", rows)
    preds = write_jsonl(
        tmp_path / "val_preds.jsonl",
        [
            {"qid": r["qid"], "pred_relevant_windows": [[*r["relevant_windows"][0], 1]]}
            for r in rows
        ],
    )
    amr = [sys.executable, "-m", "amr.cli"]
    done = subprocess.run(
        [*amr, "eval", "--predictions", str(preds), "--annotations", str(gt)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "MR-full-R1@0.7" in done.stdout and "100.00" in done.stdout
    metrics = json.loads((tmp_path / "val_preds_metrics.json").read_text())
    assert metrics["brief"]["MR-full-R1@0.7"] == 100.0 and "HL-min-Fair" not in metrics
    preds.write_text(preds.read_text() + '{"qid": 1, "pred_relevant_windows": [[3, 1, 1]]}\n')
    failed = subprocess.run(
        [*amr, "eval", "--predictions", str(preds), "--annotations", str(gt)],
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines() == [
        f"error: {preds}:31 (qid 1): window 0 starts after it ends: [3, 1, 1]"
    ]


def test_ground_truth_table_needs_three_annotators(tmp_path):
    import pyarrow as pa

    from amr.datasets.schema import SAMPLES_SCHEMA

    table = pa.table(
        {
            "qid": [1], "query": ["q"], "vid": ["v"], "duration": [10.0],
            "relevant_windows": [[[0.0, 2.0]]], "relevant_clip_ids": [[0]],
            "saliency_scores": [[[1, 2]]], "wrong_spans": [[]],
        },
        schema=SAMPLES_SCHEMA,
    )  # fmt: skip
    with pytest.raises(AmrError, match="3 annotators"):
        ground_truth_from_table(table, "table", 2.0)


def test_amr_eval_compares_several_runs_side_by_side(tmp_path, qvh_val):
    from click.testing import CliRunner

    from amr.cli import cli

    rows = read_jsonl(qvh_val, limit=20)
    gt = write_jsonl(tmp_path / "gt.jsonl", rows)
    runs = []
    for name, shift in (("good", 0), ("off", 30)):
        (tmp_path / name).mkdir()
        preds = [
            {"qid": r["qid"], "pred_relevant_windows": [[w[0] + shift, w[1] + shift, 1]
                                                         for w in r["relevant_windows"][:1]]}
            for r in rows
        ]  # fmt: skip
        runs.append(write_jsonl(tmp_path / name / "val_preds.jsonl", preds))
    args = ["eval", "--annotations", str(gt)]
    for path in runs:
        args += ["--predictions", str(path)]
    result = CliRunner().invoke(cli, args, terminal_width=120)
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if "metric" in line)
    assert "good" in header and "off" in header  # same file names: named by their run
    r1 = next(line for line in result.output.splitlines() if "MR-full-R1@0.5" in line)
    assert "100.00" in r1
    for path in runs:
        assert (path.parent / "val_preds_metrics.json").is_file()
    failed = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "m.json")])
    assert failed.exit_code == 1
