"""`amr show --corpus`: augmented samples as timelines — the host video, each pasted segment on
its own track (the moment, negatives; fades as ramps), the labels, the saliency curve, and the
difficulty with its components in the title."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from amr.corpus.inspect import connect, select_only, sql_error
from amr.corpus.reader import Corpus
from amr.corpus.schema import COMPONENTS
from amr.errors import AmrError
from amr.show.timeline import Panel, Span, Track, draw, png_path, saliency_curve

COLUMNS = ("sample_id", "kind", "query", "host_vid", "duration", "n_clips", "relevant_windows",
           "relevant_clip_ids", "saliency_scores", "negative_windows", "difficulty", "recipe",
           *COMPONENTS)  # fmt: skip


@dataclass(frozen=True)
class Selection:
    """Which rows to draw: sample ids, or a SQL condition over the view `corpus`."""

    sample_ids: tuple[int, ...] = ()
    where: str | None = None
    limit: int = 12


def select_rows(corpus: Corpus, selection: Selection) -> list[dict[str, Any]]:
    """The chosen rows' labels and recipes (never the features), in the order asked for."""
    if bool(selection.sample_ids) == (selection.where is not None):
        raise AmrError("give --sample-id (repeatable) or --where, one of the two")
    if selection.limit < 1:
        raise AmrError(f"--limit must be at least 1, got {selection.limit}")
    db = connect(corpus)
    try:
        if selection.where is not None:
            ids = [
                row[0]
                for row in db.execute(
                    select_only(f"SELECT sample_id FROM corpus WHERE {selection.where}", "--where")
                ).fetchmany(selection.limit)
            ]
        else:
            ids = list(dict.fromkeys(selection.sample_ids))
        if not ids:
            raise AmrError(f"{corpus.root}: no row matches --where {selection.where}")
        marks = ", ".join("?" * len(ids))
        found = db.execute(
            f"SELECT {', '.join(COLUMNS)} FROM corpus WHERE sample_id IN ({marks})", ids
        )
        names = [d[0] for d in found.description]
        rows = {row[0]: dict(zip(names, row, strict=True)) for row in found.fetchall()}
    except duckdb.Error as exc:
        raise sql_error(exc, "--where") from None
    missing = [i for i in ids if i not in rows]
    if missing:
        raise AmrError(f"{corpus.root}: no sample {missing[0]}")
    return [rows[i] for i in ids]


def sample_panel(row: dict[str, Any], clip_length: float) -> Panel:
    """One sample: a track for the host, one per pasted segment, one for the labels."""
    recipe = row["recipe"]
    host = recipe[0]
    tracks = [Track(f"host {host['vid']}", [Span(0, row["duration"], "host")])]
    negatives = row["negative_windows"] or []
    labelled = row["relevant_windows"] or []
    for paste in recipe[1:]:
        start = paste["target_start"] * clip_length
        end = min((paste["target_start"] + len(paste["clips"])) * clip_length, row["duration"])
        role = _role(start, end, labelled, negatives)
        weights = None if paste["alpha"] is None else np.asarray(paste["alpha"], np.float64)
        first, last = paste["clips"][0], paste["clips"][-1]
        source = f"clip {first}" if first == last else f"clips {first}–{last}"
        tracks.append(Track(f"{role} {paste['vid']}", [Span(start, end, role, source, weights)]))
    label_spans = [Span(s, e, "label") for s, e in labelled]
    label_spans += [Span(s, e, "negative", "negative", opacity=0.3) for s, e in negatives]
    curve = saliency_curve(row["relevant_clip_ids"] or [], row["saliency_scores"] or [],
                           clip_length)  # fmt: skip
    tracks.append(Track("labels · saliency", label_spans, curve))
    parts = ", ".join(f"{name} {row[name]:.2f}" for name in COMPONENTS)
    query = row["query"] if len(row["query"]) <= 70 else row["query"][:67] + "…"
    title = (
        f"#{row['sample_id']} {row['kind']} · difficulty {row['difficulty']:.2f}\n({parts})\n"
        f"“{query}”"
    )
    return Panel(title, float(row["duration"]), tracks)


def _role(start: float, end: float, labelled, negatives) -> str:
    def overlaps(windows) -> bool:
        return any(min(end, e) - max(start, s) > 0 for s, e in windows)

    if overlaps(labelled):
        return "moment"
    return "negative" if overlaps(negatives) else "paste"


def show_samples(
    corpus_path: str | Path, selection: Selection, out: str | Path, overwrite: bool = False
) -> list[int]:
    """Draw the chosen samples into one PNG at `out`; returns their sample ids."""
    path = png_path(out, overwrite)
    corpus = Corpus.open(corpus_path)
    rows = select_rows(corpus, selection)
    clip_length = float(corpus.manifest["source"]["clip_length"])
    draw([sample_panel(row, clip_length) for row in rows], path)
    return [int(row["sample_id"]) for row in rows]
