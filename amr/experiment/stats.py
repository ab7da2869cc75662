"""Intervals for `amr experiment`: a two-level bootstrap over seeds and test queries.

A figure is a weighted sum of block means, each block a (seeds × queries) matrix of per-query
scores (or of paired differences: arm minus baseline, same seed, same query). One bootstrap
draw resamples the seeds (shared by every block, so differences stay paired by seed) and, in
each block, its queries; the interval is the 2.5th and 97.5th percentile of the draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DRAWS = 2000
BOOTSTRAP_SEED = 0  # fixed: the same results always give the same intervals


@dataclass(frozen=True)
class Interval:
    value: float  # the figure on the data as observed
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def __str__(self) -> str:
        return f"{self.value:+.2f} [{self.low:+.2f}, {self.high:+.2f}]"

    def plain(self) -> str:
        """For a level rather than a difference: no signs."""
        return f"{self.value:.2f} [{self.low:.2f}, {self.high:.2f}]"


def bootstrap(
    blocks: list[tuple[float, np.ndarray]],
    draws: int = DRAWS,
    seed: int = BOOTSTRAP_SEED,
    level: float = 0.95,
) -> Interval:
    """The interval of sum(weight * mean(block)) over `blocks` of (weight, (S, Q) matrix);
    every block has the same seeds (rows) in the same order."""
    seeds = {matrix.shape[0] for _, matrix in blocks}
    if len(seeds) != 1 or 0 in seeds:
        raise ValueError("every block needs the same number (at least one) of seeds")
    n_seeds = seeds.pop()
    rng = np.random.default_rng(seed)
    # With one seed there is nothing to resample across seeds: only queries vary.
    rows = rng.integers(0, n_seeds, (draws, n_seeds)) if n_seeds > 1 else np.zeros((draws, 1), int)
    value, samples = 0.0, np.zeros(draws)
    for weight, matrix in blocks:
        value += weight * float(matrix.mean())
        n_queries = matrix.shape[1]
        if n_queries == 0:
            raise ValueError("a block has no queries")
        # Per draw and per drawn seed, the mean over a resample of the block's queries.
        for d in range(draws):
            cols = rng.integers(0, n_queries, n_queries)
            samples[d] += weight * float(matrix[np.ix_(rows[d], cols)].mean())
    tail = (1.0 - level) / 2
    low, high = np.quantile(samples, [tail, 1.0 - tail])
    return Interval(value, float(low), float(high))
