"""Ragged arrays as flat values + lengths: the shapes that let a batch of samples be generated,
or a split's predictions be scored, with whole-array numpy operations instead of a Python loop
per sample.

A ragged array of n groups is a flat array whose elements are grouped, group by group, with
``lengths[g]`` elements in group g. These helpers give each element its group and position.
"""

from __future__ import annotations

import numpy as np


def offsets_of(lengths: np.ndarray) -> np.ndarray:
    """(n + 1,) int64: where each group starts in the flat array, then the total."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def owners(lengths: np.ndarray) -> np.ndarray:
    """The group of every element."""
    return np.repeat(np.arange(len(lengths), dtype=np.int64), np.asarray(lengths, np.int64))


def positions(lengths: np.ndarray) -> np.ndarray:
    """Every element's index inside its group (0, 1, ... per group)."""
    lengths = np.asarray(lengths, np.int64)
    return np.arange(lengths.sum(), dtype=np.int64) - np.repeat(offsets_of(lengths)[:-1], lengths)


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(s, s + n)`` for every (s, n)."""
    lengths = np.asarray(lengths, np.int64)
    return np.repeat(np.asarray(starts, np.int64), lengths) + positions(lengths)


def ranks(owner: np.ndarray, keys: np.ndarray, n_groups: int) -> np.ndarray:
    """Each element's rank by `keys` (in [0, 1)) inside its group (0 = smallest; ties by
    position). Elements must be grouped (owner non-decreasing)."""
    order = np.argsort(owner + np.asarray(keys, np.float64), kind="stable")
    counts = np.bincount(owner, minlength=n_groups)
    rank = np.empty(len(owner), dtype=np.int64)
    rank[order] = np.arange(len(owner)) - np.repeat(offsets_of(counts)[:-1], counts)
    return rank


def group_sums(owner: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """float64 sum of the values of every group (0 for an empty group)."""
    return np.bincount(owner, weights=values, minlength=n_groups)


def group_max(owner: np.ndarray, values: np.ndarray, n_groups: int, empty: float) -> np.ndarray:
    out = np.full(n_groups, empty, dtype=np.float64)
    np.maximum.at(out, owner, values)
    return out


def exclusive_cumsum(lengths: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per element, the sum of the values before it in its group."""
    values = np.asarray(values, np.int64)
    before = np.cumsum(values) - values
    starts = offsets_of(lengths)[:-1]
    at_start = np.append(before, 0)[np.minimum(starts, len(values))]
    return before - np.repeat(at_start, np.asarray(lengths, np.int64))


def padded(
    flat: np.ndarray, lengths: np.ndarray, fill: float = 0, width: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The groups as rows of a (n, width, ...) array, and the (n, width) mask of what is real;
    the rest is `fill`. `width` defaults to the longest group."""
    lengths = np.asarray(lengths, np.int64)
    if width is None:
        width = int(lengths.max()) if len(lengths) else 0
    out = np.full((len(lengths), width, *flat.shape[1:]), fill, dtype=flat.dtype)
    mask = np.zeros((len(lengths), width), dtype=bool)
    rows, cols = owners(lengths), positions(lengths)
    out[rows, cols] = flat
    mask[rows, cols] = True
    return out, mask
