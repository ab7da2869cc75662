"""`amr features extract`: videos and annotation files → a store, through CLIP.

Each video's clip features and each query's token features are written first as Moment-DETR
feature files (`video/{vid}.npz`, key `features`; `text/qid{qid}.npz`, key
`last_hidden_state`), one atomic file per video, so a stopped or failed run keeps every video
done and `--resume` continues after it. Then `amr datasets import` reads them into the store, with
its checks and guarantees (atomic, fingerprinted). With `--also-npz DIR` the files are kept
there for other tools; otherwise they are removed once the store is written.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from amr.console import track
from amr.datasets.annotations import read_annotations
from amr.datasets.importer import DATASETS, ImportConfig, ImportSummary, import_dataset, ordered_map
from amr.datasets.store import Store, is_store
from amr.errors import AmrError
from amr.features.clip import ClipEncoder
from amr.features.video import find_videos, read_clip_frames
from amr.fileio import atomic_path
from amr.writer_lock import one_writer


@dataclass
class ExtractConfig:
    videos: Path  # a directory of {vid}.mp4 files, or a file listing video paths
    annotations: list[tuple[str, Path]]  # (split, annotation file) pairs
    out: Path  # the store to write
    model: str  # a CLIP model directory, or a name in the Hugging Face cache
    dataset: str = "qvhighlights"  # the annotation format
    clip_length: float | None = None  # seconds [default: the dataset's]
    frames_per_clip: int = 1
    device: str = "auto"
    batch_size: int = 64  # frames or queries per encoder batch
    workers: int = 2  # decoding threads
    features_dir: Path | None = None  # --also-npz: keep the feature files here
    resume: bool = False

    def check(self) -> None:
        if self.dataset not in DATASETS:
            raise AmrError(f"unknown dataset {self.dataset!r} (known: {', '.join(DATASETS)})")
        if self.frames_per_clip < 1 or self.batch_size < 1 or self.workers < 1:
            raise AmrError("--frames-per-clip, --batch and --workers must be at least 1")
        if self.clip_length is not None and self.clip_length <= 0:
            raise AmrError(f"--clip-length must be positive, got {self.clip_length:g}")


@one_writer(lambda call: call["config"].out)
def extract_features(config: ExtractConfig, show_progress: bool = True) -> ImportSummary:
    """The store of `config`; with --resume, a store that already holds every split is left as
    it is (the summary then has no reports)."""
    config.check()
    if config.resume and is_store(config.out):
        existing = Store.open(config.out)
        if all(split in existing.meta.splits for split, _ in config.annotations):
            return ImportSummary(existing.meta)
    clip_length = config.clip_length or DATASETS[config.dataset]
    tables = [read_annotations(path, clip_length)[0] for _, path in config.annotations]
    vids = sorted({vid for table in tables for vid in table.column("vid").to_pylist()})
    queries = {
        qid: query
        for table in tables
        for qid, query in zip(
            table.column("qid").to_pylist(), table.column("query").to_pylist(), strict=True
        )
    }
    files = find_videos(config.videos, vids)  # every vid has a video before any work starts
    work = config.features_dir or config.out.with_name(config.out.name + ".extract")
    if work.exists() and any(work.iterdir()) and not config.resume:
        raise AmrError(f"{work}: holds feature files of an earlier run; pass --resume to keep them")
    (work / "video").mkdir(parents=True, exist_ok=True)
    (work / "text").mkdir(parents=True, exist_ok=True)
    encoder = ClipEncoder.load(config.model, config.device)

    todo_text = [q for q in queries if not (work / "text" / f"qid{q}.npz").is_file()]
    batches = range(0, len(todo_text), config.batch_size)
    for start in track(batches, len(batches), "encoding queries", show_progress):
        chunk = todo_text[start : start + config.batch_size]
        states = encoder.encode_queries([queries[q] for q in chunk], config.batch_size)
        for qid, matrix in zip(chunk, states, strict=True):
            _save(work / "text" / f"qid{qid}.npz", "last_hidden_state", matrix)

    todo = [vid for vid in vids if not (work / "video" / f"{vid}.npz").is_file()]

    def decode(vid: str):
        frames = read_clip_frames(
            files[vid], clip_length, config.frames_per_clip, encoder.image_size
        )
        return vid, frames

    decoded = ordered_map(decode, todo, config.workers, window=2 * config.workers)
    for vid, clip_frames in track(decoded, len(todo), "encoding videos", show_progress):
        features = encoder.clip_features(clip_frames.frames, config.frames_per_clip)
        _save(work / "video" / f"{vid}.npz", "features", features)

    summary = import_dataset(
        ImportConfig(
            dataset=config.dataset,
            annotations=list(config.annotations),
            video_features=[work / "video"],
            text_features=work / "text",
            out=config.out,
            clip_length=clip_length,
            extractor={"model": str(config.model), "frames_per_clip": config.frames_per_clip},
            source_names=(("clip",), "clip_text"),  # what the encoder is, not the work folders
        ),
        show_progress=show_progress,
    )
    if config.features_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return summary


def _save(path: Path, key: str, matrix: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **{key: matrix.astype(np.float32)})
