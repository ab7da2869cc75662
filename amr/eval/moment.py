"""Moment-retrieval metrics, vectorised over queries.

The definitions are those of the QVHighlights standalone evaluation that published results use
(Moment-DETR's ``standalone_eval``), re-derived here:

* Average precision of one query at an IoU threshold: the predicted windows (the first 10 as
  listed) are ranked by score (ties keep the listed order); each in turn matches the unmatched
  ground-truth window it overlaps most (ties: the later window) if that IoU reaches the
  threshold, and is then a true positive, else a false positive. AP is the area under the
  VOC interpolated precision-recall curve (precision made non-increasing from the right,
  recall running from 0 to 1). mAP averages AP over queries.
* R1 at a threshold: the first listed window against the ground-truth window it overlaps most.

Arrays are padded per query: predictions (Q, K), ground truth (Q, G), with validity masks.
"""

from __future__ import annotations

import numpy as np

MAP_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))  # 0.5, 0.55, ..., 0.95
MAX_PREDICTED_WINDOWS = 10  # the standard evaluation ranks only the first 10 windows listed
# Moment lengths in seconds, as (low, high]: QVHighlights' short / middle / long buckets.
LENGTH_BUCKETS = {"short": (0.0, 10.0), "middle": (10.0, 30.0), "long": (30.0, 150.0)}


def iou_cross(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU of every predicted window with every ground-truth window of its query.

    pred (Q, K, 2) and gt (Q, G, 2) → (Q, K, G). 0 where both windows are empty points.
    """
    p_start, p_end = pred[..., 0, None], pred[..., 1, None]
    g_start, g_end = gt[:, None, :, 0], gt[:, None, :, 1]
    inter = np.clip(np.minimum(p_end, g_end) - np.maximum(p_start, g_start), 0, None)
    union = (p_end - p_start) + (g_end - g_start) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def iou_paired(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of a[i] with b[i]; (N, 2) each. The union is the hull: the same number as the true
    union wherever the windows overlap (and 0 where they do not), computed as R1 is computed."""
    inter = np.maximum(0, np.minimum(a[:, 1], b[:, 1]) - np.maximum(a[:, 0], b[:, 0]))
    union = np.maximum(a[:, 1], b[:, 1]) - np.minimum(a[:, 0], b[:, 0])
    return np.divide(inter, union, out=np.zeros_like(inter), where=union != 0)


def average_precision(
    pred: np.ndarray,
    scores: np.ndarray,
    pred_valid: np.ndarray,
    gt: np.ndarray,
    gt_valid: np.ndarray,
    thresholds: tuple[float, ...] = MAP_THRESHOLDS,
) -> np.ndarray:
    """(Q, T) average precision of every query at every IoU threshold.

    pred (Q, K, 2), scores (Q, K), pred_valid (Q, K); gt (Q, G, 2), gt_valid (Q, G). Every
    query needs at least one valid ground-truth window.
    """
    n_queries, n_pred = scores.shape
    order = np.argsort(np.where(pred_valid, -scores, np.inf), axis=1, kind="stable")
    pred = np.take_along_axis(pred, order[..., None], axis=1)
    valid = np.take_along_axis(pred_valid, order, axis=1)
    iou = iou_cross(pred, gt)  # (Q, K, G)
    thr = np.asarray(thresholds, dtype=np.float64)[None, :, None]  # (1, T, 1)
    n_gt = gt_valid.shape[1]
    matched = np.zeros((n_queries, len(thresholds), n_gt), dtype=bool)
    true_pos = np.zeros((n_queries, len(thresholds), n_pred), dtype=bool)
    for k in range(n_pred):  # in score order: a match uses up its ground-truth window
        iou_k = iou[:, k, None, :]  # (Q, 1, G)
        free = (iou_k >= thr) & ~matched & gt_valid[:, None, :] & valid[:, k, None, None]
        best = np.where(free, iou_k, -1.0)
        top = best.max(axis=2, keepdims=True)
        # The most-overlapping free window; among equals the later one (as the standard
        # evaluation's reversed argsort visits them).
        pick = n_gt - 1 - np.argmax((best == top)[..., ::-1], axis=2)
        hit = free.any(axis=2)  # (Q, T)
        true_pos[:, :, k] = hit
        q_idx, t_idx = np.nonzero(hit)
        matched[q_idx, t_idx, pick[q_idx, t_idx]] = True
    false_pos = valid[:, None, :] & ~true_pos
    tp = np.cumsum(true_pos, axis=2, dtype=np.float64)
    fp = np.cumsum(false_pos, axis=2, dtype=np.float64)
    recall = tp / gt_valid.sum(axis=1)[:, None, None]
    precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=valid[:, None, :])
    zeros = np.zeros((n_queries, len(thresholds), 1))
    precision = np.concatenate([zeros, precision, zeros], axis=2)
    recall = np.concatenate([zeros, recall, zeros + 1.0], axis=2)
    envelope = np.maximum.accumulate(precision[..., ::-1], axis=2)[..., ::-1]
    # Padding repeats the last recall, so its steps are 0 and add nothing.
    return np.sum(np.diff(recall, axis=2) * envelope[..., 1:], axis=2)


def recall_at_one(
    top1: np.ndarray,
    gt: np.ndarray,
    gt_valid: np.ndarray,
    thresholds: tuple[float, ...] = MAP_THRESHOLDS,
) -> np.ndarray:
    """(T,) fraction of queries whose first listed window reaches each IoU threshold against
    the ground-truth window it overlaps most. top1 (Q, 2)."""
    iou = top1_iou(top1, gt, gt_valid)
    return (iou[:, None] >= np.asarray(thresholds)[None, :]).mean(axis=0)


def top1_iou(top1: np.ndarray, gt: np.ndarray, gt_valid: np.ndarray) -> np.ndarray:
    """(Q,) IoU of each query's first listed window with the ground-truth window it overlaps
    most (what R1 thresholds)."""
    overlap = np.where(gt_valid, iou_cross(top1[:, None, :], gt)[:, 0, :], -1.0)
    best = np.argmax(overlap, axis=1)
    return iou_paired(top1, gt[np.arange(len(gt)), best])


def recall_at_n(
    pred: np.ndarray,
    pred_valid: np.ndarray,
    gt: np.ndarray,
    gt_valid: np.ndarray,
    n: int,
    thresholds: tuple[float, ...],
) -> np.ndarray:
    """(T,) fraction of queries where any of the first n listed windows reaches the threshold
    against any ground-truth window (Charades-STA's R@n)."""
    iou = np.where(gt_valid[:, None, :], iou_cross(pred[:, :n], gt), 0.0).max(axis=2)
    iou = np.where(pred_valid[:, :n], iou, 0.0).max(axis=1)
    return (iou[:, None] >= np.asarray(thresholds)[None, :]).mean(axis=0)


def mean_iou_at_one(top1: np.ndarray, gt: np.ndarray, gt_valid: np.ndarray) -> float:
    """Mean over queries of the first listed window's best IoU with a ground-truth window."""
    iou = np.where(gt_valid, iou_cross(top1[:, None, :], gt)[:, 0, :], 0.0)
    return float(iou.max(axis=1).mean())


def in_length_bucket(gt: np.ndarray, gt_valid: np.ndarray, low: float, high: float) -> np.ndarray:
    """Which ground-truth windows have a length in (low, high]."""
    length = gt[..., 1] - gt[..., 0]
    return gt_valid & (length > low) & (length <= high)
