"""Hard negatives: unlabelled segments pasted next to the moment that look like an answer but
are not, so the model has to read the query, not the keyword (the paper's third problem: weak
fine-grained discrimination). Two sources:

- same-video (the reference's, default): the donor video's own wrong spans (look-alike spans
  the store keeps per query, datasets/wrong_spans.py);
- nearest-query: a window of one of the donor's nearest other queries of the split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from amr import ragged
from amr.augment.config import AugmentConfig
from amr.augment.sources import SplitIndex
from amr.augment.streams import NEGATIVE_COUNT, NEGATIVE_SLOT, NEGATIVE_WINDOW
from amr.draws import Draws


def nearest_queries(
    pooled: np.ndarray,
    queries: list[str],
    has_window: np.ndarray,
    k: int,
    max_similarity: float,
    block_rows: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (neighbours, similarity), both (n, k): the k most similar other queries, best first.

    `pooled` rows are L2-normalised, so a block's similarities are one matrix product; the split
    is scanned in blocks of `block_rows` queries to keep memory at block_rows × n. Excluded: the
    query itself, queries with the same text, queries above `max_similarity` (likely paraphrases,
    i.e. false negatives) and queries without a window. Missing neighbours are -1 with
    similarity -inf.
    """
    n = len(pooled)
    k = min(k, max(n - 1, 0))
    normalised = np.asarray([" ".join(q.lower().split()) for q in queries], dtype=object)
    text_id = np.unique(normalised, return_inverse=True)[1]
    neighbours = np.full((n, k), -1, dtype=np.int64)
    similarity = np.full((n, k), -np.inf, dtype=np.float32)
    if k == 0:
        return neighbours, similarity
    for start in range(0, n, block_rows):
        stop = min(start + block_rows, n)
        sims = pooled[start:stop] @ pooled.T
        rows = np.arange(stop - start)
        sims[rows, rows + start] = -np.inf
        sims[text_id[start:stop, None] == text_id[None, :]] = -np.inf
        sims[sims > max_similarity] = -np.inf
        sims[:, ~has_window] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        top_sims = np.take_along_axis(sims, top, axis=1)
        # Best first; ties broken by index so the result does not depend on argpartition.
        order = np.lexsort((top, -top_sims), axis=1)
        top = np.take_along_axis(top, order, axis=1)
        top_sims = np.take_along_axis(top_sims, order, axis=1)
        top[~np.isfinite(top_sims)] = -1
        neighbours[start:stop] = top
        similarity[start:stop] = top_sims
    return neighbours, similarity


@dataclass
class Negatives:
    """Unlabelled segments to paste, grouped by the sample (row of a batch) that gets them."""

    owner: np.ndarray  # int64 row
    first: np.ndarray  # int64 first clip of the segment in its source video
    stop: np.ndarray  # int64 clip after its last
    source_row: np.ndarray  # int64 split row whose video the segment comes from
    similarity: np.ndarray  # float64: the negative_similarity component's input


def wrong_span_negatives(
    split: SplitIndex,
    draws: Draws,
    config: AugmentConfig,
    wrong_similarity: np.ndarray,
    ids: np.ndarray,
    donor: np.ndarray,
    carries: np.ndarray,
) -> Negatives:
    """1..negatives_per_sample of the donor's wrong spans for each row that `carries`."""
    available = np.where(carries, np.diff(split.wrong_offsets)[donor], 0)
    candidate = ragged.ranges(split.wrong_offsets[donor], available)  # global span index
    candidate_owner = ragged.owners(available)
    keys = draws.uniform(ids[candidate_owner], NEGATIVE_SLOT, ragged.positions(available))
    wanted = 1 + draws.integers(ids, NEGATIVE_COUNT, config.negatives_per_sample)
    chosen = ragged.ranks(candidate_owner, keys, len(ids)) < wanted[candidate_owner]
    span, owner = candidate[chosen], candidate_owner[chosen]
    return Negatives(
        owner=owner,
        first=split.wrong_first[span],
        stop=split.wrong_stop[span],
        source_row=donor[owner],
        similarity=wrong_similarity[span],
    )


def nearest_query_negatives(
    split: SplitIndex,
    draws: Draws,
    config: AugmentConfig,
    neighbours: np.ndarray,
    neighbour_similarity: np.ndarray,
    ids: np.ndarray,
    donor: np.ndarray,
    carries: np.ndarray,
) -> Negatives:
    """A window of 1..negatives_per_sample of the donor's nearest queries per row that `carries`."""
    slots = neighbours.shape[1]
    if slots == 0 or not carries.any():
        empty = np.zeros(0, np.int64)
        return Negatives(empty, empty, empty, empty, np.zeros(0))
    valid = neighbours[donor] >= 0
    wanted = 1 + draws.integers(ids, NEGATIVE_COUNT, config.negatives_per_sample)
    count = np.where(carries, np.minimum(wanted, valid.sum(1)), 0)
    keys = draws.uniform(ids[:, None], NEGATIVE_SLOT, np.arange(slots)[None, :])
    keys[~valid] = 2.0  # never chosen before a valid slot
    chosen = np.argsort(keys, axis=1, kind="stable")
    take = np.arange(slots)[None, :] < count[:, None]
    owner = np.nonzero(take)[0]
    slot = chosen[take]
    query = neighbours[donor[owner], slot]
    which = draws.integers(
        ids[owner], NEGATIVE_WINDOW, split.n_windows[query], ragged.positions(count)
    )
    window = split.window_offsets[query] + which
    return Negatives(
        owner=owner,
        first=split.window_first[window],
        stop=split.window_stop[window],
        source_row=query,
        similarity=neighbour_similarity[donor[owner], slot].astype(np.float64),
    )
