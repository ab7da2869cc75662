"""Validation during training: the val split's metrics after every epoch, through the same
prediction and evaluation code as `amr predict` and `amr eval`."""

from __future__ import annotations

from typing import Any

import torch

from amr.datasets.store import Store
from amr.eval import evaluate, ground_truth_from_table, predictions_from_records
from amr.predict.split import predict_split
from amr.train.model import MomentDETR
from amr.train.text import TextBank

# best.pt is the epoch with the highest value of the first of these the metrics have: the
# reference keeps the best MR-full-mAP; Charades-STA-style ground truth has no mAP.
BEST_METRICS = ("MR-full-mAP", "MR-full-R1@0.7")
SHOWN_METRIC = "MR-full-R1@0.7"  # shown in the progress line


def best_value(metrics: dict[str, Any]) -> tuple[str, float] | None:
    """(name, value) of the metric best.pt is chosen by, or None when there is none."""
    for name in BEST_METRICS:
        if metrics.get(name) is not None:
            return name, float(metrics[name])
    return None


def epochs_since_best(values: list[float | None]) -> int:
    """Epochs since the best of the per-epoch validation values (None: not validated); the
    plateau rule of TrainConfig.patience."""
    scored = [(v, i) for i, v in enumerate(values) if v is not None]
    if not scored:
        return 0
    best_epoch = max(scored, key=lambda item: (item[0], -item[1]))[1]  # the first best
    return len(values) - 1 - best_epoch


class Validation:
    """The validation split's ground truth and text, loaded once; metrics of a model."""

    def __init__(self, store: Store, split: str, max_words: int):
        self.store, self.split = store, split
        self.truth = ground_truth_from_table(
            store.samples(split), f"{store.root} split {split}", store.meta.clip_length
        )
        self.text = TextBank.from_store(store, self.truth.qids, max_words)

    def run(self, model: MomentDETR, device: torch.device) -> dict[str, Any]:
        records = predict_split(model, self.store, self.split, self.text, device=device)
        return evaluate(predictions_from_records(records, "val"), self.truth)["brief"]
