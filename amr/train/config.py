"""Model, loss and training settings, one dataclass each (saved in every run's config.json)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from amr.errors import AmrError
from amr.train.curriculum import Pacing


class JsonConfig:
    """to_json / from_json for a settings dataclass; an unknown field is a clear error."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_json(cls, body: dict[str, Any]):
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(body) - known)
        if unknown:
            raise AmrError(f"{cls.__name__}: unknown field {unknown[0]!r}")
        return cls(**body)


@dataclass(frozen=True)
class ModelConfig(JsonConfig):
    """The DETR-style moment-retrieval model; defaults are the reference shape."""

    video_dim: int
    text_dim: int
    hidden: int = 256
    num_queries: int = 10
    active_queries: int = 0  # stage 2's second query set (0 in stage 1)
    encoder_layers: int = 2
    decoder_layers: int = 4
    heads: int = 8
    ffn: int = 1024
    dropout: float = 0.1
    input_dropout: float = 0.5
    max_clips: int = 75

    def __post_init__(self) -> None:
        if self.hidden % self.heads:
            raise AmrError(f"hidden {self.hidden} is not a multiple of heads {self.heads}")
        for name in ("video_dim", "text_dim", "num_queries", "decoder_layers", "max_clips"):
            if getattr(self, name) < 1:
                raise AmrError(f"model config: {name} must be at least 1")


@dataclass(frozen=True)
class LossConfig(JsonConfig):
    """Loss weights (and the matcher's costs, which mirror them)."""

    span_l1: float = 10.0
    span_giou: float = 1.0
    label: float = 4.0
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    saliency_margin: float = 1.0  # weight of the hinge between a relevant and an other clip
    margin: float = 0.2
    saliency_rank: float = 1.0  # weight of the rank-contrastive saliency loss
    rank_temperature: float = 0.5
    aux: bool = True  # the same losses on every decoder layer's output


@dataclass(frozen=True)
class TrainConfig(JsonConfig):
    epochs: int = 30
    max_samples: int | None = None  # stop once this many samples are trained on (equal budgets)
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 1e-4
    lr_drop: int = 20  # epochs between 10x learning-rate drops
    grad_clip: float = 0.1
    seed: int = 0
    curriculum: bool = True  # False: every epoch draws from the whole corpus (the ablation)
    pacing: str = "root"
    pacing_start: float = 0.3
    epochs_to_full: int = 10
    window_rows: int = 256
    workers: int = 2  # loader threads
    include_original: bool = False  # stage 1 trains on augmented rows only, as the reference
    val_split: str | None = "val"
    checkpoint_every: int = 500  # steps between last.pt saves inside an epoch
    device: str = "auto"

    def pacing_schedule(self) -> Pacing | None:
        if not self.curriculum:
            return None
        return Pacing(self.pacing, self.pacing_start, self.epochs_to_full)
