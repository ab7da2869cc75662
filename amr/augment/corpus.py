"""The corpus format (DESIGN §5): manifest.json + part-*.parquet, readable without amr.

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

import contextlib
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from amr.augment.config import COMPONENTS
from amr.augment.recipe import Paste, Recipe
from amr.datasets.schema import SAMPLES_SCHEMA
from amr.errors import AmrError
from amr.fileio import Checksum, atomic_path, checksum_algorithm

CORPUS_FORMAT = "amr-corpus"
CORPUS_FORMAT_VERSION = 2  # 2: part checksums name their algorithm
MANIFEST = "manifest.json"
PART_NAME = re.compile(r"part-(\d{5})\.parquet")
KINDS = ("original", "splice", "boundary", "negative")

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


class _HashingSink(io.RawIOBase):
    """The file pyarrow writes a part into: bytes are checksummed on their way to the disk, so
    a part is never read back to be hashed."""

    def __init__(self, fd: int, checksum: Checksum):
        super().__init__()
        self._fd = fd
        self._checksum = checksum
        self.position = 0

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._checksum.update(view)
        done = 0
        while done < len(view):
            done += os.write(self._fd, view[done:])
        self.position += done
        return done


class PartWriter:
    """Writes one part: each `write_table` call becomes one row group, so a part is streamed,
    never held whole. The bytes are checksummed as they are written, and the kernel is told to
    start writing them to disk right away (so that the disk works while the next row group is
    made, and the final fsync has little left to wait for)."""

    def __init__(self, path: Path, schema: pa.Schema):
        compression = {name: "zstd" for name in schema.names}
        if "features" in compression:
            compression["features"] = "none"  # float16 noise barely compresses (0.92 at zstd-1)
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self._checksum = Checksum()
        self._sink = _HashingSink(self._fd, self._checksum)
        self._writer = pq.ParquetWriter(
            self._sink,
            schema,
            compression=compression,
            use_dictionary=["kind", "host_vid"],
            write_statistics=["sample_id", "kind", "difficulty", "curriculum_bin"],
        )
        self.checksum = ""  # set by close()

    def write_table(self, table: pa.Table) -> None:
        self._writer.write_table(table)
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(self._fd, 0, self._sink.position, os.POSIX_FADV_DONTNEED)

    def close(self) -> str:
        """Finish the file; return its checksum (also kept in `checksum`)."""
        try:
            self._writer.close()
            self.checksum = self._checksum.text()
            return self.checksum
        finally:
            os.close(self._fd)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._writer.close()
        os.close(self._fd)


@contextlib.contextmanager
def part_writer(path: Path, schema: pa.Schema) -> Iterator[PartWriter]:
    """A PartWriter whose file appears under `path` only once complete and fsynced; its
    checksum is in `writer.checksum` after the block."""
    with atomic_path(path) as tmp:
        writer = PartWriter(tmp, schema)
        try:
            yield writer
        except BaseException:
            writer.abort()
            raise
        writer.close()


def write_part(path: Path, table: pa.Table, row_group_rows: int) -> None:
    """Write a whole table as one part (row groups of `row_group_rows`), atomically."""
    with part_writer(path, table.schema) as writer:
        for start in range(0, table.num_rows, row_group_rows):
            writer.write_table(table.slice(start, row_group_rows))


@dataclass(frozen=True)
class PartInfo:
    file: str
    rows: int
    first_row: int
    difficulty: tuple[float, float]
    bytes: int
    checksum: str  # "algorithm:hex", see amr.fileio.CHECKSUM_ALGORITHMS

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "rows": self.rows,
            "first_row": self.first_row,
            "difficulty": list(self.difficulty),
            "bytes": self.bytes,
            "checksum": self.checksum,
        }

    @classmethod
    def from_json(cls, body: dict[str, Any], where: Path) -> PartInfo:
        name = str(body.get("file", ""))
        if not PART_NAME.fullmatch(name):
            raise AmrError(f"{where}: part name {name!r} is not part-NNNNN.parquet")
        try:
            low, high = body["difficulty"]
            info = cls(
                name,
                int(body["rows"]),
                int(body["first_row"]),
                (float(low), float(high)),
                int(body["bytes"]),
                str(body["checksum"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise AmrError(f"{where}: malformed entry for {name} ({exc})") from None
        try:
            checksum_algorithm(info.checksum)
        except AmrError as exc:
            raise AmrError(f"{where}: {name}: {exc}") from None
        return info


@dataclass
class Corpus:
    """An opened corpus: its manifest, and its parts as Parquet files."""

    root: Path
    manifest: dict[str, Any]
    parts: list[PartInfo]

    @classmethod
    def open(cls, root: str | Path) -> Corpus:
        root = Path(root)
        path = root / MANIFEST
        if not path.is_file():
            hint = " (an unfinished run? finish it with --resume, or amr corpus merge shards)"
            raise AmrError(f"{root}: not a corpus (no {MANIFEST}){hint if root.is_dir() else ''}")
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise AmrError(f"{path}: malformed JSON ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != CORPUS_FORMAT:
            raise AmrError(f"{path}: not an amr corpus manifest")
        if manifest.get("format_version") != CORPUS_FORMAT_VERSION:
            raise AmrError(
                f"{path}: corpus format version {manifest.get('format_version')} is not supported "
                f"(this amr reads version {CORPUS_FORMAT_VERSION})"
            )
        parts = [PartInfo.from_json(p, path) for p in manifest.get("parts", [])]
        if len({p.file for p in parts}) != len(parts):
            raise AmrError(f"{path}: a part is listed twice")
        return cls(root, manifest, parts)

    @property
    def recipes_only(self) -> bool:
        return bool(self.manifest.get("recipes_only"))

    @property
    def video_dim(self) -> int:
        return int(self.manifest["source"]["video_dim"])

    @property
    def rows(self) -> int:
        return int(self.manifest["rows"])

    def part_paths(self) -> list[Path]:
        return [self.root / p.file for p in self.parts]

    def iter_tables(self, columns: list[str] | None = None) -> Iterator[tuple[PartInfo, pa.Table]]:
        """Each part's rows (only `columns`), one part in memory at a time."""
        for part in self.parts:
            path = self.root / part.file
            try:
                yield part, pq.read_table(path, columns=columns)
            except (OSError, pa.ArrowException) as exc:
                raise AmrError(f"{path}: unreadable part ({exc})") from None
