"""The ablation switches: one table, read by `amr train` (a flag each) and by `amr experiment`
(its ablation arms name switches from it), so both always mean the same change."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from amr.errors import AmrError


@dataclass(frozen=True)
class Ablation:
    name: str  # the flag without its dashes, and the name `amr experiment` arms use
    help: str
    stages: tuple[str, ...]  # the `amr train` commands (Stage names) that take it
    section: str  # the settings it changes: "train" (TrainConfig) or "distill" (DistillConfig)
    setting: str
    value: Any

    @property
    def flag(self) -> str:
        return f"--{self.name}"


ABLATIONS: tuple[Ablation, ...] = (
    Ablation(
        "no-curriculum",
        "Ablation: draw every epoch from all rows (no easy-to-hard order).",
        ("cold-start", "distill"),
        "train",
        "curriculum",
        False,
    ),
    Ablation(
        "no-active-queries",
        "Ablation: no second query set.",
        ("distill",),
        "distill",
        "active_queries",
        0,
    ),
    Ablation(
        "no-distill-loss",
        "Ablation: no distillation from stage 1.",
        ("distill",),
        "distill",
        "distill",
        0.0,
    ),
    Ablation(
        "no-disc-loss",
        "Ablation: no discrimination loss.",
        ("distill",),
        "distill",
        "discrimination",
        0.0,
    ),
    Ablation(
        "init-original-randomly",
        "Ablation: fresh Original Queries instead of the cold-start model's.",
        ("distill",),
        "distill",
        "init_original_randomly",
        True,
    ),
)
BY_NAME = {ablation.name: ablation for ablation in ABLATIONS}


def ablations_for(stage: str) -> list[Ablation]:
    return [a for a in ABLATIONS if stage in a.stages]


def ablation_settings(names: Iterable[str], section: str) -> dict[str, Any]:
    """The settings of `section` that the switches `names` change."""
    changes = {}
    for name in names:
        if name not in BY_NAME:
            raise AmrError(f"unknown ablation {name!r} (known: {', '.join(BY_NAME)})")
        ablation = BY_NAME[name]
        if ablation.section == section:
            changes[ablation.setting] = ablation.value
    return changes
