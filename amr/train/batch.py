"""`Batch`: one training batch, as the loader builds it (data.py) and the losses read it.

B samples, padded to the longest video window (L clips) and the longest query (W words). Every
label is in the window the model sees: a video longer than the model is cropped to a window
(windows.py) that starts at `first_clip`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property

import torch


@dataclass(frozen=True)
class Batch:
    video: torch.Tensor  # (B, L, video_dim) float16 clip features, zero past a video's end
    video_mask: torch.Tensor  # (B, L) bool: a real clip
    text: torch.Tensor  # (B, W, text_dim) float16 word features
    text_mask: torch.Tensor  # (B, W) bool: a real word
    spans: torch.Tensor  # (M, 2) every sample's moments, (center, width) in window fractions
    span_counts: torch.Tensor  # (B,) moments per sample; stays on the host (see `to`)
    saliency_levels: torch.Tensor  # (B, L) int8: 0 outside every moment, else the clip's level
    negative_clips: torch.Tensor  # (B, L) bool: clips of the sample's wrong spans (stage 2)
    saliency_pos: torch.Tensor  # (B, P) a clip inside a moment, per saliency pair
    saliency_neg: torch.Tensor  # (B, P) a clip outside, per pair
    sample_id: torch.Tensor  # (B,) the row's position in its source
    qid: torch.Tensor  # (B,)
    duration: torch.Tensor  # (B,) seconds of the window the model sees
    first_clip: torch.Tensor  # (B,) where that window starts in the video

    def __len__(self) -> int:
        return len(self.qid)

    def to(self, device: torch.device, non_blocking: bool = False) -> Batch:
        """The batch on `device`. `span_counts` stays on the host: splitting the moments by
        sample needs them as numbers, and reading them from a GPU would wait for it."""
        moved = {
            f.name: getattr(self, f.name).to(device, non_blocking=non_blocking)
            for f in fields(self)
            if f.name != "span_counts"
        }
        return Batch(**moved, span_counts=self.span_counts)

    def pin_memory(self) -> Batch:
        """The batch in page-locked memory, so that `to(cuda, non_blocking=True)` overlaps."""
        return Batch(**{f.name: getattr(self, f.name).pin_memory() for f in fields(self)})

    @cached_property
    def targets(self) -> list[torch.Tensor]:
        """Each sample's moments (T_b, 2), as the matcher takes them."""
        return list(torch.split(self.spans, self.span_counts.tolist()))

    @cached_property
    def inputs(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The model's arguments: (video, video_mask, text, text_mask), features in float32."""
        return self.video.float(), self.video_mask, self.text.float(), self.text_mask
