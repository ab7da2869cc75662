"""The store: the canonical on-disk form of a moment-retrieval dataset.

::

    STORE/store.json               name, clip length, dims, splits, sources, how each split's
                                   wrong spans were made, fingerprint
    STORE/samples-{split}.parquet  one row per query (schema.SAMPLES_SCHEMA)
    STORE/video_features.parquet   vid, n_clips, features (n_clips × video_dim, float16)
    STORE/text_features.parquet    qid, n_tokens, features (n_tokens × text_dim, float16)

`Store.open` reads only the id columns; a feature lookup then costs one dict access plus, on a
cache miss, the decode of the one row group that holds the id — never a scan of the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from amr.datasets.schema import (
    SAMPLES_SCHEMA,
    arrow_to_matrices,
    matrices_to_arrow,
    text_features_schema,
    video_features_schema,
)
from amr.datasets.truth import TRUTH_FILE
from amr.datasets.wrong_spans import SPANS_TYPE as WRONG_SPANS_TYPE
from amr.datasets.wrong_spans import MiningConfig, mine_split
from amr.errors import AmrError
from amr.fileio import building_directory, sha256_file, write_json

STORE_FORMAT = "amr-store"
STORE_FORMAT_VERSION = 2  # 2: samples have wrong_spans; store.json says how they were made
READABLE_VERSIONS = (1, 2)  # a version-1 store reads as having no wrong spans
VIDEO_FILE = "video_features.parquet"
TEXT_FILE = "text_features.parquet"
# Row groups of about this many feature bytes. Measured at 2816-d (make bench): 1 MB row groups
# give 9x the random lookups of 16 MB ones (298 vs 32 videos/s) for 17% less sequential speed.
ROW_GROUP_BYTES = 1 << 20


def samples_file(split: str) -> str:
    return f"samples-{split}.parquet"


@dataclass(frozen=True)
class SplitInfo:
    queries: int
    videos: int
    labeled: bool
    source: str = ""


@dataclass(frozen=True)
class StoreMeta:
    """Everything in store.json."""

    name: str
    clip_length: float
    video_dim: int
    text_dim: int
    splits: dict[str, SplitInfo] = field(default_factory=dict)
    sources: dict[str, Any] = field(default_factory=dict)
    wrong_spans: dict[str, dict[str, Any]] = field(default_factory=dict)  # per split: method
    fingerprint: str = ""

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["splits"] = {name: asdict(info) for name, info in self.splits.items()}
        return {"format": STORE_FORMAT, "format_version": STORE_FORMAT_VERSION, **body}

    @classmethod
    def from_json(cls, body: dict[str, Any], where: Path) -> StoreMeta:
        if body.get("format") != STORE_FORMAT:
            raise AmrError(f"{where}: not an amr store (format is {body.get('format')!r})")
        if body.get("format_version") not in READABLE_VERSIONS:
            raise AmrError(
                f"{where}: store format version {body.get('format_version')} is not supported "
                f"(this amr reads version {STORE_FORMAT_VERSION})"
            )
        try:
            splits = {name: SplitInfo(**info) for name, info in body["splits"].items()}
            return cls(
                name=str(body["name"]),
                clip_length=float(body["clip_length"]),
                video_dim=int(body["video_dim"]),
                text_dim=int(body["text_dim"]),
                splits=splits,
                sources=dict(body.get("sources", {})),
                wrong_spans=dict(body.get("wrong_spans", {})),
                fingerprint=str(body.get("fingerprint", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise AmrError(f"{where}: malformed store.json ({exc})") from None


def compute_fingerprint(root: Path) -> str:
    """sha256 over the names and bytes of every Parquet file of a store directory."""
    digest = hashlib.sha256()
    for path in sorted(Path(root).glob("*.parquet")):
        digest.update(f"{path.name}\0{sha256_file(path)}\n".encode())
    return "sha256:" + digest.hexdigest()


class FeatureTable:
    """Read-only id → matrix lookups over one features Parquet file, with a row-group cache."""

    def __init__(self, path: Path, key: str, count: str, dim: int, cache_bytes: int = 256 << 20):
        self.path = path
        self.dim = dim
        try:
            self._file = pq.ParquetFile(path)
            ids = self._file.read(columns=[key, count])
        except (OSError, pa.ArrowException) as exc:
            raise AmrError(f"{path}: unreadable Parquet file ({exc})") from None
        keys = ids.column(key).to_pylist()
        self.counts = np.asarray(ids.column(count).combine_chunks().to_numpy(), dtype=np.int64)
        group_rows = [
            self._file.metadata.row_group(i).num_rows for i in range(self._file.num_row_groups)
        ]
        group_of_row = np.repeat(np.arange(len(group_rows)), group_rows)
        group_start = np.concatenate([[0], np.cumsum(group_rows)[:-1]]).astype(np.int64)
        self._where = {
            k: (int(g), int(r - group_start[g]), int(r))
            for r, (k, g) in enumerate(zip(keys, group_of_row, strict=True))
        }
        if len(self._where) != len(keys):
            raise AmrError(f"{path}: duplicate ids in column {key!r}")
        self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._cached_bytes = 0
        self._lock = threading.Lock()

    def __contains__(self, key: object) -> bool:
        return key in self._where

    def __len__(self) -> int:
        return len(self._where)

    def keys(self) -> Iterable[Any]:
        return self._where.keys()

    def count(self, key: Any) -> int:
        return int(self.counts[self._where[key][2]])

    def _group(self, group: int) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if group in self._cache:
                self._cache.move_to_end(group)
                return self._cache[group]
            try:
                column = self._file.read_row_group(group, columns=["features"]).column(0)
            except (OSError, pa.ArrowException) as exc:
                raise AmrError(f"{self.path}: unreadable row group {group} ({exc})") from None
            rows, offsets = arrow_to_matrices(column, self.dim)
            rows.flags.writeable = False
            self._cache[group] = (rows, offsets)
            self._cached_bytes += rows.nbytes
            while self._cached_bytes > self._cache_bytes and len(self._cache) > 1:
                _, (old_rows, _) = self._cache.popitem(last=False)
                self._cached_bytes -= old_rows.nbytes
            return rows, offsets

    def get(self, key: Any) -> np.ndarray:
        """The (count, dim) float16 matrix of `key`, as a read-only view into the cache."""
        group, row, _ = self._where[key]
        rows, offsets = self._group(group)
        return rows[offsets[row] : offsets[row + 1]]

    @property
    def num_row_groups(self) -> int:
        return self._file.num_row_groups

    def iter_row_groups(self) -> Iterator[pa.Table]:
        for i in range(self._file.num_row_groups):
            yield self._file.read_row_group(i)


class Store:
    """An opened store. Feature lookups by id are O(1) in the size of the store."""

    def __init__(self, root: Path, meta: StoreMeta, cache_bytes: int = 256 << 20):
        self.root = root
        self.meta = meta
        self.videos = FeatureTable(root / VIDEO_FILE, "vid", "n_clips", meta.video_dim, cache_bytes)
        self.texts = FeatureTable(root / TEXT_FILE, "qid", "n_tokens", meta.text_dim, cache_bytes)
        self._samples: dict[str, pa.Table] = {}

    @classmethod
    def open(cls, root: str | Path, cache_bytes: int = 256 << 20) -> Store:
        root = Path(root)
        manifest = root / "store.json"
        if not manifest.is_file():
            raise AmrError(f"{root}: not a store (no store.json)")
        try:
            body = json.loads(manifest.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise AmrError(f"{manifest}: malformed JSON ({exc})") from None
        meta = StoreMeta.from_json(body, manifest)
        for name in [VIDEO_FILE, TEXT_FILE, *(samples_file(s) for s in meta.splits)]:
            if not (root / name).is_file():
                raise AmrError(f"{root}: store is missing {name}")
        return cls(root, meta, cache_bytes)

    @property
    def splits(self) -> list[str]:
        return list(self.meta.splits)

    def samples(self, split: str) -> pa.Table:
        """The split's query rows (schema.SAMPLES_SCHEMA)."""
        if split not in self.meta.splits:
            known = ", ".join(self.meta.splits) or "none"
            raise AmrError(f"{self.root}: no split {split!r} (splits: {known})")
        if split not in self._samples:
            table = pq.read_table(self.root / samples_file(split))
            self._samples[split] = with_wrong_spans(table)  # a version-1 store has none
        return self._samples[split]

    def video_features(self, vid: str) -> np.ndarray:
        """(n_clips, video_dim) float16, read-only."""
        return self.videos.get(vid)

    def text_features(self, qid: int) -> np.ndarray:
        """(n_tokens, text_dim) float16, read-only."""
        return self.texts.get(int(qid))

    def n_clips(self, vid: str) -> int:
        return self.videos.count(vid)

    def verify_fingerprint(self) -> bool:
        return compute_fingerprint(self.root) == self.meta.fingerprint


class FeatureWriter:
    """Streams id/matrix pairs into a features Parquet file, one row group per ~1 MB of features."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.schema = schema
        self.key, self.count, _ = schema.names
        self.dim = schema.field("features").type.value_type.list_size
        self._writer = pq.ParquetWriter(
            path,
            schema,
            compression={self.key: "zstd", self.count: "zstd", "features": "none"},
            use_dictionary=False,
            # Min/max of every float16 would cost a third of the write time and help no query.
            write_statistics=[self.key, self.count],
        )
        self._keys: list[Any] = []
        self._matrices: list[np.ndarray] = []
        self._pending_bytes = 0
        self.written: set[Any] = set()

    def add(self, key: Any, matrix: np.ndarray) -> None:
        if key in self.written:
            raise AmrError(f"{self.key} {key!r} written twice")
        if matrix.ndim != 2 or matrix.shape[1] != self.dim:
            raise AmrError(
                f"{self.key} {key!r}: features of shape {matrix.shape}, need (n, {self.dim})"
            )
        self.written.add(key)
        self._keys.append(key)
        self._matrices.append(np.asarray(matrix, dtype=np.float16))
        self._pending_bytes += matrix.shape[0] * self.dim * 2
        if self._pending_bytes >= ROW_GROUP_BYTES:
            self._flush()

    def copy_row_group(self, table: pa.Table) -> None:
        """Append rows of an existing file of the same schema without decoding them to numpy."""
        self._flush()
        table = table.cast(self.schema)
        self.written.update(table.column(self.key).to_pylist())
        self._writer.write_table(table, row_group_size=max(1, table.num_rows))

    def _flush(self) -> None:
        if not self._keys:
            return
        counts = pa.array([m.shape[0] for m in self._matrices], pa.int32())
        table = pa.Table.from_arrays(
            [
                pa.array(self._keys, self.schema.field(self.key).type),
                counts,
                matrices_to_arrow(self._matrices, self.dim),
            ],
            schema=self.schema,
        )
        self._writer.write_table(table, row_group_size=table.num_rows)
        self._keys, self._matrices, self._pending_bytes = [], [], 0

    def close(self) -> None:
        self._flush()
        self._writer.close()


def with_wrong_spans(table: pa.Table) -> pa.Table:
    """A samples table with a `wrong_spans` column (empty lists where it had none)."""
    if "wrong_spans" in table.column_names:
        return table
    empty = pa.array([[] for _ in range(table.num_rows)], WRONG_SPANS_TYPE)
    return table.append_column(SAMPLES_SCHEMA.field("wrong_spans"), empty)


def set_wrong_spans(table: pa.Table, spans: pa.Array) -> pa.Table:
    """A samples table with its `wrong_spans` replaced by `spans`, in the samples schema."""
    column = table.schema.get_field_index("wrong_spans")
    return table.set_column(column, "wrong_spans", spans).cast(SAMPLES_SCHEMA)


class StoreWriter:
    """Builds a store in a staging directory; the store appears at `out` only on `commit`.

    With `base`, the new store holds the base store's splits and features as well (adding a split).
    """

    def __init__(self, building_dir: Path, meta: StoreMeta, base: Store | None = None):
        self.dir = building_dir
        self.meta = meta
        self.splits: dict[str, SplitInfo] = {}
        self.wrong_spans: dict[str, dict[str, Any]] = {}
        self._to_mine: dict[str, tuple[pa.Table, MiningConfig]] = {}  # written by finish()
        self.videos = FeatureWriter(self.dir / VIDEO_FILE, video_features_schema(meta.video_dim))
        self.texts = FeatureWriter(self.dir / TEXT_FILE, text_features_schema(meta.text_dim))
        if base is not None:
            for split in base.splits:
                self.write_samples(split, base.samples(split), base.meta.splits[split].source)
                self.wrong_spans[split] = base.meta.wrong_spans.get(split, {"method": "none"})
            for group in base.videos.iter_row_groups():
                self.videos.copy_row_group(group)
            for group in base.texts.iter_row_groups():
                self.texts.copy_row_group(group)
            if (base.root / TRUTH_FILE).is_file():
                shutil.copyfile(base.root / TRUTH_FILE, self.dir / TRUTH_FILE)

    def write_samples(
        self, split: str, table: pa.Table, source: str = "", mine: MiningConfig | None = None
    ) -> None:
        """A split's samples. With `mine`, its wrong spans are mined from the video features
        when the store is finished (the table's own, if any, are replaced); without, the
        table's are kept (from an annotation file)."""
        if split in self.splits:
            raise AmrError(f"split {split!r} given twice")
        table = with_wrong_spans(table).cast(SAMPLES_SCHEMA)
        if mine is not None:  # mined once the video features are written: see finish()
            self._to_mine[split] = (table, mine)
            self.wrong_spans[split] = mine.to_json()
        else:
            self.wrong_spans.setdefault(split, {"method": "annotations"})
            pq.write_table(table, self.dir / samples_file(split), compression="zstd")
        labeled = bool(
            pa.compute.sum(pa.compute.list_value_length(table["relevant_windows"])).as_py()
        )
        n_videos = len(pa.compute.unique(table["vid"]))
        self.splits[split] = SplitInfo(table.num_rows, n_videos, labeled, source)

    def finish(self) -> StoreMeta:
        """Close the files and write store.json with the fingerprint of what was written."""
        self.videos.close()
        self.texts.close()
        if self._to_mine:
            videos = FeatureTable(self.dir / VIDEO_FILE, "vid", "n_clips", self.meta.video_dim)
            for split, (table, config) in self._to_mine.items():
                spans = mine_split(table, videos.get, self.meta.clip_length, config)
                pq.write_table(
                    set_wrong_spans(table, spans),
                    self.dir / samples_file(split),
                    compression="zstd",
                )
        meta = replace(
            self.meta,
            splits=self.splits,
            wrong_spans=self.wrong_spans,
            fingerprint=compute_fingerprint(self.dir),
        )
        write_json(self.dir / "store.json", meta.to_json())
        return meta


@contextlib.contextmanager
def create_store(out: Path, meta: StoreMeta, base: Store | None = None) -> Iterator[StoreWriter]:
    """Yield a StoreWriter; its store replaces `out` atomically when the block succeeds.

    On an exception nothing at `out` changes (a base store being extended stays as it was).
    """
    with building_directory(out) as staging:
        writer = StoreWriter(staging, meta, base)
        yield writer
        writer.finish()
