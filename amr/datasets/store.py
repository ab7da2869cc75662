"""The store: the canonical on-disk form of a moment-retrieval dataset.

::

    STORE/store.json               name, clip length, dims, splits, sources, how each split's
                                   wrong spans were made, the feature sources (name and width
                                   of each video source, in concatenation order), fingerprint
    STORE/samples-{split}.parquet  one row per query (schema.SAMPLES_SCHEMA)
    STORE/video_features.parquet   vid, n_clips, features (n_clips × video_dim, float16)
    STORE/text_features.parquet    qid, n_tokens, features (n_tokens × text_dim, float16)

`Store.open` reads only the id columns; a feature lookup then costs one dict access plus, on a
cache miss, the decode of the one row group that holds the id — never a scan of the file.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from amr.datasets.feature_files import FeatureTable, FeatureWriter
from amr.datasets.query_ids import read_query_ids, write_query_ids
from amr.datasets.schema import SAMPLES_SCHEMA, text_features_schema, video_features_schema
from amr.datasets.truth import TRUTH_FILE
from amr.datasets.wrong_spans import SPANS_TYPE as WRONG_SPANS_TYPE
from amr.datasets.wrong_spans import MiningConfig, mine_split
from amr.errors import AmrError
from amr.fileio import building_directory, settle_retired, sha256_file, write_json

STORE_FORMAT = "amr-store"
STORE_FORMAT_VERSION = 2  # 2: samples have wrong_spans; store.json says how they were made
READABLE_VERSIONS = (1, 2)  # a version-1 store reads as having no wrong spans
META_FILE = "store.json"
VIDEO_FILE = "video_features.parquet"
TEXT_FILE = "text_features.parquet"


def samples_file(split: str) -> str:
    return f"samples-{split}.parquet"


def is_store(root: Path) -> bool:
    """Whether `root` holds a finished store (store.json is written last)."""
    return (root / META_FILE).is_file()


@dataclass(frozen=True)
class SplitInfo:
    queries: int
    videos: int
    labeled: bool
    source: str = ""


@dataclass(frozen=True)
class FeatureSource:
    """One feature directory the store's matrices came from: the video features are the
    concatenation of each source's L2-normalised rows, so `amr corpus export` can split them
    back into one folder per source (which the field's trainers normalise one by one)."""

    name: str
    dim: int

    @classmethod
    def from_json(cls, body: Any, where: Path) -> FeatureSource:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise AmrError(f"{where}: a feature source is not {{'name': ..., 'dim': ...}}")
        dim = body.get("dim")
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise AmrError(f"{where}: feature source {body['name']!r} has width {dim!r}")
        return cls(body["name"], dim)


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
    video_sources: tuple[FeatureSource, ...] = ()  # in concatenation order; () in older stores
    text_source: FeatureSource | None = None
    fingerprint: str = ""

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["splits"] = {name: asdict(info) for name, info in self.splits.items()}
        body["video_sources"] = [asdict(source) for source in self.video_sources]
        return {"format": STORE_FORMAT, "format_version": STORE_FORMAT_VERSION, **body}

    def write(self, root: Path) -> None:
        """Write store.json into `root` (atomically: a reader sees the old manifest or this one)."""
        write_json(Path(root) / META_FILE, self.to_json())

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
            meta = cls(
                name=str(body["name"]),
                clip_length=float(body["clip_length"]),
                video_dim=int(body["video_dim"]),
                text_dim=int(body["text_dim"]),
                splits=splits,
                sources=dict(body.get("sources", {})),
                wrong_spans=dict(body.get("wrong_spans", {})),
                video_sources=tuple(
                    FeatureSource.from_json(s, where) for s in body.get("video_sources", [])
                ),
                text_source=(
                    FeatureSource.from_json(body["text_source"], where)
                    if body.get("text_source") is not None
                    else None
                ),
                fingerprint=str(body.get("fingerprint", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise AmrError(f"{where}: malformed store.json ({exc})") from None
        widths = sum(source.dim for source in meta.video_sources)
        if meta.video_sources and widths != meta.video_dim:
            raise AmrError(
                f"{where}: video sources add up to {widths} dims, the store has {meta.video_dim}"
            )
        return meta


def compute_fingerprint(root: Path) -> str:
    """sha256 over the names and bytes of every Parquet file of a store directory."""
    digest = hashlib.sha256()
    for path in sorted(Path(root).glob("*.parquet")):
        digest.update(f"{path.name}\0{sha256_file(path)}\n".encode())
    return "sha256:" + digest.hexdigest()


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
        if not root.exists():  # a store whose last swap was cut comes back first
            settle_retired(root.parent, root.name)
        manifest = root / META_FILE
        if not manifest.is_file():
            raise AmrError(f"{root}: not a store (no {META_FILE})")
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

    @functools.cached_property
    def query_ids(self) -> dict[int, str]:
        """The store's string query ids by code; empty when its ids are integers."""
        return read_query_ids(self.root)

    def text_features(self, qid: int) -> np.ndarray:
        """(n_tokens, text_dim) float16, read-only."""
        return self.texts.get(int(qid))

    def n_clips(self, vid: str) -> int:
        return self.videos.count(vid)

    def verify_fingerprint(self) -> bool:
        return compute_fingerprint(self.root) == self.meta.fingerprint


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
        # string query ids by code (query_ids.py), written beside the samples when there are any
        self.query_ids: dict[int, str] = read_query_ids(base.root) if base is not None else {}
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
        write_query_ids(self.dir, self.query_ids)
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
        meta.write(self.dir)
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
