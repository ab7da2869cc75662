"""Training losses: matched span losses (L1 + generalized IoU), the focal foreground loss and the
IoU-score loss for every query set (each matched on its own, or all jointly), on the last
decoder layer and (aux) on every earlier one; the two saliency losses; and the video-text and
clip-text contrastive losses on the projected inputs."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from amr.train.batch import Batch
from amr.train.config import LossConfig
from amr.train.matcher import MatchCosts, match_layers, matched_indices
from amr.train.outputs import ModelOutputs, QuerySet, join
from amr.train.spans import best_iou, cw_to_se, paired_giou


def focal_loss(
    logits: torch.Tensor, targets: torch.Tensor, alpha: float, gamma: float
) -> torch.Tensor:
    """Sigmoid focal loss, summed (callers normalise by the number of moments)."""
    prob = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = prob * targets + (1 - prob) * (1 - targets)
    weight = alpha * targets + (1 - alpha) * (1 - targets)
    return (weight * (1 - p_t) ** gamma * ce).sum()


def saliency_margin_loss(
    saliency: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float
) -> torch.Tensor:
    """Hinge: a relevant clip must score `margin` above another clip of the same video.

    positive, negative (B, P) clip indices; -1 marks a pair a sample does not have."""
    valid = (positive >= 0) & (negative >= 0)
    if not valid.any():
        return saliency.new_zeros(())
    pos = saliency.gather(1, positive.clamp(min=0))
    neg = saliency.gather(1, negative.clamp(min=0))
    return (margin + neg - pos).clamp(min=0)[valid].mean()


def saliency_rank_loss(
    saliency: torch.Tensor, levels: torch.Tensor, mask: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Rank-contrastive: for every saliency level r, the clips at level ≥ r should take the
    softmax mass over the video's clips. levels (B, L) integers ≥ 0 (0 = not relevant)."""
    top = int(levels.max()) if levels.numel() else 0
    if top == 0:
        return saliency.new_zeros(())
    scores = saliency.masked_fill(~mask, float("-inf")) / temperature
    log_prob = scores.log_softmax(dim=1).masked_fill(~mask, 0.0)
    thresholds = torch.arange(1, top + 1, device=levels.device)[:, None, None]  # (R, 1, 1)
    positive = (levels[None] >= thresholds) & mask[None]  # (R, B, L)
    count = positive.sum(dim=2)  # (R, B)
    mean_log_prob = (positive * log_prob[None]).sum(dim=2) / count.clamp(min=1)
    used = count > 0
    return -(mean_log_prob[used]).mean()


def video_text_contrastive(
    video: torch.Tensor,
    video_mask: torch.Tensor,
    text: torch.Tensor,
    text_mask: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    """VTC: a video (its mean projected clip) and its query (the last real token, which for
    CLIP text features is the sentence token) are a pair; the batch's other videos and queries
    are the negatives. Symmetric InfoNCE, the mean of both directions."""
    clips = (video * video_mask[..., None]).sum(1) / video_mask.sum(1, keepdim=True).clamp(min=1)
    last = (text_mask.sum(1) - 1).clamp(min=0)
    sentence = text[torch.arange(len(text), device=text.device), last]
    logits = F.normalize(sentence, dim=-1) @ F.normalize(clips, dim=-1).T / temperature
    labels = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


def clip_text_contrastive(
    video: torch.Tensor,
    video_mask: torch.Tensor,
    text: torch.Tensor,
    text_mask: torch.Tensor,
    relevant: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    """CTC: each real clip's similarity to its query (the normalised clip · the mean of the
    query's normalised tokens, as the reference), over the temperature, is the logit of "this
    clip is relevant" (binary cross-entropy)."""
    tokens = F.normalize(text, dim=-1) * text_mask[..., None]
    query = tokens.sum(1) / text_mask.sum(1, keepdim=True).clamp(min=1)
    similarity = (F.normalize(video, dim=-1) * query[:, None, :]).sum(-1)  # (B, L)
    logits = similarity[video_mask] / temperature
    return F.binary_cross_entropy_with_logits(logits, relevant[video_mask].to(logits.dtype))


class Criterion(torch.nn.Module):
    """All losses for a batch; returns the weighted total and each term (for logging)."""

    def __init__(self, config: LossConfig, joint: bool = False):
        """joint: match all query sets as one (one Hungarian assignment over all queries, as
        the reference does in stage 2); else each set is matched to the targets on its own."""
        super().__init__()
        self.config, self.joint = config, joint
        self.costs = MatchCosts(
            label=config.label,
            span_l1=config.span_l1,
            span_giou=config.span_giou,
            focal_alpha=config.focal_alpha,
            focal_gamma=config.focal_gamma,
        )

    def _set_losses(
        self,
        layers: list[QuerySet],
        spans: torch.Tensor,
        targets: list[torch.Tensor],
        matches: list[list[tuple[np.ndarray, np.ndarray]]],
    ) -> list[dict[str, torch.Tensor]]:
        """Each layer's set losses. The span losses and the IoU targets are computed for all
        layers at once from their stacked spans (N, B, Q, 2): one operator a term, not one a
        layer (on CUDA, a step's launches). Each term equals, to the bit, the one its layer
        gives alone (test_train_model.py)."""
        c = self.config
        n_layers = len(layers)
        # one copy to the device, not one an index (each would wait for a GPU)
        index = torch.as_tensor(matched_indices(matches, [len(t) for t in targets]))
        layer_idx, batch_idx, query_idx, target_idx = index.to(spans.device, non_blocking=True)
        matched = spans[layer_idx, batch_idx, query_idx]  # (N, M, 2)
        wanted = torch.cat(targets)[target_idx].to(matched.dtype)
        n_moments = max(wanted.shape[1], 1)
        foreground = spans.new_zeros(spans.shape[:-1])
        foreground[layer_idx, batch_idx, query_idx] = 1.0
        if wanted.shape[1]:
            l1 = F.l1_loss(matched, wanted, reduction="none").sum(dim=(1, 2)) / n_moments
            giou = 1 - paired_giou(cw_to_se(matched.flatten(0, 1)), cw_to_se(wanted.flatten(0, 1)))
            giou = giou.view(n_layers, -1).sum(dim=1) / n_moments
        else:
            l1 = giou = spans.sum(dim=(1, 2, 3)) * 0.0
        scored = c.iou_score and all(layer.iou is not None for layer in layers)
        if scored:
            # each sample's queries of every layer as one row of queries: (B, N * Q)
            wanted_iou = best_iou(spans.detach().transpose(0, 1).flatten(1, 2), targets)
            wanted_iou = wanted_iou.view(len(targets), n_layers, -1).transpose(0, 1).contiguous()
        terms = []
        for i, layer in enumerate(layers):
            # The focal and IoU-score losses go layer by layer, on the layer's own tensors:
            # their sigmoids and logs take the vector or the scalar path by an element's place
            # in its tensor, so a batched call would round a few elements otherwise.
            label = focal_loss(layer.logits, foreground[i], c.focal_alpha, c.focal_gamma)
            layer_terms = {"label": label / n_moments, "span_l1": l1[i], "span_giou": giou[i]}
            if scored:
                layer_terms["iou_score"] = F.mse_loss(layer.iou.sigmoid(), wanted_iou[i])
            terms.append(layer_terms)
        return terms

    def matched(
        self, query_set: QuerySet, targets: list[torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The weighted set losses of one query set (its last layer, and with `aux` every
        earlier layer, each matched to the targets on its own)."""
        layers = query_set.layers() if self.config.aux else [query_set]
        logits = torch.stack([layer.logits.detach() for layer in layers])
        spans = torch.stack([layer.spans for layer in layers])
        matches = match_layers(logits, spans.detach(), targets, self.costs)
        last, *earlier = self._set_losses(layers, spans, targets, matches)
        terms = dict(last)
        for i, aux_terms in enumerate(earlier):
            terms.update({f"{name}_{i}": value for name, value in aux_terms.items()})
        return self._weighted(terms)

    def forward(
        self, outputs: ModelOutputs, batch: Batch
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Set losses of the first query set (or, joint, of all of them as one), the saliency
        and contrastive losses, then the set losses of every further query set (each matched
        on its own; its terms named after it)."""
        c = self.config
        sets = [join(outputs.query_sets)] if self.joint else outputs.query_sets
        total, terms = self.matched(sets[0], batch.targets)
        mask, levels = batch.video_mask, batch.saliency_levels.long()
        finite = outputs.saliency.masked_fill(~mask, 0.0)
        clip_terms = {
            "saliency_margin": saliency_margin_loss(
                finite, batch.saliency_pos, batch.saliency_neg, c.margin
            ),
            "saliency_rank": saliency_rank_loss(finite, levels, mask, c.rank_temperature),
        }
        if c.vtc:
            clip_terms["vtc"] = video_text_contrastive(
                outputs.projected_video, mask, outputs.projected_text, batch.text_mask,
                c.contrast_temperature,
            )  # fmt: skip
        if c.ctc:
            clip_terms["ctc"] = clip_text_contrastive(
                outputs.projected_video, mask, outputs.projected_text, batch.text_mask,
                levels > 0, c.contrast_temperature,
            )  # fmt: skip
        clip_total, clip_terms = self._weighted(clip_terms)
        total, terms = total + clip_total, {**terms, **clip_terms}
        for query_set in sets[1:]:
            set_total, set_terms = self.matched(query_set, batch.targets)
            total = total + set_total
            terms.update({f"{query_set.name}_{k}": v for k, v in set_terms.items()})
        return total, terms

    def _weighted(
        self, terms: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c = self.config
        weights = {
            "label": c.label,
            "span_l1": c.span_l1,
            "span_giou": c.span_giou,
            "saliency_margin": c.saliency_margin,
            "saliency_rank": c.saliency_rank,
            "iou_score": c.iou_score,
            "vtc": c.vtc,
            "ctc": c.ctc,
        }
        total = sum(value * weights[_base(name)] for name, value in terms.items())
        # Detached, not floats: turning them into numbers would wait for the GPU every step.
        return total, {name: value.detach() for name, value in terms.items()}


def _base(name: str) -> str:
    """'span_l1_2' → 'span_l1' (an aux layer's term shares its weight)."""
    head, _, tail = name.rpartition("_")
    return head if tail.isdigit() else name
