"""What the model returns: its query sets (each with every decoder layer's predictions) and
the clip-level outputs. Losses, distillation and inference read these fields by name, so a
new query set is one more entry in `query_sets`, not a new key prefix to parse."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class QuerySet:
    """One query set's predictions on the last decoder layer; `aux` holds the earlier layers'
    (each a QuerySet with no aux of its own)."""

    name: str  # "original" (the stage-1 queries), "active" (stage 2's second set)
    logits: torch.Tensor  # (B, Q) foreground logits
    spans: torch.Tensor  # (B, Q, 2) (center, width) as fractions of the video
    hidden: torch.Tensor  # (B, Q, hidden) decoder states
    iou: torch.Tensor | None = None  # (B, Q) logits of the predicted IoU (with an IoU head)
    aux: list[QuerySet] = field(default_factory=list)

    def layers(self) -> list[QuerySet]:
        """The last layer, then every earlier one (the order the losses add them in)."""
        return [self, *self.aux]

    def float(self) -> QuerySet:
        return QuerySet(
            self.name,
            self.logits.float(),
            self.spans.float(),
            self.hidden.float(),
            None if self.iou is None else self.iou.float(),
            [layer.float() for layer in self.aux],
        )


def join(sets: list[QuerySet], name: str = "joint") -> QuerySet:
    """Several query sets as one, layer by layer (joint matching: one Hungarian assignment
    over all of their queries)."""
    if len(sets) == 1:
        return sets[0]
    layers = []
    for same_layer in zip(*(s.layers() for s in sets), strict=True):
        ious = [layer.iou for layer in same_layer]
        layers.append(
            QuerySet(
                name,
                torch.cat([layer.logits for layer in same_layer], dim=1),
                torch.cat([layer.spans for layer in same_layer], dim=1),
                torch.cat([layer.hidden for layer in same_layer], dim=1),
                None if any(i is None for i in ious) else torch.cat(ious, dim=1),
            )
        )
    last, *earlier = layers
    last.aux = earlier
    return last


@dataclass
class ModelOutputs:
    query_sets: list[QuerySet]  # the original set first; stage 2 adds the active set
    saliency: torch.Tensor  # (B, L), padding at -inf
    video_tokens: torch.Tensor  # (B, L, hidden) the encoder's clips (stage 2's discrimination)
    text_pooled: torch.Tensor  # (B, hidden) the mean projected query token
    projected_video: torch.Tensor  # (B, L, hidden) clips after projection, before fusion (VTC/CTC)
    projected_text: torch.Tensor  # (B, T, hidden) query tokens after projection (VTC/CTC)

    @property
    def original(self) -> QuerySet:
        return self.query_sets[0]

    def float(self) -> ModelOutputs:
        """In float32 (losses are computed in float32 whatever dtype autocast ran the model in)."""
        return ModelOutputs(
            [query_set.float() for query_set in self.query_sets],
            self.saliency.float(),
            self.video_tokens.float(),
            self.text_pooled.float(),
            self.projected_video.float(),
            self.projected_text.float(),
        )

    def ranked_candidates(self, by_iou: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """(scores (B, Q_total) in [0, 1], spans (B, Q_total, 2)) of every query set together:
        at inference all sets' windows are ranked as one list, by foreground probability, times
        the predicted IoU when the model has an IoU head and `by_iou` (as the reference)."""
        joined = join(self.query_sets)
        scores = joined.logits.float().sigmoid()
        if by_iou and joined.iou is not None:
            scores = scores * joined.iou.float().sigmoid()
        return scores, joined.spans
