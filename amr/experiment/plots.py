"""The experiment's PNG plots (matplotlib, drawn off-screen, written atomically)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from amr.corpus.reader import Corpus
from amr.experiment.records import ArmResult
from amr.experiment.report import BUCKETS, ArmSummary
from amr.fileio import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=120, bbox_inches="tight")


def training_curves(results: list[ArmResult], path: Path) -> None:
    """Val R1@0.7 at the end of every epoch against samples trained on (two-stage arms: stage 2
    continues where stage 1 ended), mean over seeds."""
    plt = _pyplot()
    points: dict[str, dict[int, list[tuple[int, float]]]] = defaultdict(lambda: defaultdict(list))
    for result in results:
        offset, index = 0, 0
        for run in result.runs:
            for epoch in run.curve:
                value = epoch["val"].get("MR-full-R1@0.7")
                if value is not None:
                    points[result.arm.name][index].append((offset + epoch["samples"], value))
                index += 1
            offset += run.samples
    figure, axes = plt.subplots(figsize=(8, 4.8))
    for name, by_index in points.items():
        xs = [np.mean([x for x, _ in by_index[i]]) / 1000 for i in sorted(by_index)]
        ys = [np.mean([y for _, y in by_index[i]]) for i in sorted(by_index)]
        style = "-" if name in ("baseline", "aug-only", "amr") else "--"
        axes.plot(xs, ys, style, marker="o", markersize=3, label=name)
    axes.set_xlabel("training samples seen (thousands)")
    axes.set_ylabel("val MR-full-R1@0.7")
    axes.set_title("Validation R1@0.7 at the end of each epoch (mean over seeds)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    _save(figure, path)
    plt.close(figure)


def difficulty_histogram(corpus: Corpus, path: Path, bins: int = 40) -> None:
    """How hard the corpus's samples are, by kind (stacked)."""
    plt = _pyplot()
    by_kind: dict[str, list[np.ndarray]] = defaultdict(list)
    for _, table in corpus.iter_tables(["kind", "difficulty"]):
        kinds = table.column("kind").to_numpy(zero_copy_only=False)
        difficulty = table.column("difficulty").to_numpy()
        for kind in np.unique(kinds):
            by_kind[str(kind)].append(difficulty[kinds == kind])
    names = sorted(by_kind)
    values = [np.concatenate(by_kind[name]) for name in names]
    figure, axes = plt.subplots(figsize=(8, 4.2))
    axes.hist(values, bins=bins, range=(0, 1), stacked=True, label=names)
    axes.set_xlabel("difficulty (0 = easiest, 1 = hardest)")
    axes.set_ylabel("samples")
    axes.set_title(f"Corpus difficulty by kind ({sum(len(v) for v in values):,} samples)")
    axes.legend()
    _save(figure, path)
    plt.close(figure)


def by_length(summaries: list[ArmSummary], path: Path) -> None:
    """R1@0.7 per moment-length bucket, one bar per arm (error bars: std over seeds)."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 4.2))
    width = 0.8 / max(len(summaries), 1)
    for i, s in enumerate(summaries):
        spreads = [s.figures[f"{bucket} R1@0.7"] for bucket in BUCKETS]
        means = [sp.mean or 0.0 for sp in spreads]
        errors = [sp.std or 0.0 for sp in spreads]
        positions = np.arange(len(BUCKETS)) + (i - (len(summaries) - 1) / 2) * width
        axes.bar(positions, means, width, yerr=errors, capsize=2, label=s.name)
    axes.set_xticks(np.arange(len(BUCKETS)), ["short < 10 s", "middle 10–30 s", "long > 30 s"])
    axes.set_ylabel("val R1@0.7")
    axes.set_title("R1@0.7 by moment length (mean ± std over seeds)")
    axes.legend(fontsize=8, ncol=2)
    _save(figure, path)
    plt.close(figure)
