"""Videos longer than the model sees (`max_clips`, 75 clips = 150 s at 2 s clips).

Training crops such a video to a window of the model's length that holds its moment, and states
the targets in that window's time. Inference slides windows of the model's length over the whole
video and maps each window's moments back to video time. Nothing is ever rescaled: a model
trained on 150-s windows only ever sees 150-s windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from amr.draws import Draws
from amr.ragged import group_max, offsets_of, owners, positions, ranges

# Inference windows overlap by half a window, so a moment up to about half a window long lies whole
# inside at least one window, whatever its position.
WINDOW_OVERLAP = 0.5
CROP_STREAM = 0xC20F  # Draws stream of the training crops (used for nothing else)
_EPS = 1e-6


@dataclass(frozen=True)
class Windows:
    """Windows over a batch of videos, in clips: `owner` says whose video each one cuts."""

    owner: np.ndarray  # (W,) int64: the video's index in the batch
    offset: np.ndarray  # (W,) int64: the window's first clip
    count: np.ndarray  # (W,) int64: its clips (the model's length, or the whole short video)

    def __len__(self) -> int:
        return len(self.owner)


def plan_windows(n_clips: np.ndarray, length: int, overlap: float = WINDOW_OVERLAP) -> Windows:
    """One window for a video that fits the model; for a longer one, windows of `length` clips
    every `length × (1 - overlap)` clips, the last one ending at the video's end."""
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    n = np.asarray(n_clips, dtype=np.int64)
    stride = max(1, round(length * (1.0 - overlap)))
    extra = np.maximum(n - length, 0)
    per_video = 1 + -(-extra // stride)
    owner = owners(per_video)
    offset = np.minimum(positions(per_video) * stride, extra[owner])
    return Windows(owner, offset, np.minimum(n[owner], length))


def crop_offsets(
    windows: pa.ListArray,
    rows: np.ndarray,
    n_clips: np.ndarray,
    length: int,
    clip_length: float,
    sample_ids: np.ndarray,
    seed: int,
    epoch: int,
) -> np.ndarray:
    """(B,) the first clip of each row's training window: 0 for a row that fits the model;
    otherwise a window of `length` clips, drawn from (seed, sample, epoch), that holds all the
    row's moments, or its first moment when they do not fit together (the start of that moment
    when it alone is longer than the model)."""
    n = np.asarray(n_clips, dtype=np.int64)
    offsets = windows.offsets.to_numpy().astype(np.int64)
    points = windows.flatten().flatten().to_numpy(zero_copy_only=False).reshape(-1, 2)
    counts = (offsets[1:] - offsets[:-1])[rows]
    taken = points[ranges(offsets[:-1][rows], counts)].astype(np.float64) / clip_length
    owner = owners(counts)
    has = counts > 0
    first = np.zeros((len(rows), 2))
    first[has] = taken[offsets_of(counts)[:-1][has]]
    low = -group_max(owner, -taken[:, 0], len(rows), -np.inf)
    high = group_max(owner, taken[:, 1], len(rows), -np.inf)
    start = np.floor(np.where(has, low, 0.0) + _EPS).astype(np.int64)
    stop = np.ceil(np.where(has, high, 0.0) - _EPS).astype(np.int64)
    together = stop - start <= length
    first_start = np.floor(first[:, 0] + _EPS).astype(np.int64)
    first_stop = np.minimum(np.ceil(first[:, 1] - _EPS).astype(np.int64), first_start + length)
    start = np.where(together, start, first_start)
    stop = np.where(together, stop, first_stop)
    lowest = np.clip(stop - length, 0, np.maximum(n - length, 0))
    highest = np.maximum(np.minimum(start, n - length), lowest)
    pick = Draws(seed).integers(sample_ids, CROP_STREAM, highest - lowest + 1, epoch)
    return np.where(n > length, lowest + pick, 0).astype(np.int64)
