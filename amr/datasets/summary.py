"""Numbers that describe a store: what `amr datasets info` shows."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amr.datasets.store import Store

# QVHighlights' moment-length buckets (seconds): short <= 10 < middle <= 30 < long.
LENGTH_BUCKETS = (("short", 0.0, 10.0), ("middle", 10.0, 30.0), ("long", 30.0, float("inf")))


@dataclass(frozen=True)
class Stats:
    mean: float
    median: float
    min: float
    max: float

    @classmethod
    def of(cls, values: np.ndarray) -> Stats | None:
        if values.size == 0:
            return None
        return cls(
            float(values.mean()), float(np.median(values)), float(values.min()), float(values.max())
        )


@dataclass(frozen=True)
class SplitSummary:
    name: str
    queries: int
    videos: int
    labeled: bool
    duration: Stats | None
    moment_length: Stats | None
    length_buckets: dict[str, int] = field(default_factory=dict)
    windows_per_query: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class StoreSummary:
    root: str
    name: str
    clip_length: float
    video_dim: int
    text_dim: int
    fingerprint: str
    videos: int
    queries_with_text: int
    clips_per_video: Stats | None
    tokens_per_query: Stats | None
    splits: list[SplitSummary]


def _windows(table: pa.Table) -> np.ndarray:
    flat = pc.list_flatten(pc.list_flatten(table["relevant_windows"]))
    return np.asarray(flat.to_numpy(zero_copy_only=False), dtype=np.float64).reshape(-1, 2)


def summarize_split(store: Store, split: str) -> SplitSummary:
    table = store.samples(split)
    windows = _windows(table)
    lengths = windows[:, 1] - windows[:, 0]
    per_query = pc.list_value_length(table["relevant_windows"]).to_numpy(zero_copy_only=False)
    info = store.meta.splits[split]
    return SplitSummary(
        name=split,
        queries=table.num_rows,
        videos=info.videos,
        labeled=info.labeled,
        duration=Stats.of(np.asarray(table["duration"].to_numpy(), dtype=np.float64)),
        moment_length=Stats.of(lengths),
        length_buckets={
            name: int(((lengths > low) & (lengths <= high)).sum())
            for name, low, high in LENGTH_BUCKETS
        },
        windows_per_query={
            "0": int((per_query == 0).sum()),
            "1": int((per_query == 1).sum()),
            "2": int((per_query == 2).sum()),
            "3+": int((per_query >= 3).sum()),
        },
    )


def summarize_store(store: Store) -> StoreSummary:
    meta = store.meta
    return StoreSummary(
        root=str(store.root),
        name=meta.name,
        clip_length=meta.clip_length,
        video_dim=meta.video_dim,
        text_dim=meta.text_dim,
        fingerprint=meta.fingerprint,
        videos=len(store.videos),
        queries_with_text=len(store.texts),
        clips_per_video=Stats.of(store.videos.counts.astype(np.float64)),
        tokens_per_query=Stats.of(store.texts.counts.astype(np.float64)),
        splits=[summarize_split(store, split) for split in store.splits],
    )
