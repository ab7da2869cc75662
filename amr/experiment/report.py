"""The experiment's report: results.md and a terminal table, from the analysis's figures."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from datetime import date
from typing import Any

from rich.table import Table

from amr import __version__
from amr.datasets.store import Store
from amr.experiment.analysis import ArmFigures, Verdict
from amr.experiment.budget import Budget
from amr.experiment.stats import Interval


def _cell(interval: Interval | None, level: bool = False) -> str:
    if interval is None:
        return "–"
    return interval.plain() if level else str(interval)


def _star(interval: Interval | None) -> str:
    """A gain's cell, bold where its interval excludes 0."""
    text = _cell(interval)
    return f"**{text}**" if interval is not None and interval.excludes_zero else text


def terminal_table(figures: list[ArmFigures], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("fraction", "arm", "seeds", "test R1@0.7", "test mAP", "Δ R1@0.7 vs baseline"):
        table.add_column(column, justify="left" if column == "arm" else "right", no_wrap=True)
    for f in figures:
        table.add_row(
            f"{f.fraction:g}", f.name, str(len(f.seeds)),
            _cell(f.test["R1@0.7"], level=True), _cell(f.test["mAP"], level=True),
            _cell(f.vs_baseline.get("R1@0.7")),
        )  # fmt: skip
    return table


def _rows(figures: list[ArmFigures], header: list[str], cells) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| --- | --- |" + " ---: |" * (len(header) - 2)]
    lines += ["| " + " | ".join(cells(f)) + " |" for f in figures]
    return lines


def _arm_table(figures: list[ArmFigures], gains: list[tuple[str, Any]]) -> list[str]:
    """Each arm's test levels, then its gains (header, figure -> interval), bold where the
    interval excludes 0."""
    return _rows(
        figures,
        ["fraction", "arm", "seeds", "R1@0.7", "mAP", *(header for header, _ in gains)],
        lambda f: [
            f"{f.fraction:g}", f"{f.name} ({f.title})", str(len(f.seeds)),
            _cell(f.test["R1@0.7"], True), _cell(f.test["mAP"], True),
            *(_star(gain(f)) for _, gain in gains),
        ],
    )  # fmt: skip


@dataclass(frozen=True)
class MissingRuns:
    """Planned runs of one arm at one fraction that have not finished."""

    arm: str
    fraction: float
    seeds: tuple[int, ...]

    @property
    def phrase(self) -> str:
        seeds = ", ".join(map(str, self.seeds))
        return (
            f"{self.arm} at fraction {self.fraction:g} (seed{'s' * (len(self.seeds) > 1)} {seeds})"
        )


def markdown(
    figures: list[ArmFigures],
    verdicts: list[Verdict],
    store: Store,
    budget: Budget,
    device: str,
    command: str,
    plots: list[tuple[str, str]],
    missing: list[MissingRuns] | None = None,
    trained_on: list[tuple[str, int]] | None = None,
) -> str:
    """results.md: what was run, on what data and machine, the tables and the hypotheses.
    `missing` (a partial report): which planned runs have not finished; a verdict that rests
    on one of them is marked provisional. `trained_on`: arm results per machine that trained
    them (a run repeats to the digit only on the same kind of machine)."""
    synthetic = store.meta.sources.get("kind") == "synthetic"
    preset = store.meta.sources.get("config", {}).get("preset", "")
    data = f"synthetic world `{preset}`" if synthetic else "imported features"
    model = ", ".join(f"{k} {v}" for k, v in budget.model.items()) or "the reference shape"
    splits = store.meta.splits
    lines = [
        f"# amr experiment: {store.meta.name} ({data}), budget `{budget.name}`",
        "",
        f"- **Date** {date.today().isoformat()} · **machine** {platform.system()} "
        f"{platform.machine()}, {os.cpu_count() or 1} CPU cores, device {device} · "
        f"amr {__version__} · torch {_torch_version()}",
        f"- **Command** `{command}`",
        *_trained_on(trained_on or []),
        f"- **Store** `{store.root}`: {store.meta.video_dim}/{store.meta.text_dim}-d, "
        f"fingerprint `{store.meta.fingerprint[:19]}…`; train {splits['train'].queries:,} "
        f"queries (fractions are nested subsets of it), val {splits['val'].queries:,} "
        f"(checkpoint selection and stopping only), **test {splits['test'].queries:,}** "
        "(every figure below).",
        f"- **Model** ({model}), the same for every arm. **Stopping rule**: the baseline and "
        f"stage 2 stop once val MR-full-mAP has not improved for {budget.stage2.get('patience')} "
        f"epochs (at most {budget.stage2.get('epochs')}); stage 1 runs its "
        f"{budget.stage1.get('epochs')} epochs; every arm is scored with its best checkpoint "
        "on val (docs/benchmark.md).",
        "- Figures: mean over seeds of the test score, with a 95 % bootstrap interval over "
        "seeds and test queries; Δ is paired by seed and query. **Bold**: the interval "
        "excludes 0.",
    ]
    if synthetic:
        lines.append(
            "- **Synthetic world**: these figures say how each recipe does on the synthetic "
            "features (docs/synthetic.md), not what it scores on real video."
        )
    if missing:
        lines.append(
            "- **Partial results**: the experiment has not finished; not yet run: "
            + "; ".join(m.phrase for m in missing)
            + ". A verdict is provisional while a run it rests on is missing."
        )
    headline = [f for f in figures if f.group in ("headline", "control")]
    lines += ["", "## Baseline, AMR and the controls (test)", ""]
    lines += _arm_table(
        headline,
        [
            ("Δ R1@0.7 vs baseline", lambda f: f.vs_baseline.get("R1@0.7")),
            ("Δ mAP vs baseline", lambda f: f.vs_baseline.get("mAP")),
        ],
    )
    ablations = [f for f in figures if f.group == "ablation"]
    if ablations:
        lines += ["", "## Ablations (test; Δ against AMR of the same seeds)", ""]
        lines += _arm_table(
            ablations,
            [
                ("Δ R1@0.7 vs AMR", lambda f: f.vs_amr.get("R1@0.7")),
                ("Δ R1@0.7 vs baseline", lambda f: f.vs_baseline.get("R1@0.7")),
            ],
        )
    with_twins = [f for f in figures if f.twin]
    if with_twins:
        lines += ["", "## Queries with and without a look-alike twin (test R1@0.7)", ""]
        lines += _rows(
            with_twins,
            ["fraction", "arm", "twin", "no twin"],
            lambda f: [f"{f.fraction:g}", f.name, _cell(f.twin.get("twin"), True),
                       _cell(f.twin.get("no twin"), True)],
        )  # fmt: skip
    lines += ["", "## Training (equal-compute view)", ""]
    lines += [
        "Samples and minutes each arm trained, and how its runs ended. Comparing arms at equal "
        "compute is only fair where the baseline ended on its plateau.",
        "",
    ]
    lines += _rows(
        figures,
        ["fraction", "arm", "epochs per stage", "ended", "samples", "train min"],
        lambda f: [
            f"{f.fraction:g}", f.name, " + ".join(f"{e:.1f}" for e in f.epochs),
            " / ".join(f.stopped), f"{f.samples:,.0f}", f"{f.minutes:.1f}",
        ],
    )  # fmt: skip
    lines += ["", "## Hypotheses (pre-registered in docs/benchmark.md)", ""]
    unfinished = {(m.arm, m.fraction) for m in missing or ()}
    for v in verdicts:
        provisional = v.verdict != "not run" and unfinished.intersection(v.rests_on)
        verdict = f"{v.verdict} (provisional)" if provisional else v.verdict
        lines.append(f"- **{v.name}** ({v.claim}): **{verdict}**. {v.evidence}")
    lines += ["", "## Plots", ""]
    lines += [f"![{caption}]({name})" for name, caption in plots]
    return "\n".join(lines) + "\n"


def _trained_on(counts: list[tuple[str, int]]) -> list[str]:
    if not counts:
        return []
    each = "; ".join(f"{machine}: {n} arm result{'s' * (n != 1)}" for machine, n in counts)
    return [
        f"- **Trained on** {each}. A run repeats to the digit only on the same kind of CPU and "
        "torch build; elsewhere it drifts like another seed (docs/benchmark.md, deviations)."
    ]


def _torch_version() -> str:
    import torch

    return torch.__version__
