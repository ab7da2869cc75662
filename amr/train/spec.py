"""What a training run is: a `Stage` (what it reads, how its model and losses are made, its
defaults; the three values are in stages.py) and a `RunSpec` (every setting that decides what
the run learns, typed; written to config.json and into every checkpoint, and `--resume` must
find the same)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from amr import __version__
from amr.errors import AmrError
from amr.train.config import DistillConfig, LossConfig, ModelConfig, TrainConfig
from amr.train.data import LoaderConfig, RowSource
from amr.train.model import MomentDETR


@dataclass(frozen=True)
class RunSpec:
    stage: str  # a Stage's name: "baseline", "cold-start" or "distill"
    store: str  # the store's resolved path
    store_fingerprint: str
    model: ModelConfig
    loss: LossConfig
    train: TrainConfig
    amr_version: str = __version__
    split: str | None = None  # baseline: the store split it trains on
    corpus: str | None = None  # cold start, distill: the corpus's resolved path
    corpus_source: dict[str, Any] | None = None  # cold start: the corpus manifest's `source`
    kinds: tuple[str, ...] | None = None  # cold start: the augmented kinds, when not all
    init: str | None = None  # distill: the cold-start checkpoint's resolved path
    distill: DistillConfig | None = field(default=None)

    def loader_config(self) -> LoaderConfig:
        """How the run's batches are read: compiled runs get one padded shape."""
        return LoaderConfig(
            batch_size=self.train.batch_size,
            window_rows=self.train.window_rows,
            max_clips=self.model.max_clips,
            workers=self.train.workers,
            static_shapes=self.train.compile,
        )

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "stage": self.stage,
            "amr_version": self.amr_version,
            "store": self.store,
            "store_fingerprint": self.store_fingerprint,
            "model": self.model.to_json(),
            "loss": self.loss.to_json(),
            "train": self.train.to_json(),
        }
        optional = {
            "split": self.split,
            "init": self.init,
            "corpus": self.corpus,
            "corpus_source": self.corpus_source,
            "kinds": None if self.kinds is None else sorted(self.kinds),
            "distill": None if self.distill is None else self.distill.to_json(),
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> RunSpec:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(body) - known)
        if unknown:
            raise AmrError(f"run config: unknown field {unknown[0]!r}")
        values = dict(body)
        values["model"] = ModelConfig.from_json(body["model"])
        values["loss"] = LossConfig.from_json(body["loss"])
        values["train"] = TrainConfig.from_json(body["train"])
        if body.get("kinds") is not None:
            values["kinds"] = tuple(body["kinds"])
        if body.get("distill") is not None:
            values["distill"] = DistillConfig.from_json(body["distill"])
        return cls(**values)


def saved_spec_json(body: dict[str, Any]) -> dict[str, Any]:
    """A saved spec (config.json, a checkpoint's) with every setting a later amr added at its
    default. A new setting's default is what amr did before the setting existed, so a run
    saved before it resumes, and compares equal, as the run it was."""
    return RunSpec.from_json(body).to_json()


@dataclass(frozen=True)
class Stage:
    """One way to train: the rows it reads, how its model and losses are made, its defaults."""

    name: str
    rows: Callable[[RunSpec, LoaderConfig], RowSource]  # where its batches come from
    # (spec, device, fresh) -> (model on device, criterion); fresh is False on resume, when
    # the checkpoint's weights replace whatever the model was initialised with
    build: Callable[[RunSpec, torch.device, bool], tuple[MomentDETR, nn.Module]]
    paced: bool = True  # rows come in curriculum order (TrainConfig's pacing) or shuffled
    train_defaults: Mapping[str, Any] = field(default_factory=dict)  # over TrainConfig's

    def train_config(self, **settings: Any) -> TrainConfig:
        """The stage's TrainConfig: its defaults, then `settings`."""
        return TrainConfig(**{**self.train_defaults, **settings})
