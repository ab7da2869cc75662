"""Highlight-detection metrics (QVHighlights), vectorised over queries and annotators.

As the QVHighlights standalone evaluation defines them: a video has int(duration / clip
length) clips; a clip's score from each of the 3 annotators is 0 outside relevant_clip_ids. At
a threshold (Fair 2, Good 3, VeryGood 4) a clip is positive for an annotator whose score
reaches it.

* HIT@1: 1 when the clip with the highest predicted score (the first such, in the list as
  predicted) is positive for at least one annotator.
* AP, per query and annotator, of the predicted scores cut or zero-padded to the clip count:
  the precision-recall curve has a point at every distinct score; at each distinct recall
  reached, take the best precision at that recall or beyond; AP is the mean of those values
  (1 if every clip is positive, 0 if none is). mAP averages over queries and annotators.
"""

from __future__ import annotations

import numpy as np

THRESHOLDS = {"Fair": 2, "Good": 3, "VeryGood": 4}


def hit_at_one(raw_top: np.ndarray, labels: np.ndarray, n_clips: np.ndarray) -> np.ndarray:
    """(Q,) 1.0 where the top-scored clip is positive for any annotator.

    raw_top (Q,) index of the top predicted score in the uncut predictions; labels (Q, C, 3)
    bool; n_clips (Q,).
    """
    inside = raw_top < n_clips
    rows = np.arange(len(raw_top))
    positive = labels[rows, np.minimum(raw_top, labels.shape[1] - 1)].any(axis=1)
    return (inside & positive).astype(np.float64)


def average_precision(scores: np.ndarray, labels: np.ndarray, clip_valid: np.ndarray) -> np.ndarray:
    """(Q, A) AP of ranking each query's clips by `scores` (Q, C), for labels (Q, C, A) bool.
    Only clips where clip_valid (Q, C) count."""
    n_queries, n_slots = scores.shape
    order = np.argsort(np.where(clip_valid, -scores, np.inf), axis=1, kind="stable")
    ranked = np.take_along_axis(scores, order, axis=1)
    valid = np.take_along_axis(clip_valid, order, axis=1)
    positive = np.take_along_axis(labels, order[..., None], axis=1)  # (Q, C, A)
    # A curve point sits at the last clip of each run of equal scores.
    following = np.append(ranked[:, 1:], np.zeros((n_queries, 1)), axis=1)
    following_valid = np.append(valid[:, 1:], np.zeros((n_queries, 1), bool), axis=1)
    point = valid & ~(following_valid & (following == ranked))
    previous = np.insert(ranked[:, :-1], 0, 0.0, axis=1)
    previous_valid = np.insert(valid[:, :-1], 0, False, axis=1)
    run_start = valid & ~(previous_valid & (previous == ranked))
    slots = np.arange(n_slots)
    start_of_run = np.maximum.accumulate(np.where(run_start, slots, 0), axis=1)  # (Q, C)
    tp = np.cumsum(positive, axis=1, dtype=np.float64)  # (Q, C, A)
    tp_before_run = np.where(
        (start_of_run > 0)[..., None],
        np.take_along_axis(tp, np.maximum(start_of_run - 1, 0)[..., None], axis=1),
        0.0,
    )
    precision = np.where(point[..., None], tp / (slots + 1)[None, :, None], -1.0)
    best_from_here = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    # Each run holding a positive reaches a new recall: its point contributes once.
    new_recall = point[..., None] & (tp > tp_before_run)
    count = new_recall.sum(axis=1)
    total = np.where(new_recall, best_from_here, 0.0).sum(axis=1)
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0)
