"""Model and loss settings, in one dataclass each (saved in every run's config.json)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from amr.errors import AmrError


@dataclass(frozen=True)
class ModelConfig:
    """The DETR-style moment-retrieval model; defaults are the reference shape."""

    video_dim: int
    text_dim: int
    hidden: int = 256
    num_queries: int = 10
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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(body) - known)
        if unknown:
            raise AmrError(f"model config: unknown field {unknown[0]!r}")
        return cls(**body)


@dataclass(frozen=True)
class LossConfig:
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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
