"""Drawing timelines: one panel per sample, tracks of spans over seconds (matplotlib, off-screen).

A panel has named tracks, top to bottom. A span is a rectangle on its track; a span with a
per-clip weight (a cross-fade) is drawn as a ramp whose height follows the weight; a curve
(saliency) is drawn inside a track, scaled to its height.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from amr.errors import AmrError
from amr.fileio import atomic_path, check_output_file

PNG_SOFTWARE = "amr show"  # in every PNG amr draws: a file amr may replace
COLOURS = {
    "host": "#b0b0b0",
    "moment": "#1f77b4",
    "negative": "#d62728",
    "paste": "#9467bd",
    "label": "#2ca02c",
    "truth": "#2ca02c",
    "prediction": "#ff7f0e",
}


ROW, LANE = 0.3, 0.12  # inches: a track, and each extra lane in it


@dataclass
class Span:
    start: float  # seconds
    end: float
    role: str  # a COLOURS key
    text: str = ""
    weights: np.ndarray | None = None  # per clip in [0, 1]: a ramp (cross-fade); None: solid
    opacity: float = 0.85
    lane: int = 0  # overlapping spans of one track sit in lanes, one above the other


@dataclass
class Track:
    name: str
    spans: list[Span] = field(default_factory=list)
    curve: tuple[np.ndarray, np.ndarray] | None = None  # (seconds, values in [0, 1])

    @property
    def lanes(self) -> int:
        return 1 + max((span.lane for span in self.spans), default=0)


def assign_lanes(spans: list[Span]) -> list[Span]:
    """Put each span in the lowest lane where it overlaps nothing already placed (in order)."""
    ends: list[list[tuple[float, float]]] = []
    for span in spans:
        lane = next(
            (i for i, taken in enumerate(ends)
             if all(span.end <= s or span.start >= e for s, e in taken)),
            len(ends),
        )  # fmt: skip
        if lane == len(ends):
            ends.append([])
        ends[lane].append((span.start, span.end))
        span.lane = lane
    return spans


@dataclass
class Panel:
    title: str
    duration: float
    tracks: list[Track]


def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    return plt


def draw(panels: Sequence[Panel], out: Path, width: float = 11.0) -> Path:
    """All panels stacked in one PNG (a contact sheet), written atomically.

    One axes in inches holds every panel, and the spans are one collection: a figure of
    axes per panel spent most of its time on matplotlib's tick machinery."""
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.colors import to_rgba
    from matplotlib.ticker import MaxNLocator

    plt = pyplot()
    longest = max(len(track.name) for panel in panels for track in panel.tracks)
    left = min(3.5, 0.3 + 0.062 * longest)  # room for the track names, at font size 8
    plot_width = width - left - 0.25
    title_height, axis_height = 0.45, 0.32
    heights = [[ROW + LANE * (t.lanes - 1) for t in panel.tracks] for panel in panels]
    total = sum(title_height + sum(h) + axis_height for h in heights) + 0.25
    figure = plt.figure(figsize=(width, total))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, width)
    axes.set_ylim(0, total)
    axes.axis("off")
    polygons, colours, lines = [], [], []
    top = total - 0.05
    for panel, track_heights in zip(panels, heights, strict=True):
        axes.text(left, top, panel.title, fontsize=8, va="top", ha="left")
        scale = plot_width / panel.duration
        y = top - title_height
        for track, height in zip(panel.tracks, track_heights, strict=True):
            base, lane = y - height, (height - 0.06) / track.lanes
            axes.text(left - 0.08, base + height / 2, track.name, fontsize=8, ha="right",
                      va="center")  # fmt: skip
            for span in track.spans:
                x0, x1 = left + span.start * scale, left + span.end * scale
                bottom = base + 0.03 + span.lane * lane
                polygons.append(_outline(x0, x1, bottom, lane * 0.92, span.weights))
                colours.append(to_rgba(COLOURS[span.role], span.opacity))
                if span.text:
                    axes.text(x0, bottom + lane / 2, f" {span.text}", va="center", ha="left",
                              fontsize=7 if track.lanes < 3 else 6)  # fmt: skip
            if track.curve is not None:
                seconds, values = track.curve
                axes.plot(left + seconds * scale, base + 0.03 + (height - 0.06) * values,
                          color="black", lw=0.8)  # fmt: skip
            y = base
        lines.append([(left, y), (left + plot_width, y)])
        for tick in MaxNLocator(8).tick_values(0, panel.duration):
            if 0 <= tick <= panel.duration:
                x = left + tick * scale
                lines.append([(x, y), (x, y - 0.05)])
                axes.text(x, y - 0.07, f"{tick:g}", fontsize=7, ha="center", va="top")
        top = y - axis_height
    axes.text(left + plot_width / 2, top + 0.1, "seconds", fontsize=8, ha="center", va="top")
    axes.add_collection(PolyCollection(polygons, facecolors=colours, linewidths=0))
    axes.add_collection(LineCollection(lines, colors="black", linewidths=0.6))
    with atomic_path(out) as tmp:
        figure.savefig(
            tmp, format="png", dpi=100, metadata={"Software": PNG_SOFTWARE},
            pil_kwargs={"compress_level": 1},
        )  # fmt: skip
    plt.close(figure)
    return out


def _outline(x0: float, x1: float, bottom: float, height: float, weights) -> np.ndarray:
    """A span's polygon: a rectangle, or a staircase ramp following per-clip weights."""
    if weights is None:
        return np.array([(x0, bottom), (x1, bottom), (x1, bottom + height), (x0, bottom + height)])
    xs = np.repeat(np.linspace(x0, x1, len(weights) + 1), 2)[1:-1]
    ys = bottom + height * np.repeat(np.clip(weights, 0, 1), 2)
    return np.column_stack([np.r_[xs, xs[::-1]], np.r_[ys, np.full(len(xs), bottom)]])


def saliency_curve(
    clip_ids: Sequence[int], scores: Sequence[Sequence[float]] | Sequence[float], clip_length: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """The mean score per clip, at clip centres, scaled to [0, 1] (annotator scores are 0–4)."""
    if not len(clip_ids):
        return None
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim == 2:
        values = values.mean(axis=1)
    order = np.argsort(clip_ids)
    clips = np.asarray(clip_ids, dtype=np.float64)[order]
    values = values[order] / 4.0
    gaps = np.flatnonzero(np.diff(clips) > 1) + 1  # no line across clips without a label
    clips = np.insert(clips, gaps, np.nan)
    values = np.insert(values, gaps, np.nan)
    return (clips + 0.5) * clip_length, values


def png_path(out: str | Path, overwrite: bool = False) -> Path:
    """`out` as a .png path whose directory exists (or a clear error). A file there is replaced
    only when `amr show` drew it, or with `overwrite`."""
    path = Path(out)
    if path.suffix.lower() != ".png":
        raise AmrError(f"{path}: --out must be a .png file")
    check_output_file(path, is_drawn_by_amr, overwrite, "a PNG amr show drew")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def is_drawn_by_amr(path: Path) -> bool:
    """Whether a PNG names amr show as its software (the tEXt chunk `draw` writes)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.format == "PNG" and image.info.get("Software") == PNG_SOFTWARE
    except (OSError, ValueError):
        return False
