"""Arrow schemas of the store's Parquet files, and zero-copy conversion of feature columns.

A feature matrix (rows × dim, float16) is stored as ``list<fixed_size_list<halffloat, dim>>``:
DuckDB, pandas and polars read it as numbers, and pyarrow hands the whole column of a row group
to numpy as one contiguous (total_rows, dim) array plus row offsets — no Python loop per sample.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

SAMPLES_SCHEMA = pa.schema(
    [
        pa.field("qid", pa.int64(), nullable=False),
        pa.field("query", pa.string(), nullable=False),
        pa.field("vid", pa.string(), nullable=False),
        pa.field("duration", pa.float32(), nullable=False),
        pa.field("relevant_windows", pa.list_(pa.list_(pa.float32()))),
        pa.field("relevant_clip_ids", pa.list_(pa.int32())),
        pa.field("saliency_scores", pa.list_(pa.list_(pa.int8()))),
        # [start, end] seconds of spans of the same video that look like the moment but are
        # not it (from the annotation file, or mined: datasets/wrong_spans.py)
        pa.field("wrong_spans", pa.list_(pa.list_(pa.float32()))),
    ]
)


def matrix_type(dim: int) -> pa.DataType:
    return pa.list_(pa.list_(pa.float16(), dim))


def video_features_schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("vid", pa.string(), nullable=False),
            pa.field("n_clips", pa.int32(), nullable=False),
            pa.field("features", matrix_type(dim), nullable=False),
        ]
    )


def text_features_schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("qid", pa.int64(), nullable=False),
            pa.field("n_tokens", pa.int32(), nullable=False),
            pa.field("features", matrix_type(dim), nullable=False),
        ]
    )


def matrices_to_arrow(matrices: list[np.ndarray], dim: int) -> pa.ListArray:
    """Pack 2-D float16 matrices of equal width into one list<fixed_size_list> array."""
    lengths = np.fromiter((m.shape[0] for m in matrices), dtype=np.int32, count=len(matrices))
    offsets = np.zeros(len(matrices) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.concatenate([np.asarray(m, dtype=np.float16).reshape(-1) for m in matrices])
    rows = pa.FixedSizeListArray.from_arrays(pa.array(flat, type=pa.float16()), dim)
    return pa.ListArray.from_arrays(pa.array(offsets), rows)


def arrow_to_matrices(
    column: pa.ChunkedArray | pa.Array, dim: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return (rows, offsets): rows is (total_rows, dim) float16, matrix i is rows[o[i]:o[i+1]].

    Zero-copy when the column is a single chunk (as in one Parquet row group).
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    offsets = column.offsets.to_numpy().astype(np.int64)
    offsets -= offsets[0]
    values = column.flatten().flatten().to_numpy(zero_copy_only=False)
    return values.reshape(-1, dim), offsets
