"""Generated rows as the corpus's Arrow columns (all but difficulty, curriculum_bin and
features, which the run adds once the whole corpus is ranked)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from amr import ragged
from amr.augment.rows import Pastes, Rows, take_rows
from amr.augment.sources import SplitIndex
from amr.corpus.kinds import KINDS
from amr.corpus.schema import COMPONENTS, PASTE_TYPE, corpus_schema

ORIGINAL = KINDS.index("original")


class ArrowEncoder:
    """Turns the rows of one split into Arrow tables; holds the split's strings as Arrow arrays
    so that every table takes them instead of re-encoding them."""

    def __init__(self, split: SplitIndex):
        self.split = split
        self._vid_strings = pa.array(split.vids, pa.string())
        self._query_strings = pa.array(split.queries, pa.string())
        self._kind_strings = pa.array(KINDS, pa.string())
        self._schema = corpus_schema(None)

    def table(self, rows: Rows) -> pa.Table:
        """The corpus columns of `rows` (all but difficulty, curriculum_bin and features)."""
        split = self.split
        schema = self._schema
        n = len(rows.ids)
        originals = np.flatnonzero(rows.kind == ORIGINAL)
        augmented = np.flatnonzero(rows.kind != ORIGINAL)
        order = np.argsort(np.concatenate([originals, augmented]))
        stored = split.table.take(pa.array(rows.ids[originals]))
        made_rows = take_rows(rows, augmented)
        label_columns = {}
        for name in ("relevant_windows", "relevant_clip_ids", "saliency_scores"):
            from_store = stored.column(name).combine_chunks().cast(schema.field(name).type)
            made = _augmented_labels(made_rows, name, split.clip_length)
            label_columns[name] = pa.concat_arrays([from_store, made]).take(pa.array(order))
        negative = _windows_array(
            rows.negative_counts,
            rows.negative_start,
            rows.negative_stop,
            rows.duration,
            split.clip_length,
        )
        columns = {
            "sample_id": pa.array(rows.ids, pa.int64()),
            "kind": self._kind_strings.take(pa.array(rows.kind)),
            "qid": pa.array(split.qids[rows.source], pa.int64()),
            "query": self._query_strings.take(pa.array(rows.source)),
            "host_vid": self._vid_strings.take(pa.array(rows.host)),
            "duration": pa.array(rows.duration, pa.float32()),
            "n_clips": pa.array(rows.n_clips, pa.int32()),
            **label_columns,
            "negative_windows": negative,
            "boundary_sharpness": pa.array(rows.sharpness, pa.int8()),
        }
        for i, name in enumerate(COMPONENTS):
            columns[name] = pa.array(rows.components[:, i].astype(np.float32))
        columns["recipe"] = self.recipe_array(rows.pastes, n)
        fields = [f for f in schema if f.name in columns]
        return pa.Table.from_arrays([columns[f.name] for f in fields], schema=pa.schema(fields))

    def recipe_array(self, pastes: Pastes, n_rows: int) -> pa.ListArray:
        clip_offsets = ragged.offsets_of(pastes.clip_counts).astype(np.int32)
        alpha_counts = np.where(pastes.faded, pastes.clip_counts, 0)
        alpha_values = pastes.alpha[np.repeat(pastes.faded, pastes.clip_counts)]
        struct = pa.StructArray.from_arrays(
            [
                self._vid_strings.take(pa.array(pastes.video_row)),
                pa.ListArray.from_arrays(
                    pa.array(clip_offsets), pa.array(pastes.clips.astype(np.int32))
                ),
                pa.array(pastes.target_start.astype(np.int32)),
                pa.ListArray.from_arrays(
                    pa.array(ragged.offsets_of(alpha_counts).astype(np.int32)),
                    pa.array(alpha_values, pa.float32()),
                    mask=pa.array(~pastes.faded),
                ),
            ],
            fields=list(PASTE_TYPE),
        )
        recipe_offsets = ragged.offsets_of(np.bincount(pastes.owner, minlength=n_rows))
        return pa.ListArray.from_arrays(pa.array(recipe_offsets.astype(np.int32)), struct)


def _windows_array(
    counts: np.ndarray,
    start: np.ndarray,
    stop: np.ndarray,
    duration: np.ndarray,
    clip_length: float,
) -> pa.ListArray:
    """list<list<float32>> windows in seconds: [start, min(stop, duration)] clips × clip_length."""
    owner = ragged.owners(counts)
    seconds = np.stack(
        [start * clip_length, np.minimum(stop * clip_length, duration[owner].astype(np.float64))],
        axis=1,
    ).astype(np.float32)
    inner = pa.ListArray.from_arrays(
        pa.array(np.arange(0, 2 * len(start) + 1, 2, dtype=np.int32)), pa.array(seconds.ravel())
    )
    return pa.ListArray.from_arrays(pa.array(ragged.offsets_of(counts).astype(np.int32)), inner)


def _augmented_labels(rows: Rows, name: str, clip_length: float) -> pa.Array:
    """One label column of generated rows."""
    if name == "relevant_windows":
        return _windows_array(
            rows.label_counts, rows.label_start, rows.label_stop, rows.duration, clip_length
        )
    clips = rows.label_stop - rows.label_start
    per_row = np.bincount(
        ragged.owners(rows.label_counts), weights=clips, minlength=len(rows.ids)
    ).astype(np.int64)
    if name == "relevant_clip_ids":
        return pa.ListArray.from_arrays(
            pa.array(ragged.offsets_of(per_row).astype(np.int32)),
            pa.array(ragged.ranges(rows.label_start, clips).astype(np.int32)),
        )
    scores = rows.label_saliency
    annotators = scores.shape[1]
    if annotators == 0:  # no saliency in this split: empty lists
        per_row = np.zeros(len(rows.ids), np.int64)
        scores = scores[:0]
    inner = pa.ListArray.from_arrays(
        pa.array(np.arange(len(scores) + 1, dtype=np.int32) * annotators),
        pa.array(scores.ravel(), pa.int8()),
    )
    return pa.ListArray.from_arrays(pa.array(ragged.offsets_of(per_row).astype(np.int32)), inner)
