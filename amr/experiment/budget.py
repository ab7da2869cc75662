"""Compute budgets of `amr experiment`: the model size and the AMR arm's schedule.

Every arm trains on as many samples as the AMR arm does (stage 1 + stage 2), so a difference
between arms is the recipe's, not more training. The `small` budget fits one seed in about
20 minutes on 2 CPU cores (qvh synthetic store at 128/64-d); `full` is the reference shape and
schedule, for a GPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from amr.errors import AmrError


@dataclass(frozen=True)
class Budget:
    name: str
    model: dict[str, Any] = field(default_factory=dict)  # ModelConfig options (same every arm)
    multiplier: int = 10  # augmented samples per real one in the experiment's corpus
    stage1: dict[str, Any] = field(default_factory=dict)  # TrainConfig of the cold start
    stage2: dict[str, Any] = field(default_factory=dict)  # TrainConfig of the distillation
    baseline: dict[str, Any] = field(default_factory=dict)  # TrainConfig of the real-only arm
    baseline_lr_drop_share: float | None = None  # drop the baseline's lr at this share of it

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_SMALL_MODEL = {"hidden": 128, "heads": 4, "ffn": 256, "encoder_layers": 2, "decoder_layers": 2}
NO_DROP = 1_000_000  # lr_drop (epochs) that never comes

BUDGETS: dict[str, Budget] = {
    "small": Budget(
        name="small",
        model=_SMALL_MODEL,
        multiplier=2,
        stage1={"epochs": 2, "epochs_to_full": 1, "lr": 3e-4, "batch_size": 32, "lr_drop": NO_DROP},
        stage2={"epochs": 2, "epochs_to_full": 1, "lr": 1e-4, "batch_size": 32, "lr_drop": NO_DROP},
        baseline={"lr": 3e-4, "batch_size": 32, "lr_drop": NO_DROP},
    ),
    # The reference: 10 augmented per real sample; stage 1 batch 128, lr 1e-4, 40 epochs;
    # stage 2 batch 32, lr 1e-4, 100 epochs, lr drop at 40. The baseline drops its lr at the
    # same share of its (longer) run.
    "full": Budget(
        name="full",
        multiplier=10,
        stage1={"epochs": 40, "lr": 1e-4, "batch_size": 128, "lr_drop": NO_DROP},
        stage2={"epochs": 100, "lr": 1e-4, "batch_size": 32, "lr_drop": 40},
        baseline={"lr": 1e-4, "batch_size": 32},
        baseline_lr_drop_share=0.4,
    ),
}


def budget_named(name: str) -> Budget:
    if name not in BUDGETS:
        raise AmrError(f"unknown budget {name!r} (known: {', '.join(BUDGETS)})")
    return BUDGETS[name]
