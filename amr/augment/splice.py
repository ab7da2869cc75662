"""The splice operator (the reference method): paste a donor's moments into another video.

Each donor window keeps a random ordered subset of its clips (1 clip .. all of them), and the
segments are laid out, in order, at random non-overlapping positions of the host. The functions
work on a whole batch of samples at once: segments are ragged (grouped by sample), and the
random numbers are passed in, already drawn.
"""

from __future__ import annotations

import numpy as np

from amr import ragged


def kept_lengths(lengths: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A uniform length in 1..length for every window (u: uniforms in [0, 1))."""
    lengths = np.asarray(lengths, np.int64)
    return np.minimum(1 + np.floor(u * lengths).astype(np.int64), lengths)


def segment_clips(lengths: np.ndarray, sizes: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Clip positions (flat, `sizes[s]` per segment, in segment order) inside windows of
    `lengths`: an ordered random subset when size <= length (the `size` smallest of the per-clip
    `keys`, flat over all windows' clips), even repetition when stretched beyond the length."""
    lengths = np.asarray(lengths, np.int64)
    sizes = np.asarray(sizes, np.int64)
    n = len(lengths)
    squeeze = sizes <= lengths
    element_owner = ragged.owners(lengths)
    rank = ragged.ranks(element_owner, keys, n)
    take = squeeze[element_owner] & (rank < sizes[element_owner])
    stretched = np.flatnonzero(~squeeze)
    stretch_owner = np.repeat(stretched, sizes[stretched])
    step = ragged.positions(sizes[stretched])
    stretch_positions = np.floor(
        (step + 0.5) * lengths[stretch_owner] / sizes[stretch_owner]
    ).astype(np.int64)
    owner = np.concatenate([element_owner[take], stretch_owner])
    position = np.concatenate([ragged.positions(lengths)[take], stretch_positions])
    return position[np.argsort(owner, kind="stable")]


def fit_lengths(lengths: np.ndarray, counts: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """Shrink the longest segments of each sample to a common cap, as little as possible, until
    the sample's total is at most its budget (`counts` segments per sample; budget >= count)."""
    lengths = np.asarray(lengths, np.int64)
    owner = ragged.owners(counts)
    n = len(counts)
    total = np.bincount(owner, weights=lengths, minlength=n)
    if not np.any(total > budget):
        return lengths
    high = np.zeros(n, np.int64)
    np.maximum.at(high, owner, lengths)
    low = np.where(total > budget, 1, high)
    while np.any(low < high):  # binary search of the largest cap that fits
        mid = (low + high + 1) // 2
        fits = np.bincount(owner, weights=np.minimum(lengths, mid[owner]), minlength=n) <= budget
        low = np.where(fits, mid, low)
        high = np.where(fits, high, mid - 1)
    capped = np.minimum(lengths, low[owner])
    spare = budget - np.bincount(owner, weights=capped, minlength=n).astype(np.int64)
    longer = lengths > low[owner]
    return capped + (longer & (ragged.exclusive_cumsum(counts, longer) < spare[owner]))


def place_segments(
    lengths: np.ndarray, counts: np.ndarray, region: np.ndarray, gap: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Start clips for each sample's segments, laid out in the given order inside [0, region),
    at least `gap` apart, with the free clips spread uniformly over the gaps (u: a uniform per
    segment). Every sample's segments must fit."""
    lengths = np.asarray(lengths, np.int64)
    owner = ragged.owners(counts)
    n = len(counts)
    used = np.bincount(owner, weights=lengths, minlength=n).astype(np.int64)
    free = region - used - (np.asarray(counts) - 1) * gap
    if np.any(free[np.asarray(counts) > 0] < 0):
        raise ValueError("segments do not fit their region")
    extra = np.minimum(np.floor(u * (free[owner] + 1)).astype(np.int64), free[owner])
    extra = extra[np.lexsort((extra, owner))]  # sorted inside each sample
    packed = ragged.exclusive_cumsum(counts, lengths + gap[owner])
    return packed + extra
