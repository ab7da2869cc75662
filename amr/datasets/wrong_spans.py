"""Wrong spans: parts of a query's own video that look like its moment but are not it.

AMR's reference pastes them, unlabelled, beside the moment in every augmented sample, and its
stage 2 pushes the query away from them (the discrimination loss). Annotation files may carry
them (`wrong_spans`); otherwise they are mined here, with nothing but the store's own video
features: for each labelled query, the `per_query` spans of its video that lie outside every
relevant window by at least `margin` clips and whose mean clip feature is most similar (cosine)
to the moment's mean clip feature. Each is as long as the query's windows on average (at most
`max_clips`, shorter where the video has no room), and they do not overlap each other.

A synthetic world's hidden look-alike twins are never handed to the miner: it sees only the
features, as it would for real video.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from amr.errors import AmrError

SPANS_TYPE = pa.list_(pa.list_(pa.float32()))


@dataclass(frozen=True)
class MiningConfig:
    per_query: int = 2  # wrong spans per labelled query (fewer where the video has no room)
    margin: int = 1  # clips between a wrong span and any relevant window
    max_clips: int = 10  # the longest wrong span, in clips

    def __post_init__(self) -> None:
        if self.per_query < 1 or self.margin < 0 or self.max_clips < 1:
            raise AmrError("wrong spans: per_query and max_clips must be ≥ 1, margin ≥ 0")

    def to_json(self) -> dict[str, Any]:
        return {"method": "mined", **asdict(self)}


def window_clips(windows: list[list[float]], clip_length: float) -> list[tuple[int, int]]:
    """[start, end] seconds → (first clip, stop clip): the clips each window overlaps."""
    spans = []
    for start, end in windows:
        first = math.floor(start / clip_length + 1e-6)
        spans.append((first, max(first + 1, math.ceil(end / clip_length - 1e-6))))
    return spans


def mine_query(
    unit: np.ndarray, cumulative: np.ndarray, windows: list[tuple[int, int]], config: MiningConfig
) -> list[tuple[int, int]]:
    """Wrong spans (first, stop) in clips for one query. unit: the video's L2-normalised clip
    features (n, dim); cumulative: their prefix sums (n + 1, dim)."""
    n = len(unit)
    inside = np.zeros(n, bool)
    blocked = np.zeros(n, bool)
    for first, stop in windows:
        inside[min(first, n) : min(stop, n)] = True
        blocked[max(0, first - config.margin) : min(n, stop + config.margin)] = True
    if not inside.any():
        return []
    moment = unit[inside].mean(axis=0)
    mean_length = np.mean([stop - first for first, stop in windows])
    length = int(min(config.max_clips, max(1, round(mean_length))))
    found: list[tuple[int, int]] = []
    while len(found) < config.per_query and length >= 1:
        taken = np.concatenate([[0], np.cumsum(blocked)])
        starts = np.flatnonzero(taken[length:] - taken[:-length] == 0) if n >= length else []
        if len(starts) == 0:
            length -= 1  # no room at this length: try shorter spans
            continue
        sums = cumulative[starts + length] - cumulative[starts]
        norms = np.linalg.norm(sums, axis=1) * max(float(np.linalg.norm(moment)), 1e-12)
        score = sums @ moment / np.maximum(norms, 1e-12)
        best = int(starts[np.argmax(score)])  # argmax: the earliest of equal scores
        found.append((best, best + length))
        blocked[best : best + length] = True
    return sorted(found)


def mine_split(
    samples: pa.Table,
    video_features: Callable[[str], np.ndarray],
    clip_length: float,
    config: MiningConfig,
) -> pa.ListArray:
    """The `wrong_spans` column ([start, end] seconds per span) of a samples table, mined from
    each video's features (read once per video)."""
    vids = samples.column("vid").to_pylist()
    windows = samples.column("relevant_windows").to_pylist()
    durations = samples.column("duration").to_numpy()
    spans: list[list[list[float]]] = [[] for _ in vids]
    by_video: dict[str, list[int]] = {}
    for row, vid in enumerate(vids):
        if windows[row]:
            by_video.setdefault(vid, []).append(row)
    for vid, rows in by_video.items():
        features = np.asarray(video_features(vid), dtype=np.float32)
        unit = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
        cumulative = np.concatenate([np.zeros((1, unit.shape[1]), np.float32), unit.cumsum(0)])
        for row in rows:
            found = mine_query(unit, cumulative, window_clips(windows[row], clip_length), config)
            end = float(durations[row])
            spans[row] = [[f * clip_length, min(s * clip_length, end)] for f, s in found]
    return pa.array(spans, SPANS_TYPE)


def overlapping_window(span: list[float], windows: list[list[float]]) -> list[float] | None:
    """The first relevant window a wrong span overlaps (shares more than a point with)."""
    for window in windows:
        if min(span[1], window[1]) - max(span[0], window[0]) > 1e-6:
            return window
    return None
