"""`amr datasets subset`: a store with a fraction of one split's videos, for data-scarcity
studies.

Videos are taken in one seeded random order until the kept queries reach the fraction, so for
one seed every smaller fraction is inside every larger one (the 10 % subset is part of the 25 %
one). A video's queries stay together. The other splits, the feature files and a synthetic
store's truth file are the source's (hard links where the file system allows, else copies);
augmentation reads only the kept split's videos, so the corpus of a subset is built from that
subset alone.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from amr.datasets.store import (
    META_FILE,
    TEXT_FILE,
    VIDEO_FILE,
    SplitInfo,
    Store,
    StoreMeta,
    samples_file,
)
from amr.datasets.store import compute_fingerprint as store_fingerprint
from amr.datasets.truth import TRUTH_FILE
from amr.errors import AmrError
from amr.fileio import building_directory, check_output_dir
from amr.writer_lock import one_writer

SUBSET_STREAM = 0x53554253  # "SUBS"


def subset_videos(vids: list[str], fraction: float, seed: int) -> list[str]:
    """The videos of a subset holding `fraction` of the queries (`vids`: one entry per query),
    in the seed's order; nested across fractions for one seed."""
    if not 0.0 < fraction <= 1.0:
        raise AmrError(f"--fraction must be in (0, 1], got {fraction:g}")
    unique, counts = np.unique(np.asarray(vids, dtype=object), return_counts=True)
    order = np.random.default_rng([seed, SUBSET_STREAM]).permutation(len(unique))
    wanted = math.ceil(fraction * len(vids) - 1e-9)
    reached = np.cumsum(counts[order]) >= wanted
    keep = int(np.argmax(reached)) + 1 if reached.any() else len(order)
    return sorted(unique[order[:keep]].tolist())


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


@one_writer(lambda call: call["out"])
def subset_store(
    store: str | Path,
    split: str,
    fraction: float,
    seed: int,
    out: str | Path,
    overwrite: bool = False,
) -> StoreMeta:
    """Write to `out` a copy of `store` whose `split` keeps `fraction` of its queries."""
    source = Store.open(store)
    out = Path(out)
    if split not in source.meta.splits:
        raise AmrError(f"{source.root}: no split {split!r} (has {', '.join(source.splits)})")
    if out.resolve() == source.root.resolve():
        raise AmrError(f"{out}: the subset must go to a new directory")
    check_output_dir(
        out, META_FILE, overwrite,
        refuse="exists and is not a store; refusing to overwrite it",
        replace="store exists; pass --overwrite to replace it",
    )  # fmt: skip
    samples = source.samples(split)
    kept = subset_videos(samples["vid"].to_pylist(), fraction, seed)
    table = samples.filter(pc.is_in(samples["vid"], value_set=pa.array(kept, pa.string())))
    with building_directory(out) as staging:
        for name in source.splits:
            if name != split:
                _link(source.root / samples_file(name), staging / samples_file(name))
        pq.write_table(table, staging / samples_file(split), compression="zstd")
        for name in (VIDEO_FILE, TEXT_FILE, TRUTH_FILE):
            if (source.root / name).is_file():
                _link(source.root / name, staging / name)
        info = source.meta.splits[split]
        meta = replace(
            source.meta,
            name=f"{source.meta.name}-{split}-{fraction:g}",
            splits={
                **source.meta.splits,
                split: SplitInfo(table.num_rows, len(kept), info.labeled, info.source),
            },
            sources={
                **source.meta.sources,
                "subset": {
                    "of": source.meta.fingerprint,
                    "split": split,
                    "fraction": fraction,
                    "seed": seed,
                    "queries": table.num_rows,
                    "of_queries": samples.num_rows,
                },
            },
            fingerprint=store_fingerprint(staging),
        )
        meta.write(staging)
    return meta
