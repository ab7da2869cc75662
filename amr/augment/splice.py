"""The splice operator (the reference method): paste a donor's moments into another video.

Each donor window keeps a random ordered subset of its clips (1 clip .. all of them), and the
segments are laid out, in order, at random non-overlapping positions of the host.
"""

from __future__ import annotations

import numpy as np


def resample_clips(rng: np.random.Generator, length: int) -> np.ndarray:
    """A random length in 1..length, then that many of the window's clips, kept in order."""
    keep = int(rng.integers(1, length + 1))
    if keep == length:
        return np.arange(length, dtype=np.int32)
    return ordered_subset(rng, length, keep)


def ordered_subset(rng: np.random.Generator, length: int, size: int) -> np.ndarray:
    """`size` distinct indices of range(length), ascending (3x faster than Generator.choice)."""
    return np.sort(rng.permutation(length)[:size]).astype(np.int32)


def fit_lengths(lengths: np.ndarray, region: int, min_gap: int) -> np.ndarray | None:
    """Shrink segment lengths (largest first) until they fit in `region` with `min_gap` between
    them; None if even one clip each does not fit."""
    lengths = np.asarray(lengths, dtype=np.int64).copy()
    budget = region - (len(lengths) - 1) * min_gap
    if budget < len(lengths):
        return None
    while lengths.sum() > budget:  # ends: budget >= n, so some segment is longer than 1
        largest = int(np.argmax(lengths))
        lengths[largest] -= min(int(lengths.sum()) - budget, int(lengths[largest]) - 1)
    return lengths


def place_segments(
    rng: np.random.Generator, lengths: np.ndarray, region: int, min_gap: int
) -> np.ndarray:
    """Start clips for segments laid out in the given order inside [0, region), at least
    `min_gap` apart, with the free clips spread uniformly over the n + 1 gaps."""
    lengths = np.asarray(lengths, dtype=np.int64)
    n = len(lengths)
    free = region - int(lengths.sum()) - (n - 1) * min_gap
    if free < 0:
        raise ValueError(f"{n} segments of {int(lengths.sum())} clips do not fit in {region}")
    extra_before = np.sort(rng.integers(0, free + 1, size=n))
    packed = np.concatenate([[0], np.cumsum(lengths[:-1] + min_gap)])
    return (packed + extra_before).astype(np.int64)
