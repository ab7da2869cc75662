"""Training batches from a corpus's Parquet row groups (or, for the baseline, a store split's
samples), assembled with numpy.

A window (a few row groups, see curriculum.py) is read whole, its eligible rows shuffled and
cut into batches. Labels are built with whole-batch numpy operations (masks, (center, width)
span targets, saliency levels and pairs); features are one memcpy per sample into the padded
batch. Loader threads each build whole windows; windows come back in plan order, so the batch
sequence does not depend on the number of threads.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch

from amr.corpus.reader import Corpus
from amr.corpus.schema import features_from_arrow
from amr.datasets.store import Store
from amr.draws import Draws
from amr.errors import AmrError
from amr.fileio import file_matches
from amr.ragged import offsets_of, positions
from amr.train.batch import Batch
from amr.train.curriculum import EpochPlan
from amr.train.labels import clip_mask, saliency_levels, saliency_pairs, span_targets
from amr.train.text import MAX_WORDS, TextBank
from amr.train.windows import crop_offsets

LABEL_COLUMNS = [
    "sample_id", "qid", "duration", "n_clips",
    "relevant_windows", "relevant_clip_ids", "saliency_scores", "negative_windows",
]  # fmt: skip
_REPLAY_STREAM = 103  # Draws stream: which replay-kind rows join an epoch (labels.py uses 101)


@dataclass(frozen=True)
class LoaderConfig:
    batch_size: int = 32
    window_rows: int = 256  # rows read and shuffled together (a few row groups)
    max_clips: int = 75
    max_words: int = MAX_WORDS
    saliency_pairs: int = 2  # (relevant, other) clip pairs per sample for the margin loss
    workers: int = 2  # loader threads
    # Every batch padded to max_clips and max_words, not to its longest video and query: one
    # shape for torch.compile (TrainConfig.compile). The padding is masked; the model's
    # outputs for the real clips and words are the same.
    static_shapes: bool = False


@dataclass
class _Group:
    labels: pa.Table  # the eligible rows
    flat: np.ndarray  # (clips, dim) float16 features of the whole row group, zero-copy
    starts: np.ndarray  # where each eligible row's clips start in `flat`


class RowSource:
    """What loader threads read from: row groups (`eligible` rows each), text, settings."""

    config: LoaderConfig
    seed: int
    video_dim: int
    clip_length: float
    eligible: np.ndarray
    text: TextBank

    def eligible_at(self, epoch: int) -> np.ndarray:
        """Rows each row group gives epoch `epoch` (the same every epoch unless replaying)."""
        return self.eligible

    def _read(self, group: int, epoch: int) -> _Group:
        raise NotImplementedError

    def window(self, plan: EpochPlan, index: int) -> list[Batch]:
        """The batches of window `index` of an epoch's plan."""
        groups = [self._read(int(g), plan.epoch) for g in plan.windows[index]]
        return make_batches(groups, self, plan.epoch, index)


class CorpusSource(RowSource):
    """A corpus's row groups; a stage reads the rows of some kinds, and with `replay` a share
    of rows of other kinds, drawn anew each epoch from (seed, sample id, epoch)."""

    def __init__(
        self,
        corpus: str | Path,
        store: str | Path,
        kinds: set[str],
        config: LoaderConfig,
        seed: int,
        replay: float = 0.0,
        replay_kinds: frozenset[str] = frozenset(),
    ):
        self.corpus = Corpus.open(corpus)
        if self.corpus.recipes_only:
            raise AmrError(
                f"{self.corpus.root}: a recipes-only corpus has no features to train on; "
                "run amr corpus materialize first"
            )
        opened = Store.open(store)
        if self.corpus.video_dim != opened.meta.video_dim:
            raise AmrError(
                f"{self.corpus.root}: video features are {self.corpus.video_dim}-d but store "
                f"{opened.root} has {opened.meta.video_dim}-d"
            )
        if self.corpus.manifest["source"].get("fingerprint") != opened.meta.fingerprint:
            raise AmrError(
                f"{self.corpus.root}: made from another store than {opened.root} "
                "(fingerprints differ)"
            )
        if not 0 <= replay < 1:
            raise AmrError(f"replay fraction must be in [0, 1), got {replay}")
        for part in self.corpus.parts:  # xxh3 at ~13 GB/s: cheap next to one epoch
            if not file_matches(self.corpus.root / part.file, part.checksum):
                raise AmrError(
                    f"{self.corpus.root / part.file}: checksum does not match manifest.json "
                    "(changed or corrupt); amr corpus verify lists every problem"
                )
        self.config, self.seed, self.kinds = config, seed, set(kinds)
        self.video_dim = self.corpus.video_dim
        self.clip_length = opened.meta.clip_length
        self.groups: list[tuple[Path, int]] = []
        self._main: list[np.ndarray] = []  # per group: rows of the stage's own kinds
        self._replayable: list[np.ndarray] = []  # per group: sample ids of replay-kind rows
        qids = []
        for path in self.corpus.part_paths():
            meta = pq.ParquetFile(path)
            for g in range(meta.num_row_groups):
                table = meta.read_row_group(g, columns=["kind", "qid", "sample_id"])
                kind = table.column("kind")
                self._main.append(_is_in(kind, self.kinds))
                replayable = _is_in(kind, set(replay_kinds) - self.kinds) if replay else None
                ids = table.column("sample_id").to_numpy()
                self._replayable.append(ids[replayable] if replayable is not None else ids[:0])
                qids.append(table.column("qid").to_numpy())
                self.groups.append((path, g))
        self.eligible = np.asarray([m.sum() for m in self._main], dtype=np.int64)
        own = int(self.eligible.sum())
        available = sum(len(r) for r in self._replayable)
        # The chance that a replay-kind row joins an epoch: replay / (1 - replay) of the
        # stage's own rows, spread over all the rows that could be replayed.
        self.replay_chance = (
            min(1.0, replay * own / ((1 - replay) * available)) if available else 0.0
        )
        self.text = TextBank.from_store(opened, np.concatenate(qids), config.max_words)
        self._local = threading.local()  # a ParquetFile per loader thread

    def _replayed(self, group: int, epoch: int) -> np.ndarray:
        ids = self._replayable[group]
        if not len(ids) or not self.replay_chance:
            return np.zeros(len(ids), dtype=bool)
        return Draws(self.seed).uniform(ids, _REPLAY_STREAM, epoch) < self.replay_chance

    def eligible_at(self, epoch: int) -> np.ndarray:
        if not self.replay_chance:
            return self.eligible
        extra = [int(self._replayed(g, epoch).sum()) for g in range(len(self.groups))]
        return self.eligible + np.asarray(extra, dtype=np.int64)

    def _read(self, group: int, epoch: int) -> _Group:
        files = self._local.__dict__.setdefault("files", {})
        path, index = self.groups[group]
        if path not in files:
            # memory_map: pages are decoded straight from the page cache (3.8 vs 2.4 GB/s)
            files[path] = pq.ParquetFile(path, memory_map=True, pre_buffer=False)
        table = files[path].read_row_group(index, columns=[*LABEL_COLUMNS, "kind", "features"])
        keep = self._main[group].copy()
        if self.replay_chance:
            replayable = np.flatnonzero(
                np.isin(table.column("sample_id").to_numpy(), self._replayable[group])
            )
            keep[replayable[self._replayed(group, epoch)]] = True
        flat, offsets = features_from_arrow(
            table.column("features"), self.video_dim, f"{path}: row group {index} "
        )
        _check_finite(flat, offsets, table, path)
        rows = np.flatnonzero(keep)
        return _Group(table.select(LABEL_COLUMNS).take(rows), flat, offsets[:-1][rows])


def _check_finite(flat: np.ndarray, offsets: np.ndarray, table: pa.Table, path: Path) -> None:
    """NaN or infinite features are an error naming the part and sample (they would otherwise
    surface as a NaN loss or a matcher traceback many steps later)."""
    finite = np.isfinite(flat).all(axis=1)
    if finite.all():
        return
    row = int(np.searchsorted(offsets, np.argmin(finite), side="right")) - 1
    sample = table.column("sample_id")[row].as_py()
    raise AmrError(f"{path}: sample {sample} has NaN or infinite features; rebuild the corpus")


def _is_in(column: pa.ChunkedArray, kinds: set[str]) -> np.ndarray:
    return pc.is_in(column, pa.array(sorted(kinds), pa.string())).to_numpy(zero_copy_only=False)


class StoreSource(RowSource):
    """A store split's real samples, in groups of `group_rows` (the baseline's data)."""

    def __init__(
        self,
        store: str | Path,
        split: str,
        config: LoaderConfig,
        seed: int,
        group_rows: int = 64,
    ):
        self.store = Store.open(store)
        samples = self.store.samples(split)
        counts = samples.column("relevant_windows").combine_chunks().value_lengths()
        unlabeled = np.flatnonzero(counts.fill_null(0).to_numpy(zero_copy_only=False) == 0)
        if len(unlabeled):
            qid = samples.column("qid")[int(unlabeled[0])].as_py()
            raise AmrError(f"{self.store.root}: split {split!r} has unlabeled queries (qid {qid})")
        self.config, self.seed = config, seed
        self.video_dim = self.store.meta.video_dim
        self.clip_length = self.store.meta.clip_length
        self.vids = samples.column("vid").to_pylist()
        n_clips = np.asarray([self.store.n_clips(v) for v in self.vids], dtype=np.int32)
        self.labels = pa.table(
            {
                "sample_id": np.arange(samples.num_rows, dtype=np.int64),
                "qid": samples.column("qid"),
                "duration": samples.column("duration"),
                "n_clips": n_clips,
                "relevant_windows": samples.column("relevant_windows"),
                "relevant_clip_ids": samples.column("relevant_clip_ids"),
                "saliency_scores": samples.column("saliency_scores"),
                "negative_windows": samples.column("wrong_spans"),  # a real sample's negatives
            }
        )
        n = samples.num_rows
        self.starts = np.arange(0, n, group_rows)
        self.eligible = np.minimum(group_rows, n - self.starts)
        self.text = TextBank.from_store(
            self.store, samples.column("qid").to_numpy(), config.max_words
        )
        self._lock = threading.Lock()  # the store's lookup cache is not thread-safe

    def _read(self, group: int, epoch: int) -> _Group:
        start, count = int(self.starts[group]), int(self.eligible[group])
        with self._lock:
            clips = [self.store.video_features(v) for v in self.vids[start : start + count]]
        flat = np.concatenate(clips)
        return _Group(
            self.labels.slice(start, count), flat, offsets_of([len(c) for c in clips])[:-1]
        )


def make_batches(groups: list[_Group], source: RowSource, epoch: int, window: int) -> list[Batch]:
    config = source.config
    labels = pa.concat_tables([g.labels for g in groups]).combine_chunks()
    n = labels.num_rows
    group_of = np.repeat(np.arange(len(groups)), [g.labels.num_rows for g in groups])
    local = positions(np.asarray([g.labels.num_rows for g in groups]))
    rng = np.random.default_rng([source.seed, epoch, window, 0xBA7C])
    order = rng.permutation(n)
    batches = []
    for start in range(0, n, config.batch_size):
        rows = order[start : start + config.batch_size]
        batches.append(_batch(labels, rows, groups, group_of, local, source, epoch))
    return batches


def _batch(
    labels: pa.Table,
    rows: np.ndarray,
    groups: list[_Group],
    group_of: np.ndarray,
    local: np.ndarray,
    source: RowSource,
    epoch: int,
) -> Batch:
    config = source.config
    size = len(rows)
    full_clips = labels.column("n_clips").to_numpy()[rows].astype(np.int64)
    n_clips = np.minimum(full_clips, config.max_clips)
    cropped = full_clips > n_clips
    sample_ids = labels.column("sample_id").to_numpy()[rows]
    windows = labels.column("relevant_windows").combine_chunks()
    # A video longer than the model is cropped to a window that holds its moment; every label
    # below is in that window's clips and seconds.
    first_clip = crop_offsets(
        windows, rows, full_clips, config.max_clips, source.clip_length, sample_ids,
        source.seed, epoch,
    )  # fmt: skip
    length = config.max_clips if config.static_shapes else int(n_clips.max())
    video = np.empty((size, length, source.video_dim), dtype=np.float16)
    # One memcpy per sample from the row group's buffer: 3.3x faster than a fancy-index
    # gather + scatter of the same bytes (0.77 vs 2.56 ms a batch of 32 at 2816-d, measured),
    # and the copies release the GIL, so loader threads run them in parallel.
    for i, (row, count) in enumerate(zip(rows, n_clips, strict=True)):
        group = groups[group_of[row]]
        start = group.starts[local[row]] + first_clip[i]
        video[i, :count] = group.flat[start : start + count]
        video[i, count:] = 0
    video_mask = np.arange(length)[None, :] < n_clips[:, None]

    duration = labels.column("duration").to_numpy()[rows].astype(np.float64)
    duration = np.where(cropped, n_clips * source.clip_length, duration)
    shift = first_clip * source.clip_length
    spans, span_counts = span_targets(windows, rows, duration, shift, cropped)
    levels = saliency_levels(labels, rows, length, first_clip)
    levels[~video_mask] = 0
    negative = clip_mask(
        labels.column("negative_windows"), rows, length, source.clip_length, first_clip
    )
    negative &= video_mask & (levels == 0)
    pos, neg = saliency_pairs(
        levels, video_mask, sample_ids, source.seed, epoch, config.saliency_pairs
    )
    qids = labels.column("qid").to_numpy()[rows]
    text, text_mask = source.text.gather(qids, config.max_words if config.static_shapes else None)
    return Batch(
        video=torch.from_numpy(video),
        video_mask=torch.from_numpy(video_mask),
        text=torch.from_numpy(text),
        text_mask=torch.from_numpy(text_mask),
        spans=torch.from_numpy(spans),
        span_counts=torch.from_numpy(span_counts),
        saliency_levels=torch.from_numpy(levels),
        negative_clips=torch.from_numpy(negative),
        saliency_pos=torch.from_numpy(pos),
        saliency_neg=torch.from_numpy(neg),
        sample_id=torch.from_numpy(sample_ids),  # fancy indexing made these copies already
        qid=torch.from_numpy(qids),
        duration=torch.from_numpy(duration),
        first_clip=torch.from_numpy(first_clip),
    )


def iterate_batches(
    source: RowSource,
    plan: EpochPlan,
    start: tuple[int, int] = (0, 0),
    pin_memory: bool = False,
) -> Iterator[tuple[tuple[int, int], Batch]]:
    """((window, batch), batch) in plan order, from `start` (for a resumed epoch).

    `workers` threads build whole windows ahead of the consumer. Threads, not processes:
    Parquet decoding and the copies release the GIL, and batches need no trip through shared
    memory (which costs a copy of every batch). The order is the plan's, whatever `workers`."""
    first_window, first_batch = start
    indices = list(range(first_window, len(plan.windows)))
    workers = max(source.config.workers, 1)

    def build(index: int) -> list[Batch]:
        batches = source.window(plan, index)
        if pin_memory:
            batches = [b.pin_memory() for b in batches]
        return batches

    with ThreadPoolExecutor(workers, thread_name_prefix="amr-loader") as pool:
        pending = deque(pool.submit(build, i) for i in indices[: workers + 1])
        queued = len(pending)
        for index in indices:
            batches = pending.popleft().result()
            if queued < len(indices):
                pending.append(pool.submit(build, indices[queued]))
                queued += 1
            skip = first_batch if index == first_window else 0
            for b in range(skip, len(batches)):
                yield (index, b), batches[b]


class Waited:
    """An iterator's items, and the seconds its consumer spent waiting for them: for the
    loader, the part of an epoch the training step did not run (metrics.jsonl's
    `waiting_for_data_s`)."""

    def __init__(self, items: Iterator):
        self.items, self.seconds = items, 0.0

    def __iter__(self) -> Waited:
        return self

    def __next__(self):
        asked = time.perf_counter()
        try:
            return next(self.items)
        finally:
            self.seconds += time.perf_counter() - asked
