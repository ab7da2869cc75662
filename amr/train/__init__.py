"""Training: the DETR-style model, Hungarian matching, losses (and, next, the trainers)."""

from amr.train.config import LossConfig, ModelConfig
from amr.train.losses import Criterion
from amr.train.matcher import MatchCosts, hungarian_match
from amr.train.model import MomentDETR

__all__ = ["Criterion", "LossConfig", "MatchCosts", "ModelConfig", "MomentDETR", "hungarian_match"]
