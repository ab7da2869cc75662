"""Drawing timelines: one panel per sample, tracks of spans over seconds (matplotlib, off-screen).

A panel has named tracks, top to bottom. A span is a rectangle on its track; a span with a
per-clip weight (a cross-fade) is drawn as a ramp whose height follows the weight; a curve
(saliency) is drawn inside a track, scaled to its height, with its scale at the right. A sheet
starts with a legend of every colour and curve it uses, and lays its panels out in a grid.
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
LEGEND = {  # what each colour means, in the legend above the panels
    "host": "host video",
    "moment": "pasted moment",
    "paste": "other pasted clips",
    "label": "labelled moment",
    "truth": "ground truth",
    "negative": "negative (a hard distractor)",
    "prediction": "prediction (darker: higher score)",
}
CURVE_COLOURS = {"annotated": "black", "model": "#8c3b00"}
CURVE_LEGEND = {
    "annotated": "annotated saliency (0–4)",
    "model": "model saliency (the query's min–max)",
}


ROW, LANE = 0.3, 0.12  # inches: a track, and each extra lane in it
CHAR = 0.055  # inches: about one character at font size 7, to tell whether a label fits


@dataclass
class Span:
    start: float  # seconds
    end: float
    role: str  # a COLOURS key
    text: str = ""
    short: str = ""  # the text for a bar too narrow for `text`
    weights: np.ndarray | None = None  # per clip in [0, 1]: a ramp (cross-fade); None: solid
    opacity: float = 0.85
    lane: int = 0  # overlapping spans of one track sit in lanes, one above the other


@dataclass(frozen=True)
class Curve:
    """Saliency over a track: values in [0, 1] at clip centres, and what 0 and 1 stand for."""

    seconds: np.ndarray
    values: np.ndarray
    kind: str = "annotated"  # a CURVE_COLOURS key
    low: str = "0"
    high: str = "4"


@dataclass
class Track:
    name: str
    spans: list[Span] = field(default_factory=list)
    curve: Curve | None = None
    # windows shaded behind the spans, so each prediction track shows the ground truth too
    backdrop: list[tuple[float, float]] = field(default_factory=list)

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


def fitting_text(span: Span, width: float) -> str:
    """The span's text, or its short text, whichever fits a bar `width` inches wide; else
    nothing, so labels never spill out of narrow bars."""
    for candidate in (span.text, span.short):
        if candidate and len(candidate) * CHAR + 0.06 <= width:
            return candidate
    return ""


def grid_columns(panels: int) -> int:
    """Panels per row: one column up to three panels, then two (a 12-sample sheet is six rows
    of two, not one tall strip)."""
    return 1 if panels <= 3 else 2


AXIS, LEGEND_ROW, TITLE_LINE = 0.32, 0.3, 0.14  # inches


class _Sheet:
    """The shapes of a contact sheet, collected so that each kind is one matplotlib collection
    (a figure of axes per panel spent most of its time on matplotlib's tick machinery)."""

    def __init__(self, axes) -> None:
        self.axes = axes
        self.polygons: list[np.ndarray] = []
        self.colours: list[tuple] = []
        self.backdrops: list[np.ndarray] = []
        self.lines: list[list[tuple[float, float]]] = []

    def panel(self, panel: Panel, left: float, top: float, plot_width: float) -> None:
        from matplotlib.colors import to_rgba
        from matplotlib.ticker import MaxNLocator

        axes = self.axes
        axes.text(left, top, panel.title, fontsize=8, va="top", ha="left")
        scale = plot_width / panel.duration
        y = top - title_height(panel)
        for track in panel.tracks:
            height = track_height(track)
            base, lane = y - height, (height - 0.06) / track.lanes
            axes.text(left - 0.08, base + height / 2, track.name, fontsize=8, ha="right",
                      va="center")  # fmt: skip
            for start, end in track.backdrop:
                x0, x1 = left + start * scale, left + end * scale
                self.backdrops.append(_outline(x0, x1, base + 0.01, height - 0.02, None))
            for span in track.spans:
                x0, x1 = left + span.start * scale, left + span.end * scale
                bottom = base + 0.03 + span.lane * lane
                self.polygons.append(_outline(x0, x1, bottom, lane * 0.92, span.weights))
                self.colours.append(to_rgba(COLOURS[span.role], span.opacity))
                text = fitting_text(span, x1 - x0)
                if text:
                    axes.text(x0, bottom + lane / 2, f" {text}", va="center", ha="left",
                              fontsize=7 if track.lanes < 3 else 6, clip_on=True)  # fmt: skip
            if track.curve is not None:
                self._curve(track.curve, left, base, height, scale, plot_width)
            y = base
        self.lines.append([(left, y), (left + plot_width, y)])
        for tick in MaxNLocator(8).tick_values(0, panel.duration):
            if 0 <= tick <= panel.duration:
                x = left + tick * scale
                self.lines.append([(x, y), (x, y - 0.05)])
                axes.text(x, y - 0.07, f"{tick:g}", fontsize=7, ha="center", va="top")
        axes.text(left + plot_width, y - 0.2, "seconds", fontsize=7, ha="right", va="top")

    def _curve(self, curve: Curve, left, base, height, scale, plot_width) -> None:
        """The curve inside its track, with its scale (what the bottom and top stand for) at
        the track's right edge."""
        low, high = base + 0.03, base + height - 0.03
        colour = CURVE_COLOURS[curve.kind]
        self.axes.plot(left + curve.seconds * scale, low + (high - low) * curve.values,
                       color=colour, lw=0.8, alpha=0.85)  # fmt: skip
        right = left + plot_width
        self.lines += [[(right, low), (right, high)], [(right, low), (right + 0.04, low)],
                       [(right, high), (right + 0.04, high)]]  # fmt: skip
        for value, at, align in ((curve.low, low, "bottom"), (curve.high, high, "top")):
            self.axes.text(right + 0.06, at, value, fontsize=6, va=align, ha="left",
                           color=colour)  # fmt: skip

    def legend(self, entries: list[list[tuple[str, str]]], left: float, top: float) -> None:
        """The legend's rows of (swatch, text); a swatch is a COLOURS or CURVE_COLOURS key,
        "backdrop", or "" for text alone."""
        from matplotlib.colors import to_rgba

        for row in entries:
            x, middle = left, top - LEGEND_ROW / 2
            for swatch, text in row:
                if swatch in CURVE_COLOURS:
                    self.axes.plot([x, x + 0.25], [middle, middle], color=CURVE_COLOURS[swatch],
                                   lw=0.8)  # fmt: skip
                elif swatch:
                    box = _outline(x, x + 0.25, middle - 0.06, 0.12, None)
                    if swatch == "backdrop":
                        self.backdrops.append(box)
                    else:
                        self.polygons.append(box)
                        self.colours.append(to_rgba(COLOURS[swatch], 0.85))
                self.axes.text(x + 0.3 * bool(swatch), middle, text, fontsize=7, va="center")
                x += _entry_width(swatch, text)
            top -= LEGEND_ROW

    def finish(self) -> None:
        from matplotlib.collections import LineCollection, PolyCollection
        from matplotlib.colors import to_rgba

        shaded = to_rgba(COLOURS["truth"], 0.18)
        self.axes.add_collection(PolyCollection(self.backdrops, facecolors=shaded, linewidths=0))
        # white edges: adjacent spans stay two bars, not one
        self.axes.add_collection(
            PolyCollection(self.polygons, facecolors=self.colours, edgecolors="white",
                           linewidths=0.6)
        )  # fmt: skip
        self.axes.add_collection(LineCollection(self.lines, colors="black", linewidths=0.6))


def legend_entries(panels: Sequence[Panel], width: float) -> list[list[tuple[str, str]]]:
    """Every colour and curve the sheet uses, as (swatch, text) in rows at most `width`
    inches long."""
    spans = [span for p in panels for t in p.tracks for span in t.spans]
    roles = {span.role for span in spans}
    kinds = {t.curve.kind for p in panels for t in p.tracks if t.curve is not None}
    entries = [(role, text) for role, text in LEGEND.items() if role in roles]
    if any(span.weights is not None for span in spans):
        entries.append(("", "ramp: a cross-fade's weight"))
    if any(t.backdrop for p in panels for t in p.tracks):
        entries.append(("backdrop", "ground truth, behind predictions"))
    entries += [(kind, text) for kind, text in CURVE_LEGEND.items() if kind in kinds]
    rows: list[list[tuple[str, str]]] = [[]]
    used = 0.0
    for swatch, text in entries:
        needed = _entry_width(swatch, text)
        if rows[-1] and used + needed > width:
            rows.append([])
            used = 0.0
        rows[-1].append((swatch, text))
        used += needed
    return rows


def _entry_width(swatch: str, text: str) -> float:
    return 0.3 * bool(swatch) + len(text) * CHAR + 0.25


def track_height(track: Track) -> float:
    return ROW + LANE * (track.lanes - 1)


def title_height(panel: Panel) -> float:
    return TITLE_LINE * (panel.title.count("\n") + 1) + 0.17


def panel_height(panel: Panel) -> float:
    return title_height(panel) + sum(track_height(t) for t in panel.tracks) + AXIS + 0.15


def draw(panels: Sequence[Panel], out: Path, columns: int | None = None) -> Path:
    """All panels in one PNG (a contact sheet: a legend, then a grid of `columns` panels a
    row, by default `grid_columns`), written atomically."""
    plt = pyplot()
    columns = columns or grid_columns(len(panels))
    width = 11.0 if columns == 1 else 8.5  # inches a column
    longest = max(len(track.name) for panel in panels for track in panel.tracks)
    margin = min(3.5, 0.3 + 0.062 * longest)  # room for the track names, at font size 8
    plot_width = width - margin - 0.45  # and for a curve's scale on the right
    rows = [panels[i : i + columns] for i in range(0, len(panels), columns)]
    heights = [max(panel_height(p) for p in row) for row in rows]
    legend = legend_entries(panels, width * columns - margin - 0.3)
    total = LEGEND_ROW * len(legend) + sum(heights) + 0.1
    figure = plt.figure(figsize=(width * columns, total))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, width * columns)
    axes.set_ylim(0, total)
    axes.axis("off")
    sheet = _Sheet(axes)
    sheet.legend(legend, margin, total - 0.02)
    top = total - LEGEND_ROW * len(legend) - 0.05
    for row, height in zip(rows, heights, strict=True):
        for column, panel in enumerate(row):
            sheet.panel(panel, column * width + margin, top, plot_width)
        top -= height
    sheet.finish()
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
) -> Curve | None:
    """The mean annotated score per clip, at clip centres, scaled to [0, 1] (annotator scores
    are 0–4)."""
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
    return Curve((clips + 0.5) * clip_length, values)


def model_saliency_curve(scores: np.ndarray, clip_length: float) -> Curve | None:
    """A model's saliency (one unbounded score per clip), scaled to the query's own min–max:
    only its shape compares across queries."""
    scores = np.asarray(scores, dtype=np.float64)
    if not len(scores):
        return None
    low, high = float(scores.min()), float(scores.max())
    values = (scores - low) / (high - low) if high > low else np.full(len(scores), 0.5)
    seconds = (np.arange(len(scores)) + 0.5) * clip_length
    return Curve(seconds, values, "model", f"{low:.2g}", f"{high:.2g}")


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
