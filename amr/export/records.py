"""Annotation lines in the Moment-DETR JSON-lines form, from corpus rows or store samples.

The field's loaders read a video's features, take its clip count `ctx_l` (after cutting it to
`max_v_l`) and normalise every window by `ctx_l × clip_length`, never by `duration`
(moment_detr/start_end_dataset.py `get_span_labels`). amr normalises by `duration`. So each line
says `duration = n_clips × clip_length` and scales its windows by the same factor: the window a
loader computes is then the one amr trains on. Clip ids at or past the clip count are dropped
with their saliency rows (CG-DETR indexes a per-clip array with them), and a row with no
labelled clip left is dropped whole and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from amr.datasets.annotations import clip_ids_of_windows

CONSTANT_SALIENCY = [4, 4, 4]
"""Each labelled clip's scores (three annotators, 0-4) when the data has none: every loader in
the family needs one row per relevant clip; a constant ranks all of them alike."""


@dataclass
class RowCounts:
    """What happened to the rows of one annotation file (export.json `rows`)."""

    written: int = 0
    dropped: int = 0  # no labelled clip inside the video
    over_max_v_l: int = 0  # longer than max_v_l clips: the loaders cut these videos
    constant_saliency: int = 0  # no saliency scores in the data: CONSTANT_SALIENCY
    longest: int = 0  # the most clips of a written row

    def add(self, other: RowCounts) -> None:
        self.written += other.written
        self.dropped += other.dropped
        self.over_max_v_l += other.over_max_v_l
        self.constant_saliency += other.constant_saliency
        self.longest = max(self.longest, other.longest)


def as_written(values: np.ndarray) -> list[float]:
    """float32 seconds as the shortest decimals that read back to the same float32 (24.3, not
    24.299999237), so that an exported file reads like the annotation file it came from."""
    return np.asarray(values, dtype=np.float32).astype(str).astype(np.float64).tolist()


def annotation_records(
    table: pa.Table,
    vids: list[str],
    n_clips: np.ndarray,
    clip_length: float,
    max_v_l: int,
    extras: dict[str, list[Any]] | None = None,
) -> tuple[list[dict[str, Any]], np.ndarray, RowCounts]:
    """(lines, kept, counts): one line per row of `table` (store-sample columns) that keeps a
    labelled clip, the mask of those rows, and the counts. `vids` and `n_clips` are each row's
    exported video and its clip count; `extras` are more keys per row (loaders ignore them)."""
    columns = {
        name: table.column(name).to_pylist()
        for name in ("qid", "query", "duration", "relevant_windows", "relevant_clip_ids")
    }
    saliency = table.column("saliency_scores").to_pylist()
    counts = RowCounts()
    lines: list[dict[str, Any]] = []
    kept = np.zeros(table.num_rows, dtype=bool)
    for row in range(table.num_rows):
        n = int(n_clips[row])
        length = n * clip_length
        duration = float(np.float32(columns["duration"][row]))
        windows = columns["relevant_windows"][row] or []
        scale = 1.0 if abs(duration - length) <= 1e-6 * length else length / duration
        flat = as_written(np.asarray(windows, dtype=np.float32).reshape(-1))
        spans = [
            [min(round(s * scale, 6), length), min(round(e * scale, 6), length)]
            for s, e in zip(flat[0::2], flat[1::2], strict=True)
        ]
        ids = columns["relevant_clip_ids"][row] or []
        scores = saliency[row] or []
        if len(scores) != len(ids):
            scores = []
        if not ids and spans:
            ids = clip_ids_of_windows(spans, clip_length)
        inside = [i for i, c in enumerate(ids) if 0 <= c < n]
        spans = [s for s in spans if s[0] < length]
        if not inside or not spans:
            counts.dropped += 1
            continue
        if scores:
            scores = [list(scores[i]) for i in inside]
        else:
            scores = [CONSTANT_SALIENCY] * len(inside)
            counts.constant_saliency += 1
        line = {
            "qid": columns["qid"][row],
            "query": columns["query"][row],
            "duration": round(length, 6),
            "vid": vids[row],
            "relevant_windows": spans,
            "relevant_clip_ids": [ids[i] for i in inside],
            "saliency_scores": scores,
        }
        for key, values in (extras or {}).items():
            line[key] = values[row]
        lines.append(line)
        kept[row] = True
        counts.written += 1
        counts.over_max_v_l += n > max_v_l
        counts.longest = max(counts.longest, n)
    return lines, kept, counts
