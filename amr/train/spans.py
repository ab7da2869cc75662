"""Temporal spans as (center, width) or (start, end), normalised to [0, 1] of the video, and
the IoU family on them (batched: a leading batch of pairs, or an all-pairs matrix)."""

from __future__ import annotations

import torch


def cw_to_se(spans: torch.Tensor) -> torch.Tensor:
    center, width = spans.unbind(-1)
    return torch.stack([center - width / 2, center + width / 2], dim=-1)


def se_to_cw(spans: torch.Tensor) -> torch.Tensor:
    start, end = spans.unbind(-1)
    return torch.stack([(start + end) / 2, end - start], dim=-1)


def pairwise_iou(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """IoU and union of every span of a (N, 2) with every span of b (M, 2), (start, end)."""
    inter = torch.minimum(a[:, None, 1], b[None, :, 1]) - torch.maximum(
        a[:, None, 0], b[None, :, 0]
    )
    inter = inter.clamp(min=0)
    union = (a[:, 1] - a[:, 0])[:, None] + (b[:, 1] - b[:, 0])[None, :] - inter
    return inter / union.clamp(min=1e-6), union


def pairwise_giou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Generalized IoU (N, M): IoU minus the share of the enclosing span that neither covers."""
    iou, union = pairwise_iou(a, b)
    hull = torch.maximum(a[:, None, 1], b[None, :, 1]) - torch.minimum(a[:, None, 0], b[None, :, 0])
    return iou - (hull - union) / hull.clamp(min=1e-6)


def paired_giou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Generalized IoU of a[i] with b[i]; (N, 2) each, (start, end)."""
    inter = (torch.minimum(a[:, 1], b[:, 1]) - torch.maximum(a[:, 0], b[:, 0])).clamp(min=0)
    union = (a[:, 1] - a[:, 0]) + (b[:, 1] - b[:, 0]) - inter
    hull = torch.maximum(a[:, 1], b[:, 1]) - torch.minimum(a[:, 0], b[:, 0])
    iou = inter / union.clamp(min=1e-6)
    return iou - (hull - union) / hull.clamp(min=1e-6)


def best_iou(spans: torch.Tensor, targets: list[torch.Tensor]) -> torch.Tensor:
    """(B, Q): the IoU of each predicted span with the closest ground-truth span of its own
    sample (0 for a sample without one). spans (B, Q, 2) and each target (n_b, 2) in
    (center, width)."""
    batch, queries, _ = spans.shape
    counts = [len(t) for t in targets]  # on the host: nothing here waits for a GPU
    if sum(counts) == 0:
        return spans.new_zeros(batch, queries)
    owner = torch.arange(batch).repeat_interleave(torch.tensor(counts))
    owner = owner.to(spans.device, non_blocking=True)
    flat = torch.cat(targets).to(spans.dtype)
    iou, _ = pairwise_iou(cw_to_se(spans.reshape(-1, 2)), cw_to_se(flat))  # (B * Q, T)
    sample = torch.arange(batch, device=spans.device).repeat_interleave(queries)
    iou = iou.masked_fill(sample[:, None] != owner[None, :], 0.0)
    return iou.max(dim=1).values.reshape(batch, queries)
