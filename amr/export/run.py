"""`amr corpus export`: a corpus (and its store's held-out splits) in a trainer's own layout.

The corpus is read one row group at a time, so memory stays flat however large it grows.
Everything is written into `.NAME.exporting` beside `--out` and swapped into place whole at
the end: an interrupted export leaves any earlier output untouched, and `--resume` finishes
it (every file there was renamed into place whole, so it is skipped, not rewritten).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from amr import __version__
from amr.console import track
from amr.corpus.reader import Corpus
from amr.corpus.schema import features_from_arrow
from amr.datasets.schema import arrow_to_matrices
from amr.datasets.store import FeatureSource, Store
from amr.errors import AmrError
from amr.export.files import FileQueue, SourceSlice, TextFiles, VideoFiles
from amr.export.formats import TargetFormat, target_format
from amr.export.plan import (
    EXPORT_FILE,
    ROWS,
    RUN_FILE,
    ExportConfig,
    eval_splits,
    find_store,
    prepare_staging,
    run_key,
)
from amr.export.readme import render_readme
from amr.export.records import RowCounts, annotation_records
from amr.fileio import atomic_path, swap_into_place, write_json
from amr.writer_lock import one_writer

EXPORT_FORMAT = "amr-export"
CORPUS_COLUMNS = [
    "sample_id", "kind", "qid", "query", "host_vid", "duration", "n_clips",
    "relevant_windows", "relevant_clip_ids", "saliency_scores", "difficulty", "features",
]  # fmt: skip


@dataclass
class ExportSummary:
    out: Path
    format: str
    dset_name: str
    files: dict[str, str]  # split → annotation file (relative)
    rows: RowCounts
    eval_rows: dict[str, RowCounts]
    videos: int
    queries: int
    feature_bytes: int
    seconds: float
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["out"] = str(self.out)
        return body


@one_writer(lambda call: call["config"].out)
def export_corpus(config: ExportConfig, show_progress: bool = True) -> ExportSummary:
    """Write `config.corpus` in `config.format`'s layout at `config.out`."""
    started = time.perf_counter()
    fmt = target_format(config.format)
    if config.rows not in ROWS:
        raise AmrError(f"--rows must be one of {', '.join(ROWS)}, got {config.rows!r}")
    if config.max_v_l < 1:
        raise AmrError(f"--max-v-l must be at least 1, got {config.max_v_l}")
    corpus = Corpus.open(config.corpus)
    if corpus.recipes_only:
        raise AmrError(
            f"{corpus.root}: a recipes-only corpus has no features to export; "
            "run amr corpus materialize first"
        )
    store = Store.open(find_store(corpus, config.store))
    if not store.meta.video_sources or store.meta.text_source is None:
        raise AmrError(
            f"{store.root}: store.json does not record its feature sources (made by an older "
            "amr); re-import it with amr datasets import, or re-run amr datasets synth"
        )
    splits = eval_splits(store, config.eval_splits, corpus.manifest["source"].get("split"))
    out = Path(config.out)
    key = run_key(corpus, config, splits)
    staging = prepare_staging(out, config, key)

    dset = fmt.dset_name(store.meta)
    order = fmt.ordered_sources(store.meta.video_sources)
    starts = np.concatenate([[0], np.cumsum([s.dim for s in store.meta.video_sources])])
    folders = [fmt.video_folder(store.meta.video_sources[i], dset) for i in order]
    if len(set(folders)) < len(folders):
        raise AmrError(f"{store.root}: two video sources map to the folder {folders[0]!r}")
    queue = FileQueue()
    videos = VideoFiles(
        [
            SourceSlice(staging / folder, int(starts[i]), int(starts[i + 1]))
            for folder, i in zip(folders, order, strict=True)
        ],
        resume=config.resume,
        queue=queue,
    )
    text_folder = fmt.text_folder(store.meta.text_source, dset)
    texts = TextFiles(staging / text_folder, fmt.text_name(dset), config.resume, queue)

    files = {"train": fmt.annotation_file("train", dset)}
    if config.rows == "all":
        files["train_augmented"] = fmt.annotation_file("train_augmented", dset)
        files["train_real"] = fmt.annotation_file("train_real", dset)
    files.update({split: fmt.annotation_file(split, dset) for split in splits})
    try:
        with _Lines(staging, files, store.query_ids) as lines:
            rows = _write_corpus(corpus, store, config, videos, lines, show_progress)
            eval_rows = {
                split: _write_split(store, split, config.max_v_l, videos, lines) for split in splits
            }
        _write_texts(store, lines.qids, texts, show_progress)
    finally:
        queue.close()

    warnings = []
    if rows.over_max_v_l:
        warnings.append(
            f"{rows.over_max_v_l:,} rows have more than {config.max_v_l} clips (the longest "
            f"{rows.longest}); the loaders cut such videos silently: give the trainer "
            f"--max_v_l {rows.longest} (and export with --max-v-l {rows.longest})"
        )
    if dset == "qvhighlights" and fmt.name == "univtg" and "test" in str(out.resolve()):
        warnings.append(
            f"{out}: UniVTG replaces the windows of any QVHighlights file whose path holds "
            "'test' with [0, 150]; export to a path without 'test'"
        )
    summary = ExportSummary(
        out=out,
        format=fmt.name,
        dset_name=dset,
        files=files,
        rows=rows,
        eval_rows=eval_rows,
        videos=len(videos.written),
        queries=texts.count,
        feature_bytes=queue.bytes,
        seconds=0.0,
        warnings=warnings,
    )
    sources = [
        (store.meta.video_sources[i], folder) for i, folder in zip(order, folders, strict=True)
    ]
    description = export_description(
        fmt, store, corpus, config, summary, key["corpus"], sources, text_folder
    )
    write_json(staging / EXPORT_FILE, description)
    with atomic_path(staging / "README.md") as tmp:
        tmp.write_text(
            render_readme(fmt.trainers, fmt.train_section, description, out), encoding="utf-8"
        )
    if fmt.config_file is not None:
        name, render = fmt.config_file
        with atomic_path(staging / name) as tmp:
            tmp.write_text(render(description, out.resolve()), encoding="utf-8")
    (staging / RUN_FILE).unlink()
    os.sync()  # the npz files were renamed without an fsync each; one flush covers them all
    swap_into_place(staging, out)
    summary.seconds = round(time.perf_counter() - started, 2)
    return summary


class _Lines:
    """The annotation files, written line by line to temporary names and renamed at the end."""

    def __init__(self, root: Path, files: dict[str, str], string_ids: dict[int, str]):
        self.paths = {split: root / name for split, name in files.items()}
        self.qids: set[int] = set()
        self.string_ids = string_ids  # a dataset's string qids are written as the strings
        self._files: dict[str, Any] = {}

    def __enter__(self) -> _Lines:
        for split, path in self.paths.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            self._files[split] = open(path.with_name(f".{path.name}.tmp"), "w", encoding="utf-8")
        return self

    def write(self, split: str, records: list[dict[str, Any]]) -> None:
        self.qids.update(r["qid"] for r in records)
        if self.string_ids:
            records = [{**r, "qid": self.string_ids.get(r["qid"], r["qid"])} for r in records]
        self._files[split].writelines(json.dumps(r) + "\n" for r in records)

    def __exit__(self, kind, value, traceback) -> None:
        for split, f in self._files.items():
            f.close()
            if kind is None:
                os.replace(f.name, self.paths[split])


def _write_corpus(
    corpus: Corpus,
    store: Store,
    config: ExportConfig,
    videos: VideoFiles,
    lines: _Lines,
    show_progress: bool,
) -> RowCounts:
    kinds = ROWS[config.rows]
    counts = RowCounts()
    clip_length = store.meta.clip_length
    parts = [(path, pq.ParquetFile(path)) for path in corpus.part_paths()]
    groups = [(path, part, g) for path, part in parts for g in range(part.num_row_groups)]
    for path, part, g in track(groups, len(groups), "exporting rows", show_progress):
        table = part.read_row_group(g, columns=CORPUS_COLUMNS)
        if kinds is not None:
            table = table.filter(pc.is_in(table.column("kind"), pa.array(sorted(kinds))))
        if table.num_rows == 0:
            continue
        kind = table.column("kind").to_pylist()
        ids = table.column("sample_id").to_pylist()
        hosts = table.column("host_vid").to_pylist()
        vids = [
            h if k == "original" else f"{h}_amr{i}"
            for h, k, i in zip(hosts, kind, ids, strict=True)
        ]
        for vid, k in zip(vids, kind, strict=True):
            if k != "original" and vid in store.videos:
                raise AmrError(f"{path}: exported vid {vid!r} is a real video of the store too")
        n_clips = table.column("n_clips").to_numpy()
        difficulty = np.round(table.column("difficulty").to_numpy().astype(np.float64), 6)
        extras = {"amr_sample_id": ids, "kind": kind, "difficulty": difficulty.tolist()}
        records, kept, group_counts = annotation_records(
            table, vids, n_clips, clip_length, config.max_v_l, extras
        )
        flat, offsets = features_from_arrow(table.column("features"), store.meta.video_dim)
        for row in np.flatnonzero(kept):
            if offsets[row + 1] - offsets[row] != n_clips[row]:
                raise AmrError(f"{path}: sample {ids[row]} has features of another length")
            videos.write(vids[row], flat[offsets[row] : offsets[row + 1]])
        lines.write("train", records)
        if config.rows == "all":
            lines.write("train_real", [r for r in records if r["kind"] == "original"])
            lines.write("train_augmented", [r for r in records if r["kind"] != "original"])
        counts.add(group_counts)
    return counts


def _write_split(
    store: Store, split: str, max_v_l: int, videos: VideoFiles, lines: _Lines
) -> RowCounts:
    """A store split's real rows, in the same layout, for the trainer's own evaluation."""
    table = store.samples(split)
    vids = table.column("vid").to_pylist()
    missing = next((v for v in vids if v not in store.videos), None)
    if missing is not None:
        raise AmrError(
            f"{store.root}: split {split!r} names video {missing!r} it has no features for"
        )
    n_clips = np.asarray([store.n_clips(v) for v in vids], dtype=np.int64)
    records, kept, counts = annotation_records(
        table, vids, n_clips, store.meta.clip_length, max_v_l, {"kind": ["original"] * len(vids)}
    )
    for row in np.flatnonzero(kept):
        videos.write(vids[row], store.video_features(vids[row]))
    lines.write(split, records)
    return counts


def _write_texts(store: Store, qids: set[int], texts: TextFiles, show_progress: bool) -> None:
    """Every query the annotation files name, streamed from the store's text file."""
    left = set(qids)
    groups = track(
        store.texts.iter_row_groups(), store.texts.num_row_groups, "exporting text", show_progress
    )
    for table in groups:
        keys = table.column("qid").to_pylist()
        if left.isdisjoint(keys):
            continue
        rows, offsets = arrow_to_matrices(table.column("features"), store.meta.text_dim)
        for i, qid in enumerate(keys):
            if qid in left:
                texts.write(store.query_ids.get(qid, qid), rows[offsets[i] : offsets[i + 1]])
                left.discard(qid)
    if left:
        raise AmrError(f"{store.root}: no text features for qid {min(left)}")


def export_description(
    fmt: TargetFormat,
    store: Store,
    corpus: Corpus,
    config: ExportConfig,
    summary: ExportSummary,
    corpus_fingerprint: str,
    sources: list[tuple[FeatureSource, str]],
    text_folder: str,
) -> dict[str, Any]:
    """export.json: what a script needs to point a trainer at the export. `sources` are the
    video sources with their folders, in the trainer's concatenation order."""
    v_feat_dim = store.meta.video_dim
    files = summary.files
    return {
        "format": fmt.name,
        "written_by": EXPORT_FORMAT,
        "amr_version": __version__,
        "dset_name": summary.dset_name,
        "train": files["train"],
        "train_parts": {
            part: files[f"train_{part}"]
            for part in ("augmented", "real")
            if f"train_{part}" in files
        },
        "eval": {split: files[split] for split in summary.eval_rows},
        "v_feat_dirs": [folder for _, folder in sources],
        "t_feat_dir": text_folder,
        "text_file": fmt.text_name(summary.dset_name),
        "v_feat_dim": v_feat_dim,
        "trainer_v_feat_dim": v_feat_dim + 2 if fmt.tef_in_v_feat_dim else v_feat_dim,
        "t_feat_dim": store.meta.text_dim,
        "clip_length": store.meta.clip_length,
        "max_v_l": config.max_v_l,
        "rows": asdict(summary.rows),
        "eval_rows": {split: asdict(c) for split, c in summary.eval_rows.items()},
        "sources": [{"name": s.name, "dim": s.dim, "folder": f} for s, f in sources],
        "corpus": {
            "path": str(corpus.root),
            "rows": corpus.rows,
            "fingerprint": corpus_fingerprint,
            "selected": config.rows,
        },
        "store": {
            "name": store.meta.name,
            "path": str(store.root),
            "fingerprint": store.meta.fingerprint,
        },
        "saliency": (
            "the data's own scores; rows without any get [4, 4, 4] for each labelled clip "
            f"({summary.rows.constant_saliency:,} training rows)"
        ),
    }
