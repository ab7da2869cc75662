"""From model outputs to a submission file: post-processing and the JSON lines.

Post-processing follows the reference inference code of Moment-DETR-style models: windows are
clipped to the video, rounded to multiples of the clip length, ranked by score (scores rounded
to 4 decimals), optionally thinned by temporal NMS. Batched: a batch's windows are (B, K, 2).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from amr.eval.moment import iou_cross
from amr.fileio import atomic_path, first_json_line


def postprocess(
    windows: np.ndarray,
    scores: np.ndarray,
    durations: np.ndarray,
    clip_length: float,
    nms_threshold: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clip to [0, duration], round to the clip grid, rank by score, optionally apply NMS.

    windows (B, K, 2) seconds, scores (B, K), durations (B,). Returns (windows, scores, keep):
    ranked best first, with keep (B, K) False for windows that NMS removed (a window is removed
    when its IoU with a better kept one is above `nms_threshold`). A rounded end that would pass
    a duration that is not on the clip grid is put back at the duration.
    """
    duration = np.asarray(durations, dtype=np.float64)[:, None]
    clipped = np.clip(np.asarray(windows, dtype=np.float64), 0.0, duration[..., None])
    rounded = np.round(clipped / clip_length) * clip_length
    rounded = np.minimum(rounded, duration[..., None])
    scores = np.round(np.asarray(scores, dtype=np.float64), 4)
    order = np.argsort(-scores, axis=1, kind="stable")
    rounded = np.take_along_axis(rounded, order[..., None], axis=1)
    scores = np.take_along_axis(scores, order, axis=1)
    keep = np.ones(scores.shape, dtype=bool)
    if nms_threshold is not None:
        iou = iou_cross(rounded, rounded)  # (B, K, K)
        for k in range(scores.shape[1] - 1):
            suppress = keep[:, k, None] & (iou[:, k, k + 1 :] > nms_threshold)
            keep[:, k + 1 :] &= ~suppress
    return rounded, scores, keep


def submission_records(
    qids: Iterable[int],
    queries: Iterable[str],
    vids: Iterable[str],
    windows: np.ndarray,
    scores: np.ndarray,
    keep: np.ndarray,
    saliency: Iterable[np.ndarray] | None = None,
) -> Iterator[dict[str, Any]]:
    """One submission line per query: the kept windows as [start, end, score], best first, and
    the saliency scores (4 decimals) when given."""
    saliency_rows = iter(saliency) if saliency is not None else None
    for row, (qid, query, vid) in enumerate(zip(qids, queries, vids, strict=True)):
        kept = keep[row]
        record: dict[str, Any] = {
            "qid": int(qid),
            "query": query,
            "vid": vid,
            "pred_relevant_windows": np.column_stack(
                [windows[row, kept], scores[row, kept]]
            ).tolist(),
        }
        if saliency_rows is not None:
            record["pred_saliency_scores"] = np.round(
                np.asarray(next(saliency_rows), dtype=np.float64), 4
            ).tolist()
        yield record


def is_submission(path: Path) -> bool:
    """Whether a file looks like predictions amr writes (its first line a submission record)."""
    line = first_json_line(path)
    return isinstance(line, dict) and "qid" in line and "pred_relevant_windows" in line


def write_submission(path: str | Path, records: Iterable[dict[str, Any]]) -> Path:
    """Write submission lines (JSON lines) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")
    return path
