"""What augmentation reads from the store: the split's labels in clip units, and its videos.

`SplitIndex` holds the labels (small). `VideoPool` holds the features: one sequential pass over the
store decodes the split's videos into a raw float16 file that is read back with `os.pread`, so
random access costs a page-cache copy instead of a Parquet decode, and the process stays small.
The same pass keeps a 64-d random projection ("sketch") of every clip in memory, from which the
boundary-contrast difficulty is computed identically with or without materialised features.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from amr.console import track
from amr.datasets.schema import arrow_to_matrices
from amr.datasets.store import Store
from amr.errors import AmrError
from amr.fileio import atomic_path

SKETCH_DIM = 64
SKETCH_SEED = 0x534B4554  # "SKET": fixed so that every corpus of a store gets the same sketches


@dataclass
class SplitIndex:
    """A split's samples with their windows as clip ranges of their own video."""

    qids: np.ndarray  # int64
    queries: list[str]
    vids: list[str]
    durations: np.ndarray  # float32 seconds
    windows: list[np.ndarray]  # per sample: (k, 2) int32 clip ranges [start, end)
    saliency: list[list[np.ndarray]]  # per sample, per window: (clips, annotators) int8
    annotators: int  # 0 when the split has no saliency (Charades-STA)
    clip_length: float
    raw: dict[str, list]  # the split's label columns as stored, for the `original` rows

    def __len__(self) -> int:
        return len(self.qids)

    @property
    def donors(self) -> np.ndarray:
        """Indices of the samples with at least one window: the ones that can be augmented."""
        return np.flatnonzero([len(w) > 0 for w in self.windows])


def read_split(store: Store, split: str) -> SplitIndex:
    table = store.samples(split)
    clip_length = store.meta.clip_length
    columns = table.to_pydict()
    missing = sorted({vid for vid in columns["vid"] if vid not in store.videos})
    if missing:
        raise AmrError(f"{store.root}: split {split!r} names video {missing[0]!r} with no features")
    annotators = max((len(row[0]) for row in columns["saliency_scores"] if row), default=0)
    windows, saliency = [], []
    for vid, wins, clip_ids, scores in zip(
        columns["vid"],
        columns["relevant_windows"],
        columns["relevant_clip_ids"],
        columns["saliency_scores"],
        strict=True,
    ):
        n_clips = store.n_clips(vid)
        ranges = []
        for start, end in wins or []:
            first = math.floor(start / clip_length + 1e-6)
            stop = min(math.ceil(end / clip_length - 1e-6), n_clips)
            if stop > first:
                ranges.append((first, stop))
        ranges_array = np.asarray(ranges, dtype=np.int32).reshape(-1, 2)
        score_of = dict(zip(clip_ids or [], scores or [], strict=False))
        per_window = []
        for first, stop in ranges:
            rows = [score_of.get(c, [0] * annotators)[:annotators] for c in range(first, stop)]
            per_window.append(np.asarray(rows, dtype=np.int8).reshape(stop - first, annotators))
        windows.append(ranges_array)
        saliency.append(per_window)
    return SplitIndex(
        qids=np.asarray(columns["qid"], dtype=np.int64),
        queries=columns["query"],
        vids=columns["vid"],
        durations=np.asarray(columns["duration"], dtype=np.float32),
        windows=windows,
        saliency=saliency,
        annotators=annotators,
        clip_length=clip_length,
        raw={
            key: columns[key]
            for key in ("relevant_windows", "relevant_clip_ids", "saliency_scores")
        },
    )


def sketch_matrix(dim: int) -> np.ndarray | None:
    """The fixed projection to SKETCH_DIM (None when the features are that small already)."""
    if dim <= SKETCH_DIM:
        return None
    rng = np.random.default_rng(SKETCH_SEED)
    return (rng.standard_normal((dim, SKETCH_DIM)) / math.sqrt(SKETCH_DIM)).astype(np.float32)


class VideoPool:
    """The split's video features, served by id from a raw float16 file (or sketches only)."""

    def __init__(
        self,
        path: Path | None,
        dim: int,
        offsets: dict[str, tuple[int, int]],
        sketches: np.ndarray,
        sketch_offsets: dict[str, int],
    ):
        self.path = path
        self.dim = dim
        self.offsets = offsets  # vid -> (first row, n_clips)
        self.sketches = sketches
        self.sketch_offsets = sketch_offsets
        self._fd: int | None = None

    def n_clips(self, vid: str) -> int | None:
        where = self.offsets.get(vid)
        return None if where is None else where[1]

    def sketch(self, vid: str) -> np.ndarray:
        start = self.sketch_offsets[vid]
        return self.sketches[start : start + self.offsets[vid][1]]

    def features(self, vid: str) -> np.ndarray:
        if self.path is None:
            raise AmrError("this pool was built without features (recipes only)")
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        first, count = self.offsets[vid]
        row_bytes = self.dim * 2
        buffer = bytearray(count * row_bytes)
        got = os.preadv(self._fd, [buffer], first * row_bytes)
        if got != len(buffer):
            raise AmrError(f"{self.path}: truncated feature pool (video {vid!r})")
        return np.frombuffer(buffer, dtype=np.float16).reshape(count, self.dim)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_fd": None}


def build_pool(store: Store, vids: set[str], path: Path | None, show_progress: bool) -> VideoPool:
    """One sequential pass over the store's videos: sketch every clip, and with `path` copy the
    features into a raw float16 file (written to a temporary name, renamed when complete)."""
    dim = store.meta.video_dim
    projection = sketch_matrix(dim)
    offsets: dict[str, tuple[int, int]] = {}
    sketch_parts: list[np.ndarray] = []
    rows_written = 0
    with contextlib.ExitStack() as stack:
        out = None
        if path is not None:
            out = stack.enter_context(open(stack.enter_context(atomic_path(path)), "wb"))
        groups = store.videos.iter_row_groups()
        n_groups = store.videos.num_row_groups
        for group in track(groups, n_groups, "reading videos", show_progress):
            keys = group.column("vid").to_pylist()
            wanted = [i for i, vid in enumerate(keys) if vid in vids]
            if not wanted:
                continue
            rows, row_offsets = arrow_to_matrices(group.column("features"), dim)
            for i in wanted:
                matrix = rows[row_offsets[i] : row_offsets[i + 1]]
                offsets[keys[i]] = (rows_written, len(matrix))
                rows_written += len(matrix)
                if out is not None:
                    out.write(np.ascontiguousarray(matrix, dtype="<f2").tobytes())
                values = matrix.astype(np.float32)
                sketch_parts.append(values @ projection if projection is not None else values)
    missing = vids - offsets.keys()
    if missing:
        raise AmrError(f"{store.root}: no features for video {sorted(missing)[0]!r}")
    sketches = (
        np.concatenate(sketch_parts) if sketch_parts else np.zeros((0, SKETCH_DIM), np.float32)
    )
    sketch_offsets = {vid: first for vid, (first, _) in offsets.items()}
    return VideoPool(path, dim, offsets, sketches, sketch_offsets)


def pooled_text(store: Store, qids: np.ndarray, show_progress: bool) -> np.ndarray:
    """(len(qids), text_dim) float32: each query's token features averaged, then L2-normalised."""
    position = {int(q): i for i, q in enumerate(qids)}
    pooled = np.zeros((len(qids), store.meta.text_dim), dtype=np.float32)
    found = np.zeros(len(qids), dtype=bool)
    table = store.texts
    for group in track(
        table.iter_row_groups(), table.num_row_groups, "reading queries", show_progress
    ):
        keys = group.column("qid").to_pylist()
        rows, offsets = arrow_to_matrices(group.column("features"), store.meta.text_dim)
        for i, qid in enumerate(keys):
            at = position.get(qid)
            if at is not None:
                tokens = rows[offsets[i] : offsets[i + 1]].astype(np.float32)
                pooled[at] = tokens.mean(axis=0) if len(tokens) else 0.0
                found[at] = True
    if not found.all():
        raise AmrError(f"{store.root}: no text features for query {int(qids[~found][0])}")
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return pooled / np.maximum(norms, 1e-12)
