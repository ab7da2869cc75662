"""Hard semantic negatives: for each query, the nearest other queries of the split.

Their annotated moments, pasted unlabeled next to the real one, look like an answer but are not:
the model has to read the query, not the keyword (the paper's third problem: weak
fine-grained discrimination).
"""

from __future__ import annotations

import numpy as np


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
