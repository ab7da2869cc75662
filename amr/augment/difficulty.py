"""Difficulty: named components, combined by their ranks across the whole corpus.

Each component is turned into a hardness rank in [0, 1] (0 = the easiest value in the corpus,
ties share their average rank), and `difficulty` is the weighted mean of those ranks. Ranks make
components of different units comparable and the result insensitive to outliers. Rows are then
ordered by difficulty (ties by sample id) and cut into `bins` equal-count curriculum bins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from amr.augment.config import COMPONENTS


@dataclass(frozen=True)
class Ranking:
    difficulty: np.ndarray  # float32 per sample id
    order: np.ndarray  # sample ids, easiest first
    curriculum_bin: np.ndarray  # int16 per sample id


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks; tied values share the mean of their positions."""
    n = len(values)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if n else np.zeros(0, int)
    ends = np.r_[starts[1:], n]
    group = np.repeat(np.arange(len(starts)), ends - starts)
    ranks = np.empty(n)
    ranks[order] = ((starts + ends - 1) / 2 + 1)[group]
    return ranks


def hardness_ranks(values: np.ndarray, direction: str) -> np.ndarray:
    """Average ranks of hardness, scaled to [0, 1] (all 0 when every value is the same)."""
    hardness = -values if direction == "lower" else values
    ranks = average_ranks(hardness)
    if len(ranks) == 0 or ranks.max() == ranks.min():
        return np.zeros(len(values))
    return (ranks - ranks.min()) / (ranks.max() - ranks.min())


def rank_difficulty(
    components: dict[str, np.ndarray], weights: dict[str, float], bins: int
) -> Ranking:
    total = sum(weights.values())
    n = len(next(iter(components.values())))
    score = np.zeros(n)
    for name, direction in COMPONENTS.items():
        if weights.get(name, 0.0):
            score += weights[name] * hardness_ranks(
                np.asarray(components[name], np.float64), direction
            )
    difficulty = (score / total).astype(np.float32)
    order = np.lexsort((np.arange(n), difficulty))
    curriculum_bin = np.empty(n, dtype=np.int16)
    curriculum_bin[order] = (np.arange(n) * bins // max(n, 1)).astype(np.int16)
    return Ranking(difficulty, order, curriculum_bin)
