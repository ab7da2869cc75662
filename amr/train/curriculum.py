"""Curriculum order: which row groups of the corpus an epoch reads, and in what order.

The corpus is written easiest first, so "the easiest fraction g(epoch)" is a prefix of its row
groups. An epoch shuffles that prefix (from the seed and the epoch, nothing else) and cuts it
into windows of about `window_rows` eligible rows; a window is read, shuffled and batched as a
unit. The `ordered` pacing withholds nothing: every epoch reads every row group, easiest
first, shuffled only inside each of `blocks` consecutive blocks (stage 2's default, so that
the real rows are all seen in every epoch yet still come easy to hard).

The plan is a pure function of (seed, epoch, rank, world size), so a resumed run reads exactly
what the interrupted one would have.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from amr.errors import AmrError

PACINGS = ("linear", "root", "step", "ordered")


@dataclass(frozen=True)
class Pacing:
    """g(epoch): the fraction of the corpus (easiest first) an epoch draws from.

    linear: start + (1 - start) · t;  root: sqrt(start² + (1 - start²) · t);
    step: start + (1 - start) · floor(t · steps) / steps;  t = min(1, epoch / epochs_to_full)
    (1 when epochs_to_full is 0); ordered: always 1, the order easy to hard.
    """

    kind: str = "root"
    start: float = 0.3
    epochs_to_full: int = 10
    steps: int = 4
    blocks: int = 10  # ordered: groups are shuffled only inside each of this many blocks

    def __post_init__(self) -> None:
        if self.kind not in PACINGS:
            raise AmrError(f"unknown pacing {self.kind!r} (known: {', '.join(PACINGS)})")
        if not 0 < self.start <= 1:
            raise AmrError(f"pacing start must be in (0, 1], got {self.start}")
        if self.epochs_to_full < 0 or self.steps < 1 or self.blocks < 1:
            raise AmrError("pacing epochs_to_full must be ≥ 0, steps and blocks ≥ 1")

    def fraction(self, epoch: int) -> float:
        if self.kind == "ordered" or self.epochs_to_full == 0:
            return 1.0
        t = min(1.0, epoch / self.epochs_to_full)
        if self.kind == "linear":
            return self.start + (1 - self.start) * t
        if self.kind == "root":
            return math.sqrt(self.start**2 + (1 - self.start**2) * t)
        return self.start + (1 - self.start) * math.floor(t * self.steps) / self.steps


@dataclass(frozen=True)
class EpochPlan:
    """The windows an epoch reads on this rank: each an array of row-group indices."""

    epoch: int
    pool_groups: int  # how many of the easiest groups the epoch draws from
    windows: list[np.ndarray]


def plan_epoch(
    eligible: np.ndarray,
    epoch: int,
    seed: int,
    pacing: Pacing | None,
    window_rows: int,
    rank: int = 0,
    world: int = 1,
) -> EpochPlan:
    """The windows of one epoch.

    eligible (G,): rows of each row group (in corpus order) that this stage reads; pacing None
    reads the whole corpus (the --no-curriculum ablation). Ranks get the same number of windows
    (the plan wraps around), so distributed steps stay in lockstep.
    """
    groups = np.flatnonzero(eligible > 0)
    if len(groups) == 0:
        raise AmrError("the corpus has no rows for this stage")
    fraction = 1.0 if pacing is None else pacing.fraction(epoch)
    # The pool is the easiest `fraction` of the eligible rows, rounded up to whole groups.
    cumulative = np.cumsum(eligible[groups])
    wanted = fraction * cumulative[-1]
    pool = groups[: int(np.searchsorted(cumulative, wanted - 1e-9)) + 1]
    rng = np.random.default_rng([seed, epoch, 0x5EED])
    if pacing is not None and pacing.kind == "ordered":
        blocks = np.array_split(pool, min(pacing.blocks, len(pool)))
        order = np.concatenate([rng.permutation(block) for block in blocks])
    else:
        order = rng.permutation(pool)
    windows, current, rows = [], [], 0
    for group in order:
        current.append(group)
        rows += int(eligible[group])
        if rows >= window_rows:
            windows.append(np.asarray(current))
            current, rows = [], 0
    if current:
        windows.append(np.asarray(current))
    per_rank = -(-len(windows) // world)
    mine = [windows[(rank + world * i) % len(windows)] for i in range(per_rank)]
    return EpochPlan(epoch=epoch, pool_groups=len(pool), windows=mine)
