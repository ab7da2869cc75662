"""Random placement of moments inside a video, shared by both synthetic modes."""

from __future__ import annotations

import numpy as np


def moment_length(rng: np.random.Generator, n_clips: int) -> int:
    """A moment length in clips: short, middle or long in QVHighlights' sense at 2-s clips."""
    kind = rng.choice(3, p=[0.4, 0.4, 0.2])
    low, high = ((2, 5), (5, 15), (15, max(16, int(0.6 * n_clips))))[kind]
    high = min(high, n_clips)
    low = min(low, high)
    return int(rng.integers(low, high + 1))


def place(rng: np.random.Generator, occupied: np.ndarray, length: int, gap: int) -> int | None:
    """Pick a start for `length` clips at least `gap` clips from anything occupied; mark it.

    Returns None when the video has no room.
    """
    n_clips = len(occupied)
    if length > n_clips:
        return None
    filled = np.concatenate([[0], np.cumsum(occupied)])
    starts = np.arange(n_clips - length + 1)
    low = np.maximum(starts - gap, 0)
    high = np.minimum(starts + length + gap, n_clips)
    candidates = starts[filled[high] == filled[low]]
    if candidates.size == 0:
        return None
    start = int(rng.choice(candidates))
    occupied[start : start + length] = True
    return start
