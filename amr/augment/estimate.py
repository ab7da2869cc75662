"""How big a corpus will be, known before a byte is written: a run that the disk or the memory
cannot hold is refused at once, naming both figures, instead of failing hours later with a
full disk (or at once with a MemoryError)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from amr.augment.config import AugmentConfig
from amr.augment.sources import SplitIndex
from amr.datasets.store import Store
from amr.errors import AmrError
from amr.fileio import existing_ancestor

# Beyond the features, a row's labels, recipe and Parquet overhead (the demo corpus: ~500 B).
ROW_BYTES = 600
# What ranking holds in memory per row: difficulty components, ranks, order, bins.
ROW_MEMORY = 128


@dataclass(frozen=True)
class CorpusSize:
    rows: int
    disk_bytes: int  # the parts, plus the video pool the run keeps while it writes them
    memory_bytes: int


def estimate(store: Store, index: SplitIndex, config: AugmentConfig, shards: int = 1) -> CorpusSize:
    """The corpus of `index` under `config` (this shard's share of its parts)."""
    rows = len(index) + len(index.donors) * config.multiplier
    clips = np.asarray([store.n_clips(v) for v in dict.fromkeys(index.vids)], np.float64)
    clip_bytes = 0 if config.recipes_only else 2 * store.meta.video_dim
    mean_clips = float(clips.mean()) if len(clips) else 0.0
    parts = rows * (mean_clips * clip_bytes + ROW_BYTES) / shards
    pool = clips.sum() * clip_bytes
    return CorpusSize(rows, int(parts + pool), rows * ROW_MEMORY)


def check_room(size: CorpusSize, out: Path, already: int = 0) -> None:
    """Refuse a corpus the free space at `out` (after the `already` written bytes a resumed run
    keeps) or this machine's memory cannot hold."""
    where = existing_ancestor(out)
    free = shutil.disk_usage(where).free
    needed = size.disk_bytes - already
    if needed > free:
        raise AmrError(
            f"{out}: this corpus needs about {_size(needed)} ({size.rows:,} rows) and "
            f"{where} has {_size(free)} free; lower --multiplier, pass --recipes-only, or "
            "write elsewhere"
        )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if size.memory_bytes > memory:
        raise AmrError(
            f"{out}: ranking {size.rows:,} rows needs about {_size(size.memory_bytes)} of "
            f"memory and this machine has {_size(memory)}; lower --multiplier"
        )


def _size(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n / 1e3:,.1f} kB"
