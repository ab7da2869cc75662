"""Write an experiment's report: results.json, results.md and the plots beside them, and the
runs' evidence (evidence.py) in evidence/."""

from __future__ import annotations

import json
import shlex
import sys
from collections import Counter
from pathlib import Path

from amr.corpus.reader import Corpus
from amr.datasets.store import Store
from amr.experiment import evidence, plots
from amr.experiment.analysis import Analysis, ArmFigures, hypotheses
from amr.experiment.arms import arms_named
from amr.experiment.layout import corpus_root
from amr.experiment.records import ArmResult, machine_chain
from amr.experiment.report import MissingRuns, markdown
from amr.experiment.runner import ExperimentConfig
from amr.experiment.scoring import Scorer
from amr.fileio import atomic_write_text

UNRECORDED = "not recorded (trained before 2026-12-03)"

PLOTS = (
    ("fractions.png", "test R1@0.7 and mAP against the train fraction"),
    ("curves.png", "val mAP per epoch: each arm's plateau"),
    ("difficulty.png", "corpus difficulty histogram (smallest fraction)"),
)


def write_report(
    config: ExperimentConfig, results: list[ArmResult], command: str | None = None
) -> list[ArmFigures]:
    out = Path(config.out)
    store = Store.open(config.store)
    analysis = Analysis(results, Scorer(store.root, config.device))
    figures = analysis.all_figures()
    preset = store.meta.sources.get("config", {}).get("preset")
    verdicts = hypotheses(analysis, control_world=preset == "control")
    records = []
    for result in results:
        extra = {}
        if analysis.twin_mask is not None and analysis.twin_mask.any():
            r1 = analysis.matrix(result.arm.name, result.fraction, "R1@0.7", (result.seed,))[0]
            extra["test_twin"] = {"MR-full-R1@0.7": round(float(r1[analysis.twin_mask].mean()), 2)}
            if not analysis.twin_mask.all():
                rest = float(r1[~analysis.twin_mask].mean())
                extra["test_no_twin"] = {"MR-full-R1@0.7": round(rest, 2)}
        records.append(result.to_json(extra))
    atomic_write_text(out / "results.json", json.dumps(records, indent=1) + "\n")
    smallest = min(r.fraction for r in results)
    plots.by_fraction(figures, out / "fractions.png")
    plots.curves(results, out / "curves.png")
    corpus = Corpus.open(corpus_root(out, smallest))
    plots.difficulty_histogram(corpus, out / "difficulty.png")
    command = command or "amr " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    text = markdown(figures, verdicts, store, config.resolved_budget(),
                    _device_name(config.device), command, list(PLOTS),
                    _missing(config, results), trained_on(results))  # fmt: skip
    atomic_write_text(out / "results.md", text)
    evidence.archive(out, results)
    return figures


def trained_on(results: list[ArmResult]) -> list[tuple[str, int]]:
    """How many arm results each machine (or chain of machines) trained, most first."""
    counts = Counter(machine_chain(r.machines, UNRECORDED) for r in results)
    return counts.most_common()


def _missing(config: ExperimentConfig, results: list[ArmResult]) -> list[MissingRuns]:
    """The planned runs without a result, per arm and fraction."""
    done = {(r.arm.name, r.fraction, r.seed) for r in results}
    missing = []
    for fraction in sorted(set(config.fractions)):
        for arm in arms_named(config.arms):
            seeds = [
                s for s in range(config.seeds_for(arm, fraction))
                if (arm.name, fraction, s) not in done
            ]  # fmt: skip
            if seeds:
                missing.append(MissingRuns(arm.name, fraction, tuple(seeds)))
    return missing


def _device_name(device: str) -> str:
    from amr.device import resolve_device

    resolved = resolve_device(device)
    if resolved.type == "cuda":
        import torch

        return torch.cuda.get_device_name(resolved)
    return "cpu"
