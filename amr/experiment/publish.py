"""Write an experiment's report: results.md and the three plots beside it."""

from __future__ import annotations

from pathlib import Path

from amr.corpus.reader import Corpus
from amr.datasets.store import Store
from amr.experiment import plots
from amr.experiment.records import ArmResult
from amr.experiment.report import ArmSummary, markdown, summarize
from amr.experiment.runner import ExperimentConfig
from amr.fileio import atomic_write_text

PLOTS = (
    ("curves.png", "val R1@0.7 per epoch for each arm"),
    ("by_length.png", "R1@0.7 by moment length"),
    ("difficulty.png", "corpus difficulty histogram"),
)


def write_report(config: ExperimentConfig, results: list[ArmResult]) -> list[ArmSummary]:
    out = Path(config.out)
    summaries = summarize(results)
    plots.training_curves(results, out / "curves.png")
    plots.by_length(summaries, out / "by_length.png")
    plots.difficulty_histogram(Corpus.open(out / "corpus"), out / "difficulty.png")
    store = Store.open(config.store)
    device = _device_name(config.device)
    text = markdown(summaries, store, config.resolved_budget(), config.seeds, device, PLOTS)
    atomic_write_text(out / "results.md", text)
    return summaries


def _device_name(device: str) -> str:
    from amr.train.device import resolve_device

    resolved = resolve_device(device)
    if resolved.type == "cuda":
        import torch

        return torch.cuda.get_device_name(resolved)
    return "cpu"
