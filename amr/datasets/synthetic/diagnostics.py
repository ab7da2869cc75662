"""How hard is a store? Label-aware feature statistics, used by tests, `make bench` and docs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from amr.datasets.store import Store


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
