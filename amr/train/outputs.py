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
            [layer.float() for layer in self.aux],
        )


@dataclass
class ModelOutputs:
    query_sets: list[QuerySet]  # the original set first; stage 2 adds the active set
    saliency: torch.Tensor  # (B, L), padding at -inf
    video_tokens: torch.Tensor  # (B, L, hidden) the encoder's clips (stage 2's discrimination)
    text_pooled: torch.Tensor  # (B, hidden) the mean projected query token

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
        )

    def ranked_candidates(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits (B, Q_total), spans (B, Q_total, 2)) of every query set together: at
        inference all sets' predictions are ranked as one list."""
        logits = torch.cat([s.logits for s in self.query_sets], dim=1)
        spans = torch.cat([s.spans for s in self.query_sets], dim=1)
        return logits, spans
