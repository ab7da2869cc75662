"""The corpus format: manifest.json + part-*.parquet, readable without amr (docs/augment.md).

::

    CORPUS/manifest.json         format, source store fingerprint, config, counts, parts + checksums
    CORPUS/part-00000.parquet    rows in difficulty order (part 0 holds the easiest)
    CORPUS/README.md             dataset card

`features` (format 3) is ``binary``: one value per row holding the row's (n_clips, dim) float16
matrix, row-major, little-endian. pandas, DuckDB, pyarrow and Hugging Face `datasets` read it with
their default settings (as bytes), and pyarrow writes it at disk speed and reads it at GB/s, where
a typed ``list<fixed_size_list<float16>>`` column tops out near 150 MB/s (make bench). In numpy:
``np.frombuffer(row["features"], "<f2").reshape(row["n_clips"], dim)``.

Format 2 stored one ``fixed_size_binary(2 × dim)`` value per clip (``list<fixed_size_binary>``),
which pandas cannot convert; amr still reads it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pyarrow as pa

from amr.corpus.recipe import Paste, Recipe
from amr.datasets.schema import SAMPLES_SCHEMA
from amr.errors import AmrError

CORPUS_FORMAT = "amr-corpus"
CORPUS_FORMAT_VERSION = 3  # 2: part checksums name their algorithm; 3: `features` is binary
READABLE_FORMAT_VERSIONS = (2, 3)
MANIFEST = "manifest.json"
PART_NAME = re.compile(r"part-(\d{5})\.parquet")
# Named difficulty components (a float32 column each), with the direction in which each makes a
# sample harder.
COMPONENTS = {
    "length_ratio": "lower",  # moment length / video length: short moments are harder to find
    "compression": "higher",  # |log2(kept / original clips)| of the resampled windows
    "n_windows": "higher",  # several ground-truth windows per query
    "negative_similarity": "higher",  # cosine of the query to the pasted distractors' queries
    "boundary_contrast": "lower",  # 1 - cosine across each labeled boundary; soft edges are hard
}

PASTE_TYPE = pa.struct(
    [
        pa.field("vid", pa.string(), nullable=False),
        pa.field("clips", pa.list_(pa.int32()), nullable=False),
        pa.field("target_start", pa.int32(), nullable=False),
        pa.field("alpha", pa.list_(pa.float32())),  # null = a hard paste
    ]
)


def part_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def feature_layout(video_dim: int) -> dict[str, Any]:
    """How the `features` column stores a row (in the schema metadata and the manifest)."""
    return {
        "dtype": "float16",
        "byte_order": "little",
        "dim": video_dim,
        "shape": ["n_clips", video_dim],
        "per": "row",
    }


def features_entry(video_dim: int) -> dict[str, Any]:
    return {"column": "features", **feature_layout(video_dim)}


def features_type(video_dim: int, format_version: int = CORPUS_FORMAT_VERSION) -> pa.DataType:
    return pa.binary() if format_version >= 3 else pa.list_(pa.binary(2 * video_dim))


def corpus_schema(video_dim: int | None, format_version: int = CORPUS_FORMAT_VERSION) -> pa.Schema:
    """The columns of every part; `features` only when the corpus is materialised."""
    fields = [
        pa.field("sample_id", pa.int64(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        SAMPLES_SCHEMA.field("qid"),
        SAMPLES_SCHEMA.field("query"),
        pa.field("host_vid", pa.string(), nullable=False),
        SAMPLES_SCHEMA.field("duration"),
        pa.field("n_clips", pa.int32(), nullable=False),
        # the label columns have the store's types, so a row reads like a store sample
        SAMPLES_SCHEMA.field("relevant_windows"),
        SAMPLES_SCHEMA.field("relevant_clip_ids"),
        SAMPLES_SCHEMA.field("saliency_scores"),
        pa.field("negative_windows", pa.list_(pa.list_(pa.float32()))),
        pa.field("boundary_sharpness", pa.int8(), nullable=False),
        *(pa.field(name, pa.float32(), nullable=False) for name in COMPONENTS),
        pa.field("difficulty", pa.float32(), nullable=False),
        pa.field("curriculum_bin", pa.int16(), nullable=False),
        pa.field("recipe", pa.list_(PASTE_TYPE), nullable=False),
    ]
    metadata = {}
    if video_dim is not None:
        kind = features_type(video_dim, format_version)
        fields.append(pa.field("features", kind, nullable=False))
        if format_version >= 3:
            metadata[b"amr.features"] = json.dumps(feature_layout(video_dim)).encode()
        else:
            layout = {"dtype": "float16", "byte_order": "little", "dim": video_dim, "per": "clip"}
            metadata[b"amr.features"] = json.dumps(layout).encode()
    return pa.schema(fields, metadata=metadata)


def recipes_from_arrow(column: pa.ChunkedArray | pa.Array) -> list[Recipe]:
    """Recipes of a column, as Paste lists (numpy views; one pass, no per-value Python)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    offsets = column.offsets.to_numpy()
    vid, clips, targets, alpha = column.values.flatten()
    vids = vid.to_pylist()
    clip_offsets = clips.offsets.to_numpy()
    clip_values = clips.values.to_numpy(zero_copy_only=False)
    targets = targets.to_numpy(zero_copy_only=False)
    alpha_valid = alpha.is_valid().to_numpy(zero_copy_only=False)
    alpha_offsets = alpha.offsets.to_numpy()
    alpha_values = alpha.values.to_numpy(zero_copy_only=False)
    pastes = [
        Paste(
            vids[i],
            clip_values[clip_offsets[i] : clip_offsets[i + 1]],
            int(targets[i]),
            alpha_values[alpha_offsets[i] : alpha_offsets[i + 1]] if alpha_valid[i] else None,
        )
        for i in range(len(vids))
    ]
    return [pastes[offsets[r] : offsets[r + 1]] for r in range(len(column))]


def features_to_arrow(flat: np.ndarray, offsets: np.ndarray) -> pa.BinaryArray:
    """(total_clips, dim) float16 + row offsets → one binary value per row, without a copy."""
    flat = np.ascontiguousarray(flat, dtype="<f2")
    row_bytes = np.asarray(offsets, dtype=np.int64) * (2 * flat.shape[1])
    if len(row_bytes) and row_bytes[-1] >= 2**31:
        raise AmrError(f"{row_bytes[-1]:,} bytes of features in one row group; use fewer rows")
    return pa.BinaryArray.from_buffers(
        pa.binary(),
        len(row_bytes) - 1,
        [None, pa.py_buffer(row_bytes.astype(np.int32)), pa.py_buffer(flat)],
    )


def features_from_arrow(
    column: pa.ChunkedArray | pa.Array, dim: int, where: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, offsets) as in the store: rows is (total_clips, dim) float16, zero-copy. Reads
    both layouts: binary (format 3) and list<fixed_size_binary> (format 2)."""
    if isinstance(column, pa.ChunkedArray):  # combine_chunks would copy even a single chunk
        column = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    width = 2 * dim
    if pa.types.is_list(column.type):  # format 2: one fixed_size_binary value per clip
        offsets = column.offsets.to_numpy().astype(np.int64)
        values = column.values
        buffer = values.buffers()[1]
        start = values.offset * width
        flat = np.frombuffer(buffer, dtype="<f2", count=len(values) * dim, offset=start)
        return flat.reshape(-1, dim), offsets - offsets[0]
    if len(column) == 0:
        return np.empty((0, dim), dtype="<f2"), np.zeros(1, dtype=np.int64)
    raw = np.frombuffer(
        column.buffers()[1], dtype=np.int32, count=len(column) + 1, offset=4 * column.offset
    )
    first = int(raw[0])
    byte_offsets = raw.astype(np.int64) - first
    ragged = np.flatnonzero(byte_offsets % width)
    if len(ragged):
        raise AmrError(
            f"{where}row {int(ragged[0]) - 1}: features are not whole {dim}-d float16 clips"
        )
    count = int(byte_offsets[-1]) // 2
    flat = np.frombuffer(column.buffers()[2], dtype="<f2", count=count, offset=first)
    return flat.reshape(-1, dim), byte_offsets // width
