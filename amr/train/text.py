"""Query token features for training and prediction, held in one float16 array."""

from __future__ import annotations

import numpy as np

from amr.datasets.schema import arrow_to_matrices
from amr.datasets.store import Store
from amr.errors import AmrError
from amr.ragged import offsets_of, padded, ranges

MAX_WORDS = 32  # tokens per query the model reads (the rest are cut)


class TextBank:
    """Every query's token features in one float16 array (shared by forked workers)."""

    def __init__(self, flat: np.ndarray, offsets: np.ndarray, qids: np.ndarray):
        order = np.argsort(qids, kind="stable")
        self.flat, self.offsets = flat, offsets
        self._sorted_qids, self._order = qids[order], order

    @classmethod
    def from_store(cls, store: Store, qids: np.ndarray, max_words: int) -> TextBank:
        wanted = np.unique(np.asarray(qids, dtype=np.int64))
        pieces, counts, keys = [], [], []
        for group in store.texts.iter_row_groups():
            group_qids = group.column("qid").combine_chunks().to_numpy()
            keep = np.flatnonzero(np.isin(group_qids, wanted))
            if not len(keep):
                continue
            rows, offsets = arrow_to_matrices(group.column("features"), store.meta.text_dim)
            lengths = np.minimum(np.diff(offsets)[keep], max_words)
            pieces.append(rows[ranges(offsets[keep], lengths)])
            counts.append(lengths)
            keys.append(group_qids[keep])
        found = np.concatenate(keys) if keys else np.zeros(0, np.int64)
        missing = np.setdiff1d(wanted, found)
        if len(missing):
            raise AmrError(f"{store.root}: no text features for query {int(missing[0])}")
        flat = np.concatenate(pieces) if pieces else np.zeros((0, store.meta.text_dim), np.float16)
        return cls(flat, offsets_of(np.concatenate(counts)), found)

    def gather(self, qids: np.ndarray, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(B, T, dim) float16 token features, zero-padded to `width` tokens (default: the
        longest query's), and the (B, T) mask."""
        index = self._order[np.searchsorted(self._sorted_qids, qids)]
        lengths = np.diff(self.offsets)[index]
        return padded(self.flat[ranges(self.offsets[index], lengths)], lengths, width=width)
