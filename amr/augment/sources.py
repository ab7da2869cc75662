"""What augmentation reads from the store: the split's labels in clip units, and its videos.

`SplitIndex` holds the labels as flat arrays (small). `VideoPool` serves the features: one pass
over the store decodes the split's videos into a raw float16 file that is read back with
`os.preadv`, so random access costs a page-cache copy instead of a Parquet decode and the process
stays small. Every clip of the store also has a 64-d random projection (a "sketch"), from which
the boundary-contrast difficulty is computed the same way with or without features. Sketches are
cached in ``STORE/.amr-cache/`` (keyed by the store's fingerprint) so that a later run, and every
--recipes-only run, skips the pass over the features.
"""

from __future__ import annotations

import contextlib
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from amr import ragged
from amr.augment.workers import current_job, parallel_map
from amr.console import track
from amr.datasets.schema import arrow_to_matrices
from amr.datasets.store import Store
from amr.errors import AmrError
from amr.fileio import atomic_path
from amr.ragged import offsets_of

SKETCH_DIM = 64
SKETCH_SEED = 0x534B4554  # "SKET": fixed so that every corpus of a store gets the same sketches
CACHE_DIR = ".amr-cache"
GROUPS_PER_TASK = 8


@dataclass
class SplitIndex:
    """A split's samples; windows as clip ranges of their own video, flattened over the split."""

    table: pa.Table  # the split's rows as stored (the `original` corpus rows are taken from it)
    qids: np.ndarray  # int64
    queries: list[str]
    vids: list[str]
    durations: np.ndarray  # float32 seconds
    window_offsets: np.ndarray  # (n + 1,): sample i owns windows window_offsets[i]:[i + 1]
    window_first: np.ndarray  # int64 first clip of each window
    window_stop: np.ndarray  # int64 clip after the last
    saliency_offsets: np.ndarray  # (windows + 1,): rows of `saliency` per window, one per clip
    saliency: np.ndarray  # (clips in all windows, annotators) int8
    annotators: int  # 0 when the split has no saliency (Charades-STA)
    clip_length: float
    label_seconds: np.ndarray  # float64 sum of each sample's window lengths as annotated
    label_count: np.ndarray  # int64 number of annotated windows of each sample
    wrong_offsets: np.ndarray  # (n + 1,): sample i owns wrong spans wrong_offsets[i]:[i + 1]
    wrong_first: np.ndarray  # int64 first clip of each wrong span (its own video)
    wrong_stop: np.ndarray  # int64 clip after the last

    def __len__(self) -> int:
        return len(self.qids)

    @property
    def n_windows(self) -> np.ndarray:
        return np.diff(self.window_offsets)

    @property
    def donors(self) -> np.ndarray:
        """Indices of the samples with at least one window: the ones that can be augmented."""
        return np.flatnonzero(self.n_windows > 0)


def _list_lengths(column: pa.ChunkedArray) -> np.ndarray:
    array = column.combine_chunks()
    return array.value_lengths().fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)


def read_split(store: Store, split: str) -> SplitIndex:
    """The split's labels in clip units, vectorised over the whole split."""
    table = store.samples(split)
    clip_length = store.meta.clip_length
    vids = table.column("vid").to_pylist()
    missing = sorted({vid for vid in vids if vid not in store.videos})
    if missing:
        raise AmrError(f"{store.root}: split {split!r} names video {missing[0]!r} with no features")
    n = len(vids)
    n_clips = np.asarray([store.n_clips(vid) for vid in vids], dtype=np.int64)

    # windows: seconds -> clip ranges [first, stop), empty ones dropped
    window_counts = _list_lengths(table.column("relevant_windows"))
    seconds = pc.list_flatten(pc.list_flatten(table.column("relevant_windows")))
    seconds = seconds.to_numpy().astype(np.float64).reshape(-1, 2)
    first, stop, owner = _clip_ranges(table.column("relevant_windows"), clip_length, n_clips)
    wrong_first, wrong_stop, wrong_owner = _clip_ranges(
        table.column("wrong_spans"), clip_length, n_clips
    )

    # saliency: one row per clip of every kept window, looked up by (sample, clip id)
    id_counts = _list_lengths(table.column("relevant_clip_ids"))
    clip_ids = pc.list_flatten(table.column("relevant_clip_ids")).to_numpy().astype(np.int64)
    score_counts = _list_lengths(table.column("saliency_scores"))
    per_clip = pc.list_flatten(table.column("saliency_scores"))
    annotators = int(_list_lengths(per_clip).max()) if len(per_clip) else 0
    scores = np.zeros((len(per_clip), annotators), dtype=np.int8)
    if annotators:
        widths = _list_lengths(per_clip)
        values = pc.list_flatten(per_clip).to_numpy().astype(np.int8)
        scores[np.repeat(np.arange(len(per_clip)), widths), ragged.positions(widths)] = values
    # pair clip ids with score rows per sample (extra ids or rows are ignored, as zip does)
    paired = np.minimum(id_counts, score_counts)
    id_index = ragged.ranges(ragged.offsets_of(id_counts)[:-1], paired)
    score_index = ragged.ranges(ragged.offsets_of(score_counts)[:-1], paired)
    key = np.repeat(np.arange(n), paired) * (1 << 32) + clip_ids[id_index]
    sort = np.argsort(key, kind="stable")
    key, score_index = key[sort], score_index[sort]
    clips = ragged.ranges(first, stop - first)
    wanted = np.repeat(owner, stop - first) * (1 << 32) + clips
    hit = np.minimum(np.searchsorted(key, wanted), max(len(key) - 1, 0))
    found = key[hit] == wanted if len(key) else np.zeros(len(wanted), bool)
    saliency = np.zeros((len(wanted), annotators), dtype=np.int8)
    saliency[found] = scores[score_index[hit[found]]]

    durations = table.column("duration").to_numpy().astype(np.float32)
    return SplitIndex(
        table=table,
        qids=table.column("qid").to_numpy().astype(np.int64),
        queries=table.column("query").to_pylist(),
        vids=vids,
        durations=durations,
        window_offsets=ragged.offsets_of(np.bincount(owner, minlength=n)),
        window_first=first,
        window_stop=stop,
        saliency_offsets=ragged.offsets_of(stop - first),
        saliency=saliency,
        annotators=annotators,
        clip_length=clip_length,
        label_seconds=np.bincount(
            np.repeat(np.arange(n), window_counts),
            weights=seconds[:, 1] - seconds[:, 0],
            minlength=n,
        ),
        label_count=window_counts,
        wrong_offsets=ragged.offsets_of(np.bincount(wrong_owner, minlength=n)),
        wrong_first=wrong_first,
        wrong_stop=wrong_stop,
    )


def _clip_ranges(
    column: pa.ChunkedArray, clip_length: float, n_clips: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A list<[start, end]> seconds column as clip ranges [first, stop) cut to each video's
    clips, with the row that owns each (empty ranges dropped)."""
    counts = _list_lengths(column)
    seconds = pc.list_flatten(pc.list_flatten(column)).to_numpy().astype(np.float64)
    seconds = seconds.reshape(-1, 2)
    owner = np.repeat(np.arange(len(counts)), counts)
    first = np.floor(seconds[:, 0] / clip_length + 1e-6).astype(np.int64)
    stop = np.minimum(np.ceil(seconds[:, 1] / clip_length - 1e-6).astype(np.int64), n_clips[owner])
    kept = stop > first
    return first[kept], stop[kept], owner[kept]


def sketch_matrix(dim: int) -> np.ndarray | None:
    """The fixed projection to SKETCH_DIM (None when the features are that small already)."""
    if dim <= SKETCH_DIM:
        return None
    rng = np.random.default_rng(SKETCH_SEED)
    return (rng.standard_normal((dim, SKETCH_DIM)) / math.sqrt(SKETCH_DIM)).astype(np.float32)


class VideoPool:
    """The split's video features, served by row from a raw float16 file, plus store sketches.

    Rows: video `vid` occupies pool rows ``start(vid) .. start(vid) + n_clips(vid)``; its sketch
    rows are ``sketch_start[vid] ...`` of `sketches` (store-wide, in the store's file order).
    """

    def __init__(
        self,
        path: Path | None,
        dim: int,
        starts: dict[str, tuple[int, int]],
        sketches: np.ndarray,
        sketch_start: dict[str, int],
    ):
        self.path = path
        self.dim = dim
        self.starts = starts  # vid -> (first pool row, n_clips)
        self.sketches = sketches
        self.sketch_start = sketch_start
        self._fd: int | None = None

    def n_clips(self, vid: str) -> int | None:
        where = self.starts.get(vid)
        return None if where is None else where[1]

    def read_rows(self, first: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
        """Pool rows first..stop-1 as (rows, dim) float16, read into `out` when given."""
        if self.path is None:
            raise AmrError("this pool was built without features (recipes only)")
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        if out is None:
            out = np.empty((stop - first, self.dim), dtype=np.float16)
        got = os.preadv(self._fd, [out], first * self.dim * 2)
        if got != out.nbytes:
            raise AmrError(f"{self.path}: truncated feature pool")
        return out

    def features(self, vid: str) -> np.ndarray:
        first, count = self.starts[vid]
        return self.read_rows(first, first + count)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_fd": None}


def _cache_path(store: Store, stem: str) -> Path:
    digest = store.meta.fingerprint.partition(":")[2][:16] or "unfingerprinted"
    return store.root / CACHE_DIR / f"{stem}-{digest}.npz"


def load_cached(store: Store, stem: str) -> dict[str, np.ndarray] | None:
    """Arrays that `save_cached` kept for this store (as it is now: the name holds its
    fingerprint), or None."""
    try:
        with np.load(_cache_path(store, stem), allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None


def save_cached(store: Store, stem: str, **arrays: np.ndarray) -> None:
    """Best effort: a read-only store just means the next run computes them again. Not a
    Parquet file, so the store's fingerprint does not change."""
    path = _cache_path(store, stem)
    with contextlib.suppress(OSError):
        path.parent.mkdir(exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)


@dataclass
class _PoolJob:
    video_file: Path
    dim: int
    pool_file: Path | None  # None: sketches only
    pool_start: dict[str, int]  # the split's videos
    sketch: bool


def _decode_groups(groups: range) -> np.ndarray | None:
    """Decode row groups; write the split's videos into the pool file at their rows; return the
    sketches of every video in those groups (store order), or None when not sketching."""
    job: _PoolJob = current_job()
    source = pq.ParquetFile(job.video_file)
    projection = sketch_matrix(job.dim) if job.sketch else None
    sketches = []
    fd = os.open(job.pool_file, os.O_WRONLY) if job.pool_file is not None else None
    try:
        for group in groups:
            table = source.read_row_group(group, columns=["vid", "features"])
            rows, offsets = arrow_to_matrices(table.column("features"), job.dim)
            if job.sketch:
                values = rows.astype(np.float32)
                sketches.append(values @ projection if projection is not None else values)
            if fd is None:
                continue
            for i, vid in enumerate(table.column("vid").to_pylist()):
                start = job.pool_start.get(vid)
                if start is not None:
                    matrix = np.ascontiguousarray(rows[offsets[i] : offsets[i + 1]], dtype="<f2")
                    os.pwrite(fd, matrix.data, start * job.dim * 2)
    finally:
        if fd is not None:
            os.close(fd)
    return np.concatenate(sketches) if sketches else None


def build_pool(
    store: Store, vids: set[str], path: Path | None, workers: int, show_progress: bool
) -> VideoPool:
    """The split's features in a raw float16 file at `path` (none for recipes only) and the store's
    sketches (from the cache, else computed in the same pass and cached), in `workers` processes."""
    dim = store.meta.video_dim
    table = store.videos
    store_vids = list(table.keys())  # in file order, like table.counts
    sketch_rows = offsets_of(table.counts)
    sketch_start = {vid: int(s) for vid, s in zip(store_vids, sketch_rows[:-1], strict=True)}
    missing = vids - sketch_start.keys()
    if missing:
        raise AmrError(f"{store.root}: no features for video {sorted(missing)[0]!r}")
    split_vids = [v for v in store_vids if v in vids]  # store order: the pass writes sequentially
    split_counts = table.counts[[v in vids for v in store_vids]]
    pool_rows = offsets_of(split_counts)
    starts = {
        vid: (int(s), int(n))
        for vid, s, n in zip(split_vids, pool_rows[:-1], split_counts, strict=True)
    }
    cached = load_cached(store, f"sketches-{SKETCH_DIM}")
    sketches = cached.get("sketches") if cached else None
    if sketches is not None and (
        sketches.shape != (int(sketch_rows[-1]), SKETCH_DIM) or sketches.dtype != np.float32
    ):
        sketches = None
    if sketches is not None and path is None:
        return VideoPool(None, dim, starts, sketches, sketch_start)

    groups = [
        range(g, min(g + GROUPS_PER_TASK, table.num_row_groups))
        for g in range(0, table.num_row_groups, GROUPS_PER_TASK)
    ]
    # The pool file is scratch (in the corpus's work directory, deleted at the end): written in
    # place without fsync; a killed run rebuilds it.
    if path is not None:
        with open(path, "wb") as f:
            f.truncate(int(pool_rows[-1]) * dim * 2)
    pool_start = {v: s for v, (s, _) in starts.items()}
    job = _PoolJob(table.path, dim, path, pool_start, sketch=sketches is None)
    try:
        parts = list(
            track(
                parallel_map(_decode_groups, groups, job, workers),
                len(groups),
                "reading videos",
                show_progress,
            )
        )
    except BaseException:
        if path is not None:
            path.unlink(missing_ok=True)
        raise
    if sketches is None:
        found = [p for p in parts if p is not None]
        sketches = np.concatenate(found) if found else np.zeros((0, SKETCH_DIM), np.float32)
        save_cached(store, f"sketches-{SKETCH_DIM}", sketches=sketches)
    return VideoPool(path, dim, starts, sketches, sketch_start)


def pooled_text(store: Store, qids: np.ndarray, show_progress: bool) -> np.ndarray:
    """(len(qids), text_dim) float32: each query's token features averaged, less the mean
    token of all the queries, then L2-normalised. Without the centring, the tokens every query
    shares (function words, the sentence token) dominate the similarity of any two queries."""
    position = {int(q): i for i, q in enumerate(qids)}
    pooled = np.zeros((len(qids), store.meta.text_dim), dtype=np.float32)
    found = np.zeros(len(qids), dtype=bool)
    token_sum, token_count = np.zeros(store.meta.text_dim, dtype=np.float64), 0
    table = store.texts
    for group in track(
        table.iter_row_groups(), table.num_row_groups, "reading queries", show_progress
    ):
        keys = group.column("qid").combine_chunks().to_numpy()
        rows, offsets = arrow_to_matrices(group.column("features"), store.meta.text_dim)
        at = np.asarray([position.get(int(q), -1) for q in keys], dtype=np.int64)
        counts = np.diff(offsets)
        sums = np.add.reduceat(rows.astype(np.float32), offsets[:-1], axis=0) if len(rows) else 0
        wanted = (at >= 0) & (counts > 0)
        pooled[at[wanted]] = sums[wanted] / counts[wanted, None]
        if wanted.any():
            token_sum += sums[wanted].sum(axis=0)
            token_count += int(counts[wanted].sum())
        found[at[at >= 0]] = True
    if not found.all():
        raise AmrError(f"{store.root}: no text features for query {int(qids[~found][0])}")
    pooled -= (token_sum / max(token_count, 1)).astype(np.float32)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return pooled / np.maximum(norms, 1e-12)
