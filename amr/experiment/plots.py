"""The experiment's PNG plots (matplotlib, drawn off-screen, written atomically)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from amr.corpus.reader import Corpus
from amr.experiment.analysis import ArmFigures
from amr.experiment.records import ArmResult
from amr.fileio import atomic_path

FRACTION_ARMS = ("baseline", "amr", "aug+real", "real-repeat")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=120, bbox_inches="tight")


def by_fraction(figures: list[ArmFigures], path: Path) -> None:
    """Test R1@0.7 and mAP against the train fraction, with 95 % intervals."""
    plt = _pyplot()
    figure, panels = plt.subplots(1, 2, figsize=(11, 4.2))
    for axes, metric in zip(panels, ("R1@0.7", "mAP"), strict=True):
        for i, name in enumerate(FRACTION_ARMS):
            mine = sorted((f for f in figures if f.name == name), key=lambda f: f.fraction)
            if not mine:
                continue
            xs = np.array([f.fraction for f in mine]) * (1 + 0.03 * (i - 1.5))  # side by side
            ys = np.array([f.test[metric].value for f in mine])
            low = ys - np.array([f.test[metric].low for f in mine])
            high = np.array([f.test[metric].high for f in mine]) - ys
            axes.errorbar(xs, ys, yerr=[low, high], marker="o", capsize=3, label=name)
        axes.set_xscale("log")
        fractions = sorted({f.fraction for f in figures})
        axes.set_xticks(fractions, [f"{f:g}" for f in fractions])
        axes.set_xlabel("share of the train split")
        axes.set_ylabel(f"test {metric}")
        axes.grid(alpha=0.3)
    if panels[0].get_legend_handles_labels()[0]:
        panels[0].legend(fontsize=8)
    else:  # an `--arms` subset without the arms this plot compares
        for axes in panels:
            axes.text(0.5, 0.5, "no " + ", ".join(FRACTION_ARMS) + " in this experiment",
                      ha="center", va="center", transform=axes.transAxes)  # fmt: skip
    figure.suptitle("Test scores against train data (95 % intervals over seeds and queries)")
    _save(figure, path)
    plt.close(figure)


def curves(results: list[ArmResult], path: Path) -> None:
    """Val MR-full-mAP per epoch of each run at the smallest fraction (mean over seeds): the
    plateau each arm stopped on. Two-stage arms show stage 2 after stage 1's epochs."""
    plt = _pyplot()
    smallest = min(r.fraction for r in results)
    points: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for result in results:
        if result.fraction != smallest:
            continue
        offset = 0
        for run in result.runs:
            for epoch in run.curve:
                value = epoch["val"].get("MR-full-mAP")
                if value is not None:
                    points[result.arm.name][offset + epoch["epoch"] + 1].append(value)
            offset += run.epochs
    figure, axes = plt.subplots(figsize=(9, 5))
    for name, by_epoch in points.items():
        xs = sorted(by_epoch)
        means = [np.mean(by_epoch[x]) for x in xs]
        # Seeds stop at different epochs: the mean is over every seed only while all still
        # train; after that it is drawn thin and dotted, over the seeds that go on.
        seeds = max(len(values) for values in by_epoch.values())
        common = next((i for i, x in enumerate(xs) if len(by_epoch[x]) < seeds), len(xs))
        style = "-" if name in FRACTION_ARMS else "--"
        (line,) = axes.plot(xs[:common], means[:common], style, linewidth=1.2, label=name)
        if common < len(xs):
            tail = slice(max(common - 1, 0), len(xs))
            axes.plot(xs[tail], means[tail], ":", linewidth=0.8, color=line.get_color())
    axes.set_xlabel("epoch (two-stage arms: stage 1's epochs, then stage 2's)")
    axes.set_ylabel("val MR-full-mAP")
    axes.set_title(
        f"Validation mAP per epoch at fraction {smallest:g}: mean over seeds "
        "(dotted: only the seeds still training)"
    )
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, ncol=2)
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
