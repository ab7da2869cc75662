"""Ground truth for evaluation, from an annotation file or a store split, as flat numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from amr.datasets.annotations import read_annotations
from amr.datasets.store import Store
from amr.datasets.truth import read_truth, with_true_windows
from amr.errors import AmrError
from amr.ragged import offsets_of

QVHIGHLIGHTS_CLIP_LENGTH = 2.0


@dataclass(frozen=True)
class GroundTruth:
    """One entry per query, in file order. Windows, clip ids and saliency are flat arrays cut
    into queries by their offsets (`window_offsets`, `clip_offsets`)."""

    source: str  # for messages: a file, or "STORE split NAME"
    clip_length: float
    qids: np.ndarray  # (Q,) int64
    durations: np.ndarray  # (Q,) float64
    windows: np.ndarray  # (W, 2) float64, [start, end] seconds
    window_offsets: np.ndarray  # (Q + 1,)
    clip_ids: np.ndarray  # (C,) int64, relevant clip ids
    saliency: np.ndarray  # (C, 3) int8, each annotator's score of that clip; (0, 3) if none
    clip_offsets: np.ndarray  # (Q + 1,)
    dataset: str | None = None  # the dataset a store split was imported (or shaped) from

    def __len__(self) -> int:
        return len(self.qids)

    @property
    def has_saliency(self) -> bool:
        return len(self.saliency) > 0


def as_written(values: np.ndarray) -> np.ndarray:
    """float32 values back to the float64 the annotation file held.

    Stores keep times as float32, so 24.3 comes back as 24.299999237…; the standard evaluation
    reads the JSON's 24.3. An IoU exactly at a threshold would then fall on the other side. The
    shortest decimal that round-trips a float32 is the decimal that was written (annotation
    times have far fewer than 7 significant digits), so going through it restores the value.
    """
    return np.asarray(values, dtype=np.float32).astype(str).astype(np.float64)


def ground_truth_from_table(table: pa.Table, source: str, clip_length: float) -> GroundTruth:
    """A samples table (schema.SAMPLES_SCHEMA) as ground truth; every query must be labeled."""
    windows_col = table.column("relevant_windows").combine_chunks()
    window_counts = windows_col.value_lengths().fill_null(0).to_numpy(zero_copy_only=False)
    qids = table.column("qid").to_numpy()
    unique, counts = np.unique(qids, return_counts=True)
    if len(unique) < len(qids):
        raise AmrError(
            f"{source}: qid {unique[np.argmax(counts > 1)]} is on {counts.max()} rows; evaluation "
            "needs one row per query (an exported corpus's train split reuses qids)"
        )
    unlabeled = np.flatnonzero(window_counts == 0)
    if len(unlabeled):
        raise AmrError(
            f"{source}: qid {qids[unlabeled[0]]} has no relevant_windows "
            f"({len(unlabeled)} unlabeled queries; is this a test split?)"
        )
    flat_windows = windows_col.flatten()
    if len(flat_windows) and not np.all(flat_windows.value_lengths().to_numpy() == 2):
        raise AmrError(f"{source}: a relevant window is not [start, end]")
    points = flat_windows.flatten().to_numpy(zero_copy_only=False)
    clip_col = table.column("relevant_clip_ids").combine_chunks()
    saliency_col = table.column("saliency_scores").combine_chunks()
    clip_counts = clip_col.value_lengths().fill_null(0).to_numpy(zero_copy_only=False)
    saliency_counts = saliency_col.value_lengths().fill_null(0).to_numpy(zero_copy_only=False)
    has_saliency = bool(saliency_counts.any())
    if has_saliency:
        mismatch = np.flatnonzero(saliency_counts != clip_counts)
        if len(mismatch):
            raise AmrError(
                f"{source}: qid {qids[mismatch[0]]}: saliency_scores and "
                "relevant_clip_ids differ in length"
            )
        scores = saliency_col.flatten()
        if len(scores) and not np.all(scores.value_lengths().to_numpy() == 3):
            raise AmrError(f"{source}: saliency_scores must have 3 annotators' scores per clip")
        saliency = scores.flatten().to_numpy(zero_copy_only=False).astype(np.int8).reshape(-1, 3)
    else:
        saliency = np.zeros((0, 3), dtype=np.int8)
    return GroundTruth(
        source=source,
        clip_length=clip_length,
        qids=qids.astype(np.int64),
        durations=as_written(table.column("duration").to_numpy()),
        windows=as_written(points).reshape(-1, 2),
        window_offsets=offsets_of(window_counts),
        clip_ids=clip_col.flatten().to_numpy(zero_copy_only=False).astype(np.int64),
        saliency=saliency,
        clip_offsets=offsets_of(clip_counts),
    )


def load_ground_truth(
    annotations: str | Path | None = None,
    store: str | Path | None = None,
    split: str | None = None,
    clip_length: float | None = None,
    true_extents: bool = False,
) -> GroundTruth:
    """Ground truth from an annotation file (JSON lines) or from a split of a store.

    The clip length (for saliency: a video has int(duration / clip length) clips) is the
    store's, or `clip_length`, or QVHighlights' 2 s for an annotation file. With
    `true_extents` (synthetic stores), windows are the events' true extents, not the labels.
    """
    if (annotations is None) == (store is None):
        raise AmrError("give either an annotation file or a store and split")
    if annotations is not None:
        length = clip_length or QVHIGHLIGHTS_CLIP_LENGTH
        table, _ = read_annotations(annotations, length)
        return ground_truth_from_table(table, str(annotations), length)
    if split is None:
        raise AmrError("--store needs --split")
    opened = Store.open(store)
    length = clip_length or opened.meta.clip_length
    samples, source = opened.samples(split), f"{opened.root} split {split}"
    if true_extents:
        samples = with_true_windows(samples, read_truth(opened.root, split), source)
        source += " (true extents)"
    truth = ground_truth_from_table(samples, source, length)
    return replace(truth, dataset=dataset_of_split(opened, split))


# synthetic presets shaped after a dataset's files, by the dataset they stand for
PRESET_DATASETS = {"qvh": "qvhighlights", "charades": "charades", "activitynet": "activitynet",
                   "tacos": "tacos", "nlq": "nlq"}  # fmt: skip


def dataset_of_split(store: Store, split: str) -> str | None:
    """The dataset a store split came from (`amr datasets import KIND`, or a synthetic world
    shaped after one), so that `amr eval` scores it as that dataset's papers do."""
    sources = store.meta.sources
    for entry in reversed(sources.get("imports", [])):
        if split in entry.get("splits", ()):
            return entry.get("dataset")
    return PRESET_DATASETS.get(sources.get("config", {}).get("preset", ""))
