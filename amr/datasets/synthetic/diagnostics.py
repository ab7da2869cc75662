"""How hard is a store? Label-aware feature statistics, used by tests, `make bench` and docs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from amr.datasets.store import Store
from amr.datasets.wrong_spans import window_clips


@dataclass(frozen=True)
class MomentContrast:
    coherence: float
    """Mean cosine between a moment's clips and the moment's mean feature."""
    best_outside: float
    """Mean, over queries, of the highest cosine of any clip outside the moment to that mean."""
    confusable: float
    """Share of queries where some outside clip is closer to the moment's mean than the
    moment's own clips are on average: where a lookalike (e.g. a sibling-verb twin) exists."""


def moment_contrast(store: Store, split: str) -> MomentContrast:
    coherence, best_outside = [], []
    for row in store.samples(split).select(["vid", "relevant_clip_ids"]).to_pylist():
        features = store.video_features(row["vid"]).astype(np.float32)
        inside = np.zeros(len(features), dtype=bool)
        inside[[c for c in row["relevant_clip_ids"] if c < len(features)]] = True
        if not inside.any() or inside.all():
            continue
        centre = features[inside].mean(axis=0)
        similarity = features @ (centre / np.linalg.norm(centre))
        coherence.append(similarity[inside].mean())
        best_outside.append(similarity[~inside].max())
    coherence_arr, outside_arr = np.asarray(coherence), np.asarray(best_outside)
    return MomentContrast(
        coherence=float(coherence_arr.mean()),
        best_outside=float(outside_arr.mean()),
        confusable=float((outside_arr > coherence_arr).mean()),
    )


def twin_hits(store: Store, twins: dict[int, list[list[float]]], seed: int = 0) -> dict[str, Any]:
    """How often the mined wrong spans land on the world's hidden look-alike twins: of the
    labelled queries that have a twin, the share with a wrong span overlapping it, against the
    share that random spans of the same lengths, also off every window, would reach."""
    rng = np.random.default_rng(seed)
    clip = store.meta.clip_length
    with_twin = hits = chance = 0
    for split in store.splits:
        for row in store.samples(split).to_pylist():
            twin = twins.get(row["qid"], [])
            if not twin or not row["relevant_windows"]:
                continue
            with_twin += 1
            hits += any(_overlaps(span, t) for span in row["wrong_spans"] for t in twin)
            n_clips = store.n_clips(row["vid"])
            free = np.ones(n_clips, bool)
            for first, stop in window_clips(row["relevant_windows"], clip):
                free[first:stop] = False
            random_spans = []
            for start, end in row["wrong_spans"]:
                length = max(1, round((end - start) / clip))
                starts = [s for s in range(n_clips - length + 1) if free[s : s + length].all()]
                if starts:
                    s = int(rng.choice(starts))
                    random_spans.append([s * clip, (s + length) * clip])
            chance += any(_overlaps(span, t) for span in random_spans for t in twin)
    return {
        "queries_with_twin": with_twin,
        "mined_on_twin": round(hits / max(with_twin, 1), 4),
        "random_on_twin": round(chance / max(with_twin, 1), 4),
    }


def _overlaps(a: list[float], b: list[float]) -> bool:
    return min(a[1], b[1]) - max(a[0], b[0]) > 1e-6
