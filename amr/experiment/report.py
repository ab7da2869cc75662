"""The experiment's report: mean ± std over seeds per arm, as results.md and a terminal table."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from rich.table import Table

from amr import __version__
from amr.datasets.store import Store
from amr.experiment.budget import Budget
from amr.experiment.records import ArmResult

# (column, path into evaluate()'s output). Charades-STA results have no mAP or length buckets.
HEADLINE = (
    ("R1@0.5", ("brief", "MR-full-R1@0.5")),
    ("R1@0.7", ("brief", "MR-full-R1@0.7")),
    ("mAP", ("brief", "MR-full-mAP")),
)
BUCKETS = ("short", "middle", "long")
BY_LENGTH = tuple((f"{bucket} R1@0.7", (bucket, "MR-R1", "0.7")) for bucket in BUCKETS) + tuple(
    (f"{bucket} mAP", (bucket, "MR-mAP", "average")) for bucket in BUCKETS
)
KEY = ("brief", "MR-full-R1@0.7")
CALIBRATION = (15.0, 80.0)  # where the baseline's R1@0.7 must land for arms to be told apart


def lookup(metrics: dict[str, Any], path: Sequence[str]) -> float | None:
    value: Any = metrics
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return None if value is None else float(value)


@dataclass(frozen=True)
class Spread:
    """Values of one figure over seeds."""

    values: tuple[float, ...]

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.values) if self.values else None

    @property
    def std(self) -> float | None:
        return statistics.stdev(self.values) if len(self.values) > 1 else None

    def __str__(self) -> str:
        if not self.values:
            return "–"
        if self.std is None:
            return f"{self.mean:.2f}"
        return f"{self.mean:.2f} ± {self.std:.2f}"


@dataclass(frozen=True)
class ArmSummary:
    name: str
    title: str
    seeds: int
    figures: dict[str, Spread]  # column → spread over seeds
    gain: Spread  # per-seed R1@0.7 minus the baseline's of the same seed
    wins: int  # seeds where the arm beat the baseline's R1@0.7
    samples: float
    minutes: float


def summarize(results: list[ArmResult]) -> list[ArmSummary]:
    by_arm: dict[str, list[ArmResult]] = {}
    for result in results:
        by_arm.setdefault(result.arm.name, []).append(result)
    baseline = {r.seed: lookup(r.metrics, KEY) for r in by_arm.get("baseline", [])}
    summaries = []
    for name, runs in by_arm.items():
        figures = {}
        for column, path in HEADLINE + BY_LENGTH:
            values = [lookup(r.metrics, path) for r in runs]
            figures[column] = Spread(tuple(v for v in values if v is not None))
        gains = []
        for r in runs:
            mine, theirs = lookup(r.metrics, KEY), baseline.get(r.seed)
            if name != "baseline" and mine is not None and theirs is not None:
                gains.append(mine - theirs)
        summaries.append(
            ArmSummary(
                name=name,
                title=runs[0].arm.title,
                seeds=len(runs),
                figures=figures,
                gain=Spread(tuple(gains)),
                wins=sum(g > 0 for g in gains),
                samples=statistics.fmean(r.samples for r in runs),
                minutes=statistics.fmean(r.seconds for r in runs) / 60,
            )
        )
    return summaries


def terminal_table(summaries: list[ArmSummary], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("arm")
    for column in (*(c for c, _ in HEADLINE), "Δ R1@0.7 (ahead)", "samples", "train min"):
        table.add_column(column, justify="right", no_wrap=True)
    for s in summaries:
        table.add_row(
            s.name,
            *(str(s.figures[c]) for c, _ in HEADLINE),
            _gain(s),
            f"{s.samples:,.0f}",
            f"{s.minutes:.1f}",
        )
    return table


def _gain(s: ArmSummary) -> str:
    if not s.gain.values:
        return "–"
    mean = s.gain.mean or 0.0
    spread = f" ± {s.gain.std:.2f}" if s.gain.std is not None else ""
    return f"{mean:+.2f}{spread} ({s.wins}/{len(s.gain.values)})"


def markdown(
    summaries: list[ArmSummary],
    store: Store,
    budget: Budget,
    seeds: int,
    device: str,
    plots: list[tuple[str, str]],
) -> str:
    """results.md: what was run, on what data and machine, and the tables."""
    synthetic = store.meta.sources.get("kind") == "synthetic"
    data = "synthetic features" if synthetic else "imported features"
    model = ", ".join(f"{k} {v}" for k, v in budget.model.items()) or "the reference shape"
    amr = next((s for s in summaries if s.name == "amr"), None)
    lines = [
        f"# amr experiment: {store.meta.name} ({data}), budget `{budget.name}`, "
        f"{seeds} seed{'s' if seeds > 1 else ''}",
        "",
        f"- **Date** {date.today().isoformat()} · **machine** {platform.system()} "
        f"{platform.machine()}, {_cpus()} CPU cores, device {device} · amr {__version__} · "
        f"torch {_torch_version()}",
        f"- **Store** `{store.root}`: {store.meta.name}, {store.meta.video_dim}/"
        f"{store.meta.text_dim}-d, fingerprint `{store.meta.fingerprint[:19]}…`; metrics on the "
        f"val split ({store.meta.splits['val'].queries} queries).",
        f"- **Same model for every arm** ({model}) and the **same number of training samples** "
        f"as the AMR arm ({amr.samples if amr else 0:,.0f} per seed).",
        "- Every figure is the arm's **last** model on val (no checkpoint picked on val), "
        f"mean ± sample std over seeds 0–{seeds - 1}. Δ R1@0.7 is the arm minus the baseline "
        "of the same seed (seeds where the arm is ahead / seeds).",
    ]
    if synthetic:
        lines.append(
            "- **Synthetic world**: these figures show whether and how much each recipe helps "
            "on the synthetic features (docs/synthetic.md), not what it scores on real video."
        )
    header = ["arm", "what", *(c for c, _ in HEADLINE), "Δ R1@0.7", "samples", "train min"]
    lines += ["", "| " + " | ".join(header) + " |"]
    lines.append("|" + " --- |" * 2 + " ---: |" * (len(header) - 2))
    for s in summaries:
        cells = [s.name, s.title, *(str(s.figures[c]) for c, _ in HEADLINE), _gain(s)]
        cells += [f"{s.samples:,.0f}", f"{s.minutes:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    if any(s.figures[c].values for s in summaries for c, _ in BY_LENGTH):
        lines += ["", "## By moment length (short < 10 s, middle 10–30 s, long > 30 s)", ""]
        lines.append("| arm | " + " | ".join(c for c, _ in BY_LENGTH) + " |")
        lines.append("| --- |" + " ---: |" * len(BY_LENGTH))
        for s in summaries:
            lines.append(
                "| " + " | ".join([s.name, *(str(s.figures[c]) for c, _ in BY_LENGTH)]) + " |"
            )
    lines += ["", "## Checks", ""]
    lines += _checks(summaries)
    lines += ["", "## Plots", ""]
    lines += [f"![{caption}]({name})" for name, caption in plots]
    return "\n".join(lines) + "\n"


def _checks(summaries: list[ArmSummary]) -> list[str]:
    by_name = {s.name: s for s in summaries}
    lines = []
    base = by_name.get("baseline")
    if base is not None and base.figures["R1@0.7"].values:
        value = base.figures["R1@0.7"].mean or 0.0
        low, high = CALIBRATION
        verdict = "inside" if low <= value <= high else "**outside**"
        lines.append(
            f"- Calibration: the baseline's R1@0.7 is {value:.2f}, {verdict} {low:.0f}–{high:.0f} "
            "(far enough from both ends for arms to be told apart)."
        )
    amr = by_name.get("amr")
    for rival in ("baseline", "aug-only"):
        other = by_name.get(rival)
        if amr is None or other is None:
            continue
        ours, theirs = amr.figures["R1@0.7"].mean, other.figures["R1@0.7"].mean
        if ours is None or theirs is None:
            continue
        verb = "beats" if ours > theirs else "does not beat"
        lines.append(f"- AMR two-stage {verb} {rival} on R1@0.7: {ours:.2f} vs {theirs:.2f}.")
    return lines


def _cpus() -> int:
    return os.cpu_count() or 1


def _torch_version() -> str:
    import torch

    return torch.__version__
