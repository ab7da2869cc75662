"""Dropout that draws a quarter of the random numbers on the CPU (`TrainConfig.fast_dropout`).

torch's CPU dropout draws one Mersenne-Twister number per element and then makes three passes
over the tensor; at the reference model's sizes that is over half of a 2-core training step.
Here one full-range 64-bit draw gives four 16-bit numbers, each kept when it is at or above
p (rounded to 1/65,536), and the scaled mask is one multiplication. The masks follow the same
distribution as torch's, from the same seeded generator (so a run still repeats and resumes
exactly), but they are other masks: a run's numbers differ from a run with torch's dropout.
On CUDA torch's dropout is already one fused kernel and is used either way, as it is inside
torch.compile (`--compile`), whose graphs draw their own masks.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

_LANES = 4  # 16-bit numbers per 64-bit draw
_RANGE = 1 << 16


def keep_mask(shape: torch.Size | tuple[int, ...], p: float, device: torch.device) -> torch.Tensor:
    """A bool tensor of `shape`, each element True with probability 1 - p (p in 1/65,536ths),
    drawn from torch's default generator for `device`."""
    count = math.prod(shape)
    draws = torch.empty(-(-count // _LANES), dtype=torch.int64, device=device)
    draws.random_(-(1 << 63), None)  # every bit random (the default range leaves the top one 0)
    numbers = draws.view(torch.int16)[:count].view(shape)  # uniform in [-32768, 32767]
    return numbers >= round(p * _RANGE) - _RANGE // 2


def uses_fast_masks(x: torch.Tensor, fast: bool) -> bool:
    """Whether dropout on `x` draws this module's masks: asked for, on the CPU, and not inside
    torch.compile. A compiled graph draws its own masks; the fast masks' in-place draw would
    break it at every dropout (and recompile it until dynamo gives up)."""
    return fast and x.device.type == "cpu" and not torch.compiler.is_compiling()


def dropout(x: torch.Tensor, p: float, training: bool, fast: bool) -> torch.Tensor:
    """F.dropout, or with `fast` on a CPU tensor the quarter-draw masks of this module."""
    if not training or p == 0:
        return x
    if not uses_fast_masks(x, fast) or p >= 1:
        return F.dropout(x, p, training=True)
    # The scaled mask in one pass: 1 / (1 - p) where kept, rounded to x's dtype, else 0.
    scale = torch.tensor(1 / (1 - p), dtype=x.dtype)
    return x * torch.where(keep_mask(x.shape, p, x.device), scale, 0.0)


class Dropout(nn.Module):
    """nn.Dropout with the choice of masks (`fast_dropout`: see the module's docstring)."""

    def __init__(self, p: float):
        super().__init__()
        self.p, self.fast_dropout = p, False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training, self.fast_dropout)

    def extra_repr(self) -> str:
        return f"p={self.p}, fast_dropout={self.fast_dropout}"


def use_fast_dropout(model: nn.Module, fast: bool = True) -> nn.Module:
    """Every dropout in `model` draws fast masks (or torch's), as `model.train()` sets every
    module's training flag. A training setting, not the model's: predictions never drop."""
    for module in model.modules():
        if hasattr(module, "fast_dropout"):
            module.fast_dropout = fast
    return model
