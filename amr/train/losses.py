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
from amr.train.matcher import MatchCosts, match_layers
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
        layer: QuerySet,
        targets: list[torch.Tensor],
        matches: list[tuple[np.ndarray, np.ndarray]],
    ) -> dict[str, torch.Tensor]:
        c = self.config
        logits, spans = layer.logits, layer.spans
        counts = [len(q) for q, _ in matches]
        batch_idx = torch.as_tensor(np.repeat(np.arange(len(matches)), counts))
        query_idx = torch.as_tensor(np.concatenate([q for q, _ in matches]))
        first = np.cumsum([0] + [len(t) for t in targets])[:-1]  # each sample's first target
        target_idx = np.concatenate([j + f for (_, j), f in zip(matches, first, strict=True)])
        matched = spans[batch_idx, query_idx]
        wanted = torch.cat(targets)[torch.as_tensor(target_idx)]
        n_moments = max(len(wanted), 1)
        foreground = torch.zeros_like(logits)
        foreground[batch_idx, query_idx] = 1.0
        label = focal_loss(logits, foreground, c.focal_alpha, c.focal_gamma) / n_moments
        if len(wanted):
            l1 = F.l1_loss(matched, wanted.to(matched.dtype), reduction="sum") / n_moments
            giou = (1 - paired_giou(cw_to_se(matched), cw_to_se(wanted.to(matched.dtype)))).sum()
            giou = giou / n_moments
        else:
            l1 = giou = spans.sum() * 0.0
        terms = {"label": label, "span_l1": l1, "span_giou": giou}
        if layer.iou is not None and c.iou_score:
            wanted_iou = best_iou(spans.detach(), targets)
            terms["iou_score"] = F.mse_loss(layer.iou.sigmoid(), wanted_iou)
        return terms

    def matched(
        self, query_set: QuerySet, targets: list[torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The weighted set losses of one query set (its last layer, and with `aux` every
        earlier layer, each matched to the targets on its own)."""
        layers = query_set.layers() if self.config.aux else [query_set]
        matches = match_layers(
            torch.stack([layer.logits.detach() for layer in layers]),
            torch.stack([layer.spans.detach() for layer in layers]),
            targets,
            self.costs,
        )
        terms = self._set_losses(query_set, targets, matches[0])
        for i, (aux, matched) in enumerate(zip(layers[1:], matches[1:], strict=True)):
            for name, value in self._set_losses(aux, targets, matched).items():
                terms[f"{name}_{i}"] = value
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
