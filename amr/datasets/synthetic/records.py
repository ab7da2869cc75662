"""What a synthetic generator hands to the store writer."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SynthQuery:
    split: str
    qid: int
    query: str
    words: list[str]
    vid: str
    duration: float
    relevant_windows: list[list[float]]
    relevant_clip_ids: list[int]
    saliency_scores: list[list[int]]
    wrong_spans: list[list[float]] = field(default_factory=list)  # mined when the store is made
    true_windows: list[list[float]] = field(default_factory=list)
    """[start, end] seconds of the event's true extent (the label is off it by the world's
    label_jitter); written to the store's truth.parquet, never to the samples."""
    twins: list[list[float]] = field(default_factory=list)
    """[start, end] seconds of the query's hidden look-alike twin events. Never written to the
    samples: truth.parquet keeps them for diagnostics and for reports by subset."""
    order: int = 0
    """Position in its split's samples table."""


@dataclass
class SynthVideo:
    vid: str
    features: np.ndarray
    queries: list[SynthQuery] = field(default_factory=list)
