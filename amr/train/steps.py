"""How many steps each epoch of a run takes, and where a resumed epoch starts: pure functions
of the epoch plans, so that every rank, and a resumed run, agree."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from amr.train.config import TrainConfig
from amr.train.curriculum import EpochPlan
from amr.train.data import RowSource


def step_limits(config: TrainConfig, batch_sizes_of: Callable[[int], list[int]]) -> list[int]:
    """Steps of each epoch the run trains: all of them, or, with max_samples, up to the step
    whose batch reaches it (the run then ends in that epoch). A pure function of the plans,
    so every rank, and a resumed run, agree."""
    limits, seen = [], 0
    for epoch in range(config.epochs):
        sizes = batch_sizes_of(epoch)
        if config.max_samples is not None and seen + sum(sizes) >= config.max_samples:
            reached = np.cumsum(sizes) + seen >= config.max_samples
            limits.append(int(np.argmax(reached)) + 1)
            break
        limits.append(len(sizes))
        seen += sum(sizes)
    return limits


def window_batch_sizes(plan: EpochPlan, source: RowSource) -> list[list[int]]:
    """Samples of each batch of each window of an epoch's plan (windows are batched
    separately, so a window's last batch may be short)."""
    eligible, size = source.eligible_at(plan.epoch), source.config.batch_size
    windows = []
    for groups in plan.windows:
        rows = int(eligible[groups].sum())
        windows.append([size] * (rows // size) + ([rows % size] if rows % size else []))
    return windows


def batch_sizes(plan: EpochPlan, source: RowSource) -> list[int]:
    return [size for window in window_batch_sizes(plan, source) for size in window]


def position(plan: EpochPlan, source: RowSource, done: int) -> tuple[int, int]:
    """(window, batch) after `done` batches of an epoch's plan."""
    for window, sizes in enumerate(window_batch_sizes(plan, source)):
        if done < len(sizes):
            return window, done
        done -= len(sizes)
    return len(plan.windows), 0
