"""Difficulty: named components, combined by their ranks across the whole corpus.

Each component is turned into a hardness rank in [0, 1] (0 = the easiest value in the corpus,
ties share their average rank), and `difficulty` is the weighted mean of those ranks. Ranks make
components of different units comparable and the result insensitive to outliers. Rows are then
ordered by difficulty (ties by sample id) and cut into `bins` equal-count curriculum bins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from amr import ragged
from amr.augment.rows import Rows, first_of_owner
from amr.augment.sources import SplitIndex
from amr.corpus.schema import COMPONENTS


@dataclass(frozen=True)
class Ranking:
    difficulty: np.ndarray  # float32 per sample id
    order: np.ndarray  # sample ids, easiest first
    curriculum_bin: np.ndarray  # int16 per sample id


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks; tied values share the mean of their positions."""
    n = len(values)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if n else np.zeros(0, int)
    ends = np.r_[starts[1:], n]
    group = np.repeat(np.arange(len(starts)), ends - starts)
    ranks = np.empty(n)
    ranks[order] = ((starts + ends - 1) / 2 + 1)[group]
    return ranks


def hardness_ranks(values: np.ndarray, direction: str) -> np.ndarray:
    """Average ranks of hardness, scaled to [0, 1] (all 0 when every value is the same)."""
    hardness = -values if direction == "lower" else values
    ranks = average_ranks(hardness)
    if len(ranks) == 0 or ranks.max() == ranks.min():
        return np.zeros(len(values))
    return (ranks - ranks.min()) / (ranks.max() - ranks.min())


def rank_difficulty(
    components: dict[str, np.ndarray], weights: dict[str, float], bins: int
) -> Ranking:
    total = sum(weights.values())
    n = len(next(iter(components.values())))
    score = np.zeros(n)
    for name, direction in COMPONENTS.items():
        if weights.get(name, 0.0):
            score += weights[name] * hardness_ranks(
                np.asarray(components[name], np.float64), direction
            )
    difficulty = (score / total).astype(np.float32)
    order = np.lexsort((np.arange(n), difficulty))
    curriculum_bin = np.empty(n, dtype=np.int16)
    curriculum_bin[order] = (np.arange(n) * bins // max(n, 1)).astype(np.int16)
    return Ranking(difficulty, order, curriculum_bin)


# -- the boundary_contrast component, from the composed sketches ---------------------------------


def boundary_contrast(rows: Rows, sketches: np.ndarray, sketch_start: np.ndarray) -> np.ndarray:
    """Per row, the mean over labeled boundaries inside the video of 1 - cos(clip inside,
    clip outside) on the composed sketches; 1.0 (no boundary to find) when there is none.
    `sketch_start[r]`: where split row r's video starts in `sketches`."""
    n = len(rows.ids)
    owner = ragged.owners(rows.label_counts)
    first, stop = rows.label_start, rows.label_stop
    at_start = first > 0
    at_end = stop < rows.n_clips[owner]
    query_owner = np.concatenate([owner[at_start], owner[at_end]])
    inside = np.concatenate([first[at_start], stop[at_end] - 1])
    outside = np.concatenate([first[at_start] - 1, stop[at_end]])
    both = composed_sketch(
        rows,
        sketches,
        sketch_start,
        np.concatenate([query_owner, query_owner]),
        np.concatenate([inside, outside]),
    )
    a, b = both[: len(inside)], both[len(inside) :]
    cos = (a * b).sum(1) / np.maximum(np.sqrt((a * a).sum(1) * (b * b).sum(1)), 1e-12)
    sums = ragged.group_sums(query_owner, cos.astype(np.float64), n)
    found = np.bincount(query_owner, minlength=n)
    return np.where(found > 0, 1.0 - sums / np.maximum(found, 1), 1.0)


def composed_sketch(
    rows: Rows, sketches: np.ndarray, sketch_start: np.ndarray, owner: np.ndarray, clip: np.ndarray
) -> np.ndarray:
    """The sketch of canvas clip `clip` of row `owner` after all pastes. The host paste
    (each row's first) is the base; the later pastes of a generated row never overlap."""
    base = sketches[sketch_start[rows.host[owner]] + clip]
    pastes = rows.pastes
    later = ~first_of_owner(pastes)
    element = np.repeat(np.flatnonzero(later), pastes.clip_counts[later])
    position = ragged.ranges(pastes.target_start[later], pastes.clip_counts[later])
    clip_index = ragged.ranges(
        ragged.offsets_of(pastes.clip_counts)[:-1][later], pastes.clip_counts[later]
    )
    key = pastes.owner[element] * (1 << 32) + position  # sorted: rows, then target order
    wanted = owner * (1 << 32) + clip
    hit = np.minimum(np.searchsorted(key, wanted), max(len(key) - 1, 0))
    covered = np.flatnonzero(key[hit] == wanted) if len(key) else np.zeros(0, np.int64)
    element, clip_index = element[hit[covered]], clip_index[hit[covered]]
    pasted = sketches[sketch_start[pastes.video_row[element]] + pastes.clips[clip_index]]
    weight = pastes.alpha[clip_index][:, None]
    mixed = weight * pasted
    mixed += (1.0 - weight) * base[covered]
    base[covered] = np.where(pastes.faded[element][:, None], mixed, pasted)
    return base


def wrong_span_similarity(
    split: SplitIndex, sketches: np.ndarray, sketch_start: np.ndarray
) -> np.ndarray:
    """float64 per wrong span of the split: the cosine of its mean clip sketch to the mean clip
    sketch of its own sample's windows (what a same-video negative's negative_similarity is)."""
    n_wrong = np.diff(split.wrong_offsets)
    if not len(split.wrong_first):
        return np.zeros(0)
    wrong_row = np.repeat(np.arange(len(split)), n_wrong)
    spans = _range_sums(sketches, sketch_start[wrong_row] + split.wrong_first, split.wrong_stop
                        - split.wrong_first)  # fmt: skip
    window_row = np.repeat(np.arange(len(split)), split.n_windows)
    window_sums = _range_sums(
        sketches, sketch_start[window_row] + split.window_first,
        split.window_stop - split.window_first,
    )  # fmt: skip
    moments = np.zeros((len(split), sketches.shape[1]))
    np.add.at(moments, window_row, window_sums)
    moment = moments[wrong_row]
    norms = np.linalg.norm(spans, axis=1) * np.linalg.norm(moment, axis=1)
    return (spans * moment).sum(1) / np.maximum(norms, 1e-12)


def _range_sums(rows: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(len(starts), dim) float64 sums of rows[start : start + length] (lengths ≥ 1)."""
    gathered = rows[ragged.ranges(starts, lengths)].astype(np.float64)
    return np.add.reduceat(gathered, ragged.offsets_of(lengths)[:-1], axis=0)
