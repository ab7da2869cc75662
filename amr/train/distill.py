"""Stage 2's losses: cross-stage distillation from the frozen cold-start model (the teacher,
whose queries are the Base Queries) into the student's Original Queries, and the clip-level
discrimination loss. The student's two query sets are each matched to the ground truth with
the usual losses (`Criterion`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from amr.device import autocast
from amr.train.batch import Batch
from amr.train.config import DistillConfig
from amr.train.losses import Criterion
from amr.train.model import MomentDETR
from amr.train.outputs import ModelOutputs, QuerySet


def distillation_loss(student: QuerySet, teacher: QuerySet, hidden_weight: float) -> torch.Tensor:
    """Original Queries against Base Queries, slot by slot, on every decoder layer: binary
    cross-entropy of the foreground probabilities and L1 between the spans (+ 1 - cosine of
    the hidden states when weighted)."""
    layers = list(zip(student.layers(), teacher.layers(), strict=True))
    total = student.logits.new_zeros(())
    for s, t in layers:
        # Cross-entropy minus the teacher's own entropy (a binary KL): the same gradients as
        # cross-entropy, and 0 when the student predicts what the teacher does.
        target = t.logits.sigmoid()
        total = total + F.binary_cross_entropy_with_logits(s.logits, target)
        total = total - F.binary_cross_entropy_with_logits(t.logits, target)
        total = total + F.l1_loss(s.spans, t.spans)
        if hidden_weight:
            cosine = F.cosine_similarity(s.hidden, t.hidden, dim=-1)
            total = total + hidden_weight * (1 - cosine).mean()
    return total / len(layers)


def clip_query_similarity(video_tokens: torch.Tensor, text_pooled: torch.Tensor) -> torch.Tensor:
    """(B, L) cosine of each encoder clip token to the mean projected query token."""
    return F.cosine_similarity(video_tokens, text_pooled[:, None, :], dim=-1)


def discrimination_loss(
    similarity: torch.Tensor,
    relevant: torch.Tensor,
    negative: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    """The reference's: the mean similarity of a sample's negative clips (its wrong spans) must
    fall below that of its relevant clips: softplus((s_neg - s_pos) / T), averaged over the
    samples that have both."""
    has_both = relevant.any(1) & negative.any(1)
    if not has_both.any():
        return similarity.new_zeros(())
    positive = (similarity * relevant).sum(1) / relevant.sum(1).clamp(min=1)
    negatives = (similarity * negative).sum(1) / negative.sum(1).clamp(min=1)
    return F.softplus((negatives - positive) / temperature)[has_both].mean()


def hard_clip_discrimination_loss(
    similarity: torch.Tensor,
    relevant: torch.Tensor,
    mask: torch.Tensor,
    temperature: float,
    hard_negatives: int,
) -> torch.Tensor:
    """amr's variant: relevant clips must be more similar to the query than its hard negatives
    (the non-relevant clips most similar to it): softplus((s_neg - s_pos) / T) over all pairs."""
    negative = ~relevant & mask
    k = min(hard_negatives, similarity.shape[1])
    hard, _ = similarity.masked_fill(~negative, float("-inf")).topk(k, dim=1)  # (B, k)
    hard_valid = torch.isfinite(hard)
    pairs = (hard[:, None, :] - similarity[:, :, None]) / temperature  # (B, L, k)
    valid = (relevant & mask)[:, :, None] & hard_valid[:, None, :]
    if not valid.any():
        return similarity.new_zeros(())
    return F.softplus(pairs.masked_fill(~valid, 0.0))[valid].mean()


class DistillCriterion(nn.Module):
    """Every stage-2 loss of a batch. Runs the frozen teacher on the same inputs, in the
    student's precision (`cpu_bf16`: TrainConfig's)."""

    def __init__(
        self,
        base: Criterion,
        teacher: MomentDETR,
        config: DistillConfig,
        cpu_bf16: bool = False,
    ):
        super().__init__()
        self.base, self.config, self.cpu_bf16 = base, config, cpu_bf16
        self.teacher = teacher.eval().requires_grad_(False)

    def train(self, mode: bool = True) -> DistillCriterion:
        super().train(mode)
        self.teacher.eval()  # the teacher never leaves eval mode
        return self

    def forward(
        self, outputs: ModelOutputs, batch: Batch
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c = self.config
        total, terms = self.base(outputs, batch)  # every query set matched, and saliency
        if c.distill:
            inputs = batch.inputs
            with torch.no_grad(), autocast(inputs[0].device, self.cpu_bf16):
                taught = self.teacher(*inputs).float()
            distilled = distillation_loss(outputs.original, taught.original, c.distill_hidden)
            total = total + c.distill * distilled
            terms["distill"] = distilled.detach()
        if c.discrimination:
            similarity = clip_query_similarity(outputs.video_tokens, outputs.text_pooled)
            mask = batch.video_mask
            relevant = (batch.saliency_levels > 0) & mask
            if c.disc_negatives == "wrong-spans":
                negative = batch.negative_clips & mask
                disc = discrimination_loss(similarity, relevant, negative, c.temperature)
            else:
                disc = hard_clip_discrimination_loss(
                    similarity, relevant, mask, c.temperature, c.hard_negatives
                )
            total = total + c.discrimination * disc
            terms["discrimination"] = disc.detach()
        return total, terms


def init_student(
    student: MomentDETR,
    teacher: MomentDETR,
    original_randomly: bool,
    active_ffn_from_teacher: bool = True,
) -> None:
    """The student starts as the cold-start model: every shared weight copied. The Active
    Queries' anchors and contents stay fresh; their per-layer feed-forward networks start as
    copies of the cold-start model's (as the reference sets them) unless
    `active_ffn_from_teacher` is False. With original_randomly the Original Queries stay fresh
    too."""
    teacher_state = teacher.state_dict()
    state = dict(teacher_state)
    if original_randomly:
        state = {k: v for k, v in state.items() if k not in ("query_content.weight", "anchors")}
    if active_ffn_from_teacher and student.config.active_queries:
        for i in range(len(student.decoder)):
            for active, original in (("active_ffn", "ffn"), ("active_norm", "norm_ffn")):
                prefix = f"decoder.{i}.{original}."
                for key, value in teacher_state.items():
                    if key.startswith(prefix):
                        state[f"decoder.{i}.{active}.{key[len(prefix) :]}"] = value
    _, unexpected = student.load_state_dict(state, strict=False)
    assert not unexpected, unexpected
