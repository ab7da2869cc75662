"""`amr datasets wrong-spans`: (re)compute a split's wrong spans in an existing store.

The store is rebuilt beside itself with hard links to every file but the split's samples, then
swapped into place whole (fileio.building_directory): a crash leaves the old store as it was,
and no feature bytes are copied. store.json records the method and its parameters, and the
fingerprint changes with the samples, so corpora made before say they came from another store.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow.parquet as pq

from amr.datasets.store import (
    Store,
    StoreMeta,
    compute_fingerprint,
    samples_file,
    set_wrong_spans,
)
from amr.datasets.wrong_spans import MiningConfig, mine_split
from amr.errors import AmrError
from amr.fileio import building_directory
from amr.writer_lock import one_writer


@dataclass(frozen=True)
class MinedSplit:
    split: str
    queries: int  # labelled queries
    with_spans: int  # of them, how many got at least one wrong span
    spans: int


@one_writer(lambda call: call["store_path"])
def remine_wrong_spans(
    store_path: str | Path,
    splits: list[str],
    config: MiningConfig,
) -> tuple[StoreMeta, list[MinedSplit]]:
    """Mine `splits`' wrong spans again with `config` (seconds even at real dims: one pass of
    numpy per video)."""
    store = Store.open(store_path)
    tables, reports = {}, []
    for split in splits:
        table = store.samples(split)
        labelled = sum(1 for w in table.column("relevant_windows").to_pylist() if w)
        if not labelled:
            raise AmrError(f"{store.root}: split {split!r} has no labelled query to mine for")
        spans = mine_split(table, store.video_features, store.meta.clip_length, config)
        counts = [len(s) for s in spans.to_pylist()]
        tables[split] = set_wrong_spans(table, spans)
        reports.append(MinedSplit(split, labelled, sum(c > 0 for c in counts), sum(counts)))
    with building_directory(store.root) as staging:
        for path in store.root.glob("*.parquet"):
            if path.name not in {samples_file(s) for s in splits}:
                _link_or_copy(path, staging / path.name)
        for split, table in tables.items():
            pq.write_table(table, staging / samples_file(split), compression="zstd")
        meta = replace(
            store.meta,
            wrong_spans={**store.meta.wrong_spans, **{s: config.to_json() for s in splits}},
        )
        meta = replace(meta, fingerprint=compute_fingerprint(staging))
        meta.write(staging)
    return meta, reports


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another filesystem, or links not allowed: copy
        shutil.copyfile(source, target)
