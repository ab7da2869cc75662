"""The corpus format: manifest.json + part-*.parquet, readable without amr (docs/augment.md).

::

    CORPUS/manifest.json         format, source store fingerprint, config, counts, parts + checksums
    CORPUS/part-00000.parquet    rows in difficulty order (part 0 holds the easiest)
    CORPUS/README.md             dataset card

`features` is ``list<fixed_size_binary(2 × dim)>``: one value per clip holding that clip's float16
vector (little-endian). Measured (make bench): pyarrow writes it at disk speed and reads it at
GB/s, where a typed ``list<fixed_size_list<float16>>`` column tops out near 150 MB/s on both.
In numpy: ``np.frombuffer(b"".join(row), "<f2").reshape(len(row), dim)``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pyarrow as pa

from amr.corpus.recipe import Paste, Recipe
from amr.datasets.schema import SAMPLES_SCHEMA

CORPUS_FORMAT = "amr-corpus"
CORPUS_FORMAT_VERSION = 2  # 2: part checksums name their algorithm
MANIFEST = "manifest.json"
PART_NAME = re.compile(r"part-(\d{5})\.parquet")
KINDS = ("original", "splice", "boundary", "negative")
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
    """How the `features` column stores a clip (in the schema metadata and the manifest)."""
    return {"dtype": "float16", "byte_order": "little", "dim": video_dim, "per": "clip"}


def features_entry(video_dim: int) -> dict[str, Any]:
    return {"column": "features", **feature_layout(video_dim)}


def corpus_schema(video_dim: int | None) -> pa.Schema:
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
        fields.append(pa.field("features", pa.list_(pa.binary(2 * video_dim)), nullable=False))
        metadata[b"amr.features"] = json.dumps(feature_layout(video_dim)).encode()
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


def features_to_arrow(flat: np.ndarray, offsets: np.ndarray) -> pa.ListArray:
    """(total_clips, dim) float16 + row offsets → list<fixed_size_binary>, without a copy."""
    flat = np.ascontiguousarray(flat, dtype="<f2")
    clips = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(flat.shape[1] * 2), len(flat), [None, pa.py_buffer(flat)]
    )
    return pa.ListArray.from_arrays(pa.array(np.asarray(offsets, dtype=np.int32)), clips)


def features_from_arrow(
    column: pa.ChunkedArray | pa.Array, dim: int
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, offsets) as in the store: rows is (total_clips, dim) float16, zero-copy."""
    if isinstance(column, pa.ChunkedArray):  # combine_chunks would copy even a single chunk
        column = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    offsets = column.offsets.to_numpy().astype(np.int64)
    values = column.values
    buffer = values.buffers()[1]
    width = 2 * dim
    start = values.offset * width
    flat = np.frombuffer(buffer, dtype="<f2", count=len(values) * dim, offset=start)
    return flat.reshape(-1, dim), offsets - offsets[0]
