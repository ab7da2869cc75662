"""`amr show --store`: a query's ground truth and saliency, and each predictions file's top
windows with their scores on a track of its own, so runs can be compared on the same query."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from amr.datasets.query_ids import query_code
from amr.datasets.store import Store
from amr.errors import AmrError
from amr.eval.predictions import Predictions, read_predictions
from amr.show.timeline import (
    Panel,
    Span,
    Track,
    assign_lanes,
    draw,
    model_saliency_curve,
    png_path,
    saliency_curve,
)


def _track_name(path: Path, paths: Sequence[Path]) -> str:
    """A predictions file's name on its track: its stem, or its run directory when stems clash."""
    stems = [p.stem for p in paths]
    return path.parent.name if stems.count(path.stem) > 1 else path.stem


def query_panel(sample: dict, clip_length: float, runs: Sequence[Predictions], top_k: int) -> Panel:
    """One query: the labelled windows and saliency, then a track per predictions file (its
    top windows, its saliency when it has one, and the ground truth shaded behind)."""
    curve = saliency_curve(sample["relevant_clip_ids"] or [], sample["saliency_scores"] or [],
                           clip_length)  # fmt: skip
    windows_of_truth = [(float(s), float(e)) for s, e in sample["relevant_windows"] or []]
    truth = [Span(s, e, "truth") for s, e in windows_of_truth]
    tracks = [Track("ground truth · saliency", truth, curve)]
    paths = [run.path for run in runs]
    for run in runs:
        index = np.flatnonzero(run.qids == query_code(sample["qid"]))
        if not len(index):
            raise AmrError(f"{run.path}: no prediction for qid {sample['qid']}")
        i = int(index[0])
        windows = run.windows[run.window_offsets[i] : run.window_offsets[i + 1]]
        windows = windows[np.argsort(-windows[:, 2], kind="stable")][:top_k]  # best first
        spans = [
            Span(s, e, "prediction", f"#{rank} {score:.2f}", f"#{rank}",
                 opacity=0.3 + 0.6 * min(max(score, 0), 1))
            for rank, (s, e, score) in enumerate(windows, 1)
        ]  # fmt: skip
        curve = None
        if run.saliency is not None and run.saliency_offsets is not None:
            scores = run.saliency[run.saliency_offsets[i] : run.saliency_offsets[i + 1]]
            curve = model_saliency_curve(scores, clip_length)
        name = _track_name(run.path, paths)
        tracks.append(Track(name, assign_lanes(spans), curve, windows_of_truth))
    query = sample["query"] if len(sample["query"]) <= 90 else sample["query"][:87] + "…"
    title = f"qid {sample['qid']} · {sample['vid']} · “{query}”"
    return Panel(title, float(sample["duration"]), tracks)


def show_queries(
    store_path: str | Path,
    split: str,
    qids: Sequence[int | str],
    predictions: Sequence[str | Path],
    out: str | Path,
    top_k: int = 5,
    overwrite: bool = False,
) -> list[int | str]:
    """Draw the chosen queries (one panel each) into one PNG at `out`; returns their qids.
    A qid is an integer or, for datasets that name queries by strings, the string; "123" on
    the command line reads as 123."""
    path = png_path(out, overwrite)
    if not qids:
        raise AmrError("give at least one --qid")
    if top_k < 1:
        raise AmrError(f"--top-k must be at least 1, got {top_k}")
    store = Store.open(store_path)
    samples = store.samples(split)
    by_qid = dict(zip(samples.column("qid").to_pylist(), range(samples.num_rows), strict=True))
    given = [_as_id(q) for q in qids]
    missing = [q for q in given if query_code(q) not in by_qid]
    if missing:
        raise AmrError(f"{store.root}: split {split!r} has no qid {missing[0]}")
    runs = [read_predictions(path) for path in predictions]
    rows = samples.take([by_qid[query_code(q)] for q in given]).to_pylist()
    for row, qid in zip(rows, given, strict=True):
        row["qid"] = qid  # as the dataset names it (a string id's code is query_code(qid))
    panels = [query_panel(row, store.meta.clip_length, runs, top_k) for row in rows]
    draw(panels, path)
    return given


def _as_id(qid: int | str) -> int | str:
    text = str(qid)
    return int(text) if text.lstrip("-").isdigit() else text
