"""`amr eval`: predictions + ground truth → the standard metrics, with the standard key names.

The result has the shape of the QVHighlights standalone evaluation's output (``brief``, then
one block per highlight threshold and per moment-length bucket), values in percent rounded to
two decimals as it rounds them, plus an ``amr`` block saying what was evaluated and what the
evaluation had to fix up (saliency lists cut or padded, windows beyond the first 10).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from amr.errors import AmrError
from amr.eval import highlight, moment
from amr.eval.ground_truth import GroundTruth
from amr.eval.predictions import Predictions
from amr.ragged import padded, ranges


@dataclass(frozen=True)
class RecallMetrics:
    """A dataset scored as its papers report it: R@n (any of the first n windows reaches the
    IoU) at each threshold, and the top-1 window's mean IoU when `miou`."""

    thresholds: tuple[float, ...]
    ranks: tuple[int, ...] = (1, 5)
    miou: bool = True


# The recall-style datasets: one declaration each. QVHighlights has its own, richer evaluation.
RECALL_METRICS: dict[str, RecallMetrics] = {
    "charades": RecallMetrics((0.3, 0.5, 0.7)),
    "tacos": RecallMetrics((0.3, 0.5, 0.7)),
    "activitynet": RecallMetrics((0.3, 0.5, 0.7)),
    "nlq": RecallMetrics((0.3, 0.5), miou=False),  # Ego4D-NLQ's R@{1, 5} at IoU {0.3, 0.5}
}
Dataset = Literal["qvhighlights", "charades", "tacos", "activitynet", "nlq"]
DATASETS: tuple[str, ...] = ("qvhighlights", *RECALL_METRICS)


def percent(value: float) -> float | None:
    """Percent, rounded to 2 decimals the way the standard evaluation rounds (None if undefined)."""
    if not np.isfinite(value):
        return None
    return float(f"{100 * value:.2f}")


@dataclass(frozen=True)
class Aligned:
    """Predictions in ground-truth order, padded per query."""

    windows: np.ndarray  # (Q, K, 2), the first MAX_PREDICTED_WINDOWS as listed
    scores: np.ndarray  # (Q, K)
    window_valid: np.ndarray  # (Q, K)
    listed: np.ndarray  # (Q,) windows listed before the cut
    gt: np.ndarray  # (Q, G, 2)
    gt_valid: np.ndarray  # (Q, G)


def align(predictions: Predictions, truth: GroundTruth) -> np.ndarray:
    """For each ground-truth query, the index of its prediction; missing or extra qids are
    errors naming one of them."""
    order = np.argsort(predictions.qids, kind="stable")
    slot = np.searchsorted(predictions.qids[order], truth.qids)
    slot = np.minimum(slot, len(order) - 1)
    found = predictions.qids[order][slot] == truth.qids
    if not found.all():
        missing = truth.qids[~found]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise AmrError(
            f"{predictions.path}: no prediction for qid {missing[0]}{more} of {truth.source}"
        )
    index = order[slot]
    extra = np.setdiff1d(np.arange(len(predictions)), index)
    if len(extra):
        more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
        raise AmrError(f"{predictions.where(extra[0])}: qid not in {truth.source}{more}")
    return index


def _aligned(predictions: Predictions, truth: GroundTruth, index: np.ndarray) -> Aligned:
    offsets = predictions.window_offsets
    listed = np.diff(offsets)[index]
    kept = np.minimum(listed, moment.MAX_PREDICTED_WINDOWS)
    rows = ranges(offsets[:-1][index], kept)
    windows, window_valid = padded(predictions.windows[rows], kept)
    gt, gt_valid = padded(truth.windows, np.diff(truth.window_offsets))
    return Aligned(windows[..., :2], windows[..., 2], window_valid, listed, gt, gt_valid)


def _moment_block(a: Aligned, keep_gt: np.ndarray) -> dict[str, dict[str, float | None]]:
    """MR-mAP and MR-R1 over the queries with a ground-truth window in `keep_gt`."""
    queries = keep_gt.any(axis=1)
    thresholds = moment.MAP_THRESHOLDS
    if not queries.any():
        undefined = dict.fromkeys(map(str, thresholds))
        return {"MR-mAP": {**undefined, "average": None}, "MR-R1": dict(undefined)}
    gt, gt_valid = a.gt[queries], keep_gt[queries]
    ap = moment.average_precision(
        a.windows[queries], a.scores[queries], a.window_valid[queries], gt, gt_valid
    ).mean(axis=0)
    r1 = moment.recall_at_one(a.windows[queries, 0], gt, gt_valid)
    mr_map = {str(t): percent(v) for t, v in zip(thresholds, ap, strict=True)}
    mr_map["average"] = percent(float(np.mean(ap)))
    return {
        "MR-mAP": mr_map,
        "MR-R1": {str(t): percent(v) for t, v in zip(thresholds, r1, strict=True)},
    }


def _highlight_blocks(
    predictions: Predictions, truth: GroundTruth, index: np.ndarray
) -> tuple[dict[str, dict[str, float | None]], dict[str, int]]:
    assert predictions.saliency is not None and predictions.saliency_offsets is not None
    n_clips = (truth.durations / truth.clip_length).astype(np.int64)  # int(), as the standard
    clip_counts = np.diff(truth.clip_offsets)
    owner = np.repeat(np.arange(len(truth)), clip_counts)
    inside = truth.clip_ids < n_clips[owner]
    width = max(int(n_clips.max()), 1)
    annotator_scores = np.zeros((len(truth), width, 3), dtype=np.int8)
    annotator_scores[owner[inside], truth.clip_ids[inside]] = truth.saliency[inside]

    offsets = predictions.saliency_offsets
    counts = np.diff(offsets)[index]
    rows = ranges(offsets[:-1][index], counts)
    raw, raw_valid = padded(predictions.saliency[rows], counts)
    raw_top = np.argmax(np.where(raw_valid, raw, -np.inf), axis=1)
    # Cut or zero-pad to the clip count, as the standard evaluation does.
    scores = np.zeros((len(truth), width))
    shared = min(width, raw.shape[1])
    scores[:, :shared] = np.where(raw_valid[:, :shared], raw[:, :shared], 0.0)
    clip_valid = np.arange(width)[None, :] < n_clips[:, None]

    blocks: dict[str, dict[str, float | None]] = {}
    for name, minimum in highlight.THRESHOLDS.items():
        labels = annotator_scores >= minimum
        ap = highlight.average_precision(scores, labels, clip_valid)
        hit = highlight.hit_at_one(raw_top, labels, n_clips)
        blocks[f"HL-min-{name}"] = {
            "HL-mAP": percent(float(np.mean(ap))),
            "HL-Hit1": percent(float(np.mean(hit))),
        }
    fixes = {
        "saliency_cut": int(np.sum(counts > n_clips)),
        "saliency_padded": int(np.sum(counts < n_clips)),
        "relevant_clips_past_the_end": int(np.sum(~inside)),
    }
    return blocks, fixes


def evaluate(
    predictions: Predictions, truth: GroundTruth, dataset: Dataset | None = None
) -> dict[str, Any]:
    """The standard metrics of `predictions` against `truth`.

    dataset: "qvhighlights" (MR mAP/R1 by moment length, and HD when the predictions have
    saliency scores) or one of RECALL_METRICS (R@n at its IoU thresholds, and mIoU); by
    default the recall dataset a store split came from, else qvhighlights when the ground
    truth has saliency scores, else charades.
    """
    if dataset is None:  # QVHighlights' metrics need its labels: without saliency, recall
        dataset = truth.dataset if truth.dataset in RECALL_METRICS else None
        dataset = dataset or ("qvhighlights" if truth.has_saliency else "charades")
    if dataset not in DATASETS:
        raise AmrError(f"unknown dataset {dataset!r} (known: {', '.join(DATASETS)})")
    index = align(predictions, truth)
    a = _aligned(predictions, truth, index)
    listed_scores = _listed_scores(predictions, index)
    info: dict[str, Any] = {
        "dataset": dataset,
        "queries": len(truth),
        "predictions": str(predictions.path),
        "ground_truth": truth.source,
        "windows_past_10": int(np.sum(np.maximum(a.listed - moment.MAX_PREDICTED_WINDOWS, 0))),
        "queries_not_sorted_by_score": int(np.sum(listed_scores)),
    }
    if dataset in RECALL_METRICS:
        return _recall(a, info, RECALL_METRICS[dataset])

    blocks: dict[str, Any] = {}
    buckets = {**moment.LENGTH_BUCKETS, "full": None}
    for name, bounds in buckets.items():
        keep = a.gt_valid if bounds is None else moment.in_length_bucket(a.gt, a.gt_valid, *bounds)
        blocks[name] = _moment_block(a, keep)
        info[f"queries_{name}"] = int(keep.any(axis=1).sum())
    brief = {
        "MR-full-R1@0.5": blocks["full"]["MR-R1"]["0.5"],
        "MR-full-R1@0.7": blocks["full"]["MR-R1"]["0.7"],
        "MR-full-mAP": blocks["full"]["MR-mAP"]["average"],
        "MR-full-mAP@0.5": blocks["full"]["MR-mAP"]["0.5"],
        "MR-full-mAP@0.75": blocks["full"]["MR-mAP"]["0.75"],
        "MR-long-mAP": blocks["long"]["MR-mAP"]["average"],
        "MR-middle-mAP": blocks["middle"]["MR-mAP"]["average"],
        "MR-short-mAP": blocks["short"]["MR-mAP"]["average"],
    }
    if predictions.saliency is not None:
        if not truth.has_saliency:
            raise AmrError(f"{truth.source}: no saliency_scores to evaluate highlights against")
        hl_blocks, fixes = _highlight_blocks(predictions, truth, index)
        blocks.update(hl_blocks)
        info.update(fixes)
        for name, block in hl_blocks.items():
            brief[f"{name}-mAP"] = block["HL-mAP"]
            brief[f"{name}-Hit1"] = block["HL-Hit1"]
    return {"brief": brief, **{k: blocks[k] for k in sorted(blocks)}, "amr": info}


def per_query_scores(predictions: Predictions, truth: GroundTruth) -> dict[str, np.ndarray]:
    """Each query's moment-retrieval scores (0-100) in ground-truth order: R1 at IoU 0.5 and
    0.7 (0 or 100) and AP averaged over the mAP thresholds; their means over queries are
    MR-full-R1@0.5, MR-full-R1@0.7 and MR-full-mAP. For intervals over queries."""
    a = _aligned(predictions, truth, align(predictions, truth))
    ap = moment.average_precision(a.windows, a.scores, a.window_valid, a.gt, a.gt_valid)
    iou = moment.top1_iou(a.windows[:, 0], a.gt, a.gt_valid)
    return {
        "qid": truth.qids,
        "MR-full-R1@0.5": 100.0 * (iou >= 0.5),
        "MR-full-R1@0.7": 100.0 * (iou >= 0.7),
        "MR-full-mAP": 100.0 * ap.mean(axis=1),
    }


def _listed_scores(predictions: Predictions, index: np.ndarray) -> np.ndarray:
    """Per query, whether its windows are not listed best first (R1 takes the first listed)."""
    scores = predictions.windows[:, 2]
    rises = np.append(np.diff(scores) > 0, False)
    last = predictions.window_offsets[1:] - 1
    rises[last[last >= 0]] = False  # a rise across two queries is not one
    owner = np.repeat(np.arange(len(predictions)), np.diff(predictions.window_offsets))
    return np.bincount(owner, weights=rises, minlength=len(predictions))[index] > 0


def _recall(a: Aligned, info: dict[str, Any], spec: RecallMetrics) -> dict[str, Any]:
    thresholds = spec.thresholds
    full: dict[str, Any] = {}
    for n in spec.ranks:
        found = moment.recall_at_n(a.windows, a.window_valid, a.gt, a.gt_valid, n, thresholds)
        full[f"MR-R{n}"] = {str(t): percent(v) for t, v in zip(thresholds, found, strict=True)}
    brief = {f"MR-full-R{n}@{t}": full[f"MR-R{n}"][str(t)] for n in spec.ranks for t in thresholds}
    if spec.miou:
        full["MR-mIoU"] = percent(moment.mean_iou_at_one(a.windows[:, 0], a.gt, a.gt_valid))
        brief["MR-full-mIoU"] = full["MR-mIoU"]
    return {"brief": brief, "full": full, "amr": info}
