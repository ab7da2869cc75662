"""`amr datasets import`: community annotation + feature files → a store."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa

from amr.console import track
from amr.datasets.annotations import ReadReport, read_annotations
from amr.datasets.features import MIN_CLIPS, FeatureDirectory, load_video
from amr.datasets.hdf5 import open_features
from amr.datasets.store import FeatureSource, Store, StoreMeta, create_store, is_store
from amr.datasets.wrong_spans import MiningConfig
from amr.errors import AmrError
from amr.fileio import settle_retired
from amr.writer_lock import one_writer

T = TypeVar("T")
R = TypeVar("R")

DATASETS = {"qvhighlights": 2.0, "charades": 1.0, "activitynet": 2.0, "tacos": 2.0, "nlq": 2.0}
"""Known datasets and their usual clip length in seconds (override with clip_length). Each
reads the Moment-DETR-style JSON lines (qid, query, duration, vid, relevant_windows): the form
the field's trainers keep ActivityNet Captions (`v_…` video ids), TACoS (string qids such as
"s17-d69_0", text files `{qid}.npz`) and Ego4D-NLQ in; `nlq` also reads Ego4D's own nested
`.json` file (amr.datasets.nlq)."""


@dataclass(frozen=True)
class ImportConfig:
    dataset: str
    annotations: list[tuple[str, Path]]
    """(split name, annotation file) pairs."""
    video_features: list[Path]
    text_features: Path
    out: Path
    clip_length: float | None = None
    name: str | None = None
    extractor: dict[str, Any] | None = None
    """How amr made the features (`amr features extract`: model, frames per clip); recorded in
    store.json so that predicting from a video file can make them the same way."""
    source_names: tuple[tuple[str, ...], str] | None = None
    """(video source names, text source name) for store.json; default: the folder names."""
    normalize: bool = True
    """L2-normalise every row of every feature file, as the field's loaders do; off for files
    that are normalised already (an `amr corpus export`), so that they come back bit for bit."""


@dataclass
class ImportSummary:
    meta: StoreMeta
    reports: dict[str, ReadReport] = field(default_factory=dict)
    videos_read: int = 0
    queries_read: int = 0
    clips_past_features: int = 0
    """Relevant clip ids at or past the video's last feature clip (kept; reported)."""


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int, window: int) -> Iterator[R]:
    """Like executor.map, but with at most `window` results in flight (bounded memory)."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _open_base(out: Path) -> Store | None:
    settle_retired(out.parent, out.name)  # a store whose last swap was cut comes back first
    if not out.exists():
        return None
    if is_store(out):
        return Store.open(out)
    if out.is_dir() and not any(out.iterdir()):
        return None
    raise AmrError(f"{out}: exists and is not a store; refusing to overwrite it")


@one_writer(lambda call: call["config"].out)
def import_dataset(config: ImportConfig, show_progress: bool = True) -> ImportSummary:
    """Read annotations and features into the store at `config.out` (adding splits if it exists).

    Only the videos and queries the annotations reference are read. Nothing at `config.out`
    changes unless the whole import succeeds.
    """
    if config.dataset not in DATASETS:
        raise AmrError(f"unknown dataset {config.dataset!r} (known: {', '.join(DATASETS)})")
    if not config.annotations:
        raise AmrError("give at least one --annotations FILE --split NAME pair")
    if not config.video_features:
        raise AmrError("give at least one --video-features DIR")
    clip_length = config.clip_length or DATASETS[config.dataset]
    if clip_length <= 0:
        raise AmrError(f"clip length must be positive, got {clip_length}")
    out = Path(config.out)
    base = _open_base(out)
    if base is not None and abs(base.meta.clip_length - clip_length) > 1e-9:
        raise AmrError(
            f"{out}: store has clip length {base.meta.clip_length:g} s, "
            f"import uses {clip_length:g} s"
        )

    tables: dict[str, pa.Table] = {}
    reports: dict[str, ReadReport] = {}
    seen_qids: dict[int, str] = {}
    string_ids: dict[int, str] = {}  # code → the file's id, for string qids (query_ids.py)
    if base is not None:
        for split in base.splits:
            seen_qids.update(dict.fromkeys(base.samples(split)["qid"].to_pylist(), split))
    for split, path in config.annotations:
        if split in tables or (base is not None and split in base.meta.splits):
            raise AmrError(f"split {split!r} given twice or already in {out}")
        table, report = read_annotations(path, clip_length)
        for qid in dict.fromkeys(table["qid"].to_pylist()):  # a file may reuse its own qids
            if qid in seen_qids:
                shown = report.string_ids.get(qid, qid)
                raise AmrError(f"{path}: qid {shown!r} is also in split {seen_qids[qid]!r}")
            seen_qids[qid] = split
        string_ids.update(report.string_ids)
        tables[split], reports[split] = table, report

    video_dirs = [open_features(d, "video", config.normalize) for d in config.video_features]
    text_dir = open_features(config.text_features, "text", config.normalize)
    known_vids = set(base.videos.keys()) if base is not None else set()
    vids = [
        vid
        for vid in dict.fromkeys(v for t in tables.values() for v in t["vid"].to_pylist())
        if vid not in known_vids
    ]
    # A query reused over several videos (an exported corpus's augmented rows) has one text.
    qids = list(dict.fromkeys(q for t in tables.values() for q in t["qid"].to_pylist()))

    # Peek at one file of each kind for the dims the store's schema needs; this also fixes each
    # directory's width before worker threads read the rest.
    first_video = load_video(video_dirs, vids[0]) if vids else None

    def load_text(qid: int) -> np.ndarray:  # a string id's file is named by the string
        return text_dir.load(string_ids.get(qid, qid))

    first_text = load_text(qids[0])
    video_dim = first_video.shape[1] if first_video is not None else base.meta.video_dim
    text_dim = first_text.shape[1]
    if base is not None and (base.meta.video_dim, base.meta.text_dim) != (video_dim, text_dim):
        raise AmrError(
            f"{out}: store dims (video {base.meta.video_dim}, text {base.meta.text_dim}) differ "
            f"from the new features (video {video_dim}, text {text_dim})"
        )

    sources = dict(base.meta.sources) if base is not None else {"kind": "import"}
    sources["imports"] = [
        *sources.get("imports", []),
        {
            "dataset": config.dataset,
            "splits": list(tables),
            "video_features": [str(d) for d in config.video_features],
            "text_features": str(config.text_features),
            **({"extractor": config.extractor} if config.extractor else {}),
        },
    ]
    if base is not None:
        video_sources, text_source = base.meta.video_sources, base.meta.text_source
    else:
        video_sources = source_names(video_dirs)
        text_name = Path(config.text_features).resolve().name or "text"
        if config.source_names is not None:
            names, text_name = config.source_names
            video_sources = tuple(
                FeatureSource(name, s.dim) for name, s in zip(names, video_sources, strict=True)
            )
        text_source = FeatureSource(text_name, text_dim)
    meta = StoreMeta(
        name=config.name or (base.meta.name if base is not None else config.dataset),
        clip_length=clip_length,
        video_dim=video_dim,
        text_dim=text_dim,
        sources=sources,
        video_sources=video_sources,
        text_source=text_source,
    )
    summary = ImportSummary(meta=meta, reports=reports)
    workers = min(8, 2 * (os.cpu_count() or 1))
    n_clips: dict[str, int] = {}
    with create_store(out, meta, base) as writer:
        writer.query_ids.update(string_ids)
        head = [(vids[0], first_video)] if vids else []
        rest = ordered_map(lambda v: (v, load_video(video_dirs, v)), vids[1:], workers, 32)
        for vid, matrix in track(_chain(head, rest), len(vids), "video features", show_progress):
            if len(matrix) < MIN_CLIPS:
                raise AmrError(
                    f"video {vid!r}: {len(matrix)} clip of features ({len(matrix) * clip_length:g}"
                    f" s); a video needs at least {MIN_CLIPS} clips for a moment to be shorter "
                    "than it: leave it out of the annotations"
                )
            writer.videos.add(vid, matrix.astype(np.float16))
            n_clips[vid] = matrix.shape[0]
        rest = ordered_map(lambda q: (q, load_text(q)), qids[1:], workers, 256)
        head = [(qids[0], first_text)]
        for qid, matrix in track(_chain(head, rest), len(qids), "text features", show_progress):
            writer.texts.add(qid, matrix.astype(np.float16))
        for split, table in tables.items():
            mine = None if reports[split].wrong_spans else MiningConfig()
            writer.write_samples(split, table, source=reports[split].path.name, mine=mine)
            summary.clips_past_features += _clips_past_features(
                table, lambda vid: n_clips[vid] if vid in n_clips else base.n_clips(vid)
            )
    summary.videos_read, summary.queries_read = len(vids), len(qids)
    summary.meta = Store.open(out).meta
    return summary


def source_names(video_dirs: list[FeatureDirectory]) -> tuple[FeatureSource, ...]:
    """Each video directory as a named source of its width (read from its first file), in the
    order the store concatenates them; a repeated folder name gets a numeric suffix."""
    sources: list[FeatureSource] = []
    for directory in video_dirs:
        resolved = directory.root.resolve()
        folder = (resolved.stem if resolved.is_file() else resolved.name) or "video"
        name, suffix = folder, 2
        while any(s.name == name for s in sources):
            name, suffix = f"{folder}-{suffix}", suffix + 1
        sources.append(FeatureSource(name, int(directory.dim)))
    return tuple(sources)


def _clips_past_features(table: pa.Table, n_clips_of: Callable[[str], int]) -> int:
    count = 0
    for vid, ids in zip(
        table["vid"].to_pylist(), table["relevant_clip_ids"].to_pylist(), strict=True
    ):
        limit = n_clips_of(vid)
        count += sum(1 for c in ids if c >= limit)
    return count


def _chain(head: list[T], tail: Iterable[T]) -> Iterator[T]:
    yield from head
    yield from tail
