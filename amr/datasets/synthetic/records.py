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
    twins: list[list[float]] = field(default_factory=list)
    """[start, end] seconds of the query's hidden look-alike twin events. Never written to the
    store: only diagnostics read them (how often mined wrong spans find them)."""
    order: int = 0
    """Position in its split's samples table."""


@dataclass
class SynthVideo:
    vid: str
    features: np.ndarray
    queries: list[SynthQuery] = field(default_factory=list)
