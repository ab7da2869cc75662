"""Hungarian matching of predicted spans to ground-truth moments (as DETR's matcher.py).

The cost of giving query i moment j is a weighted sum of a classification cost (focal form,
as the focal class loss), the L1 distance of the (center, width) spans and minus their
generalized IoU. One optimal assignment per sample; queries left over predict background.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from amr.train.spans import cw_to_se, pairwise_giou


@dataclass(frozen=True)
class MatchCosts:
    label: float = 4.0
    span_l1: float = 10.0
    span_giou: float = 1.0
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0


def match_cost(
    logits: torch.Tensor, spans: torch.Tensor, targets: torch.Tensor, costs: MatchCosts
) -> torch.Tensor:
    """(Q, T) cost of each query of one sample for each of its T target spans (center, width)."""
    prob = logits.sigmoid()[:, None]
    positive = costs.focal_alpha * (1 - prob) ** costs.focal_gamma * -(prob + 1e-8).log()
    negative = (1 - costs.focal_alpha) * prob**costs.focal_gamma * -(1 - prob + 1e-8).log()
    label = (positive - negative).expand(-1, len(targets))
    l1 = torch.cdist(spans, targets, p=1)
    giou = pairwise_giou(cw_to_se(spans), cw_to_se(targets))
    return costs.label * label + costs.span_l1 * l1 - costs.span_giou * giou


@torch.no_grad()
def hungarian_match(
    logits: torch.Tensor,
    spans: torch.Tensor,
    targets: list[torch.Tensor],
    costs: MatchCosts = MatchCosts(),
) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each sample, (query indices, target indices) of the cheapest one-to-one assignment.

    logits (B, Q) foreground logits; spans (B, Q, 2) (center, width); targets[b] (T_b, 2).
    """
    return match_layers(logits[None], spans[None], targets, costs)[0]


@torch.no_grad()
def match_layers(
    logits: torch.Tensor,
    spans: torch.Tensor,
    targets: list[torch.Tensor],
    costs: MatchCosts = MatchCosts(),
) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """hungarian_match for each of N decoder layers at once: logits (N, B, Q), spans
    (N, B, Q, 2). As DETR does, the costs of every query of every layer against every target
    of the batch are one computation and one copy to the host (one wait for the device, not
    one a layer); only the assignments themselves run one by one (in scipy)."""
    layers, batch, queries = logits.shape
    counts = [len(t) for t in targets]
    empty = np.zeros(0, dtype=np.int64)
    if sum(counts) == 0:
        return [[(empty, empty) for _ in targets] for _ in range(layers)]
    every = torch.cat([t.float() for t in targets])
    cost = match_cost(logits.reshape(-1).float(), spans.reshape(-1, 2).float(), every, costs)
    blocks = cost.view(layers, batch, queries, -1).cpu().numpy()
    first = np.cumsum([0, *counts])
    matches = []
    for layer in blocks:
        found = []
        for b, count in enumerate(counts):
            if count == 0:
                found.append((empty, empty))
                continue
            rows, cols = linear_sum_assignment(layer[b, :, first[b] : first[b] + count])
            found.append((rows.astype(np.int64), cols.astype(np.int64)))
        matches.append(found)
    return matches


def matched_indices(
    matches: list[list[tuple[np.ndarray, np.ndarray]]], target_counts: list[int]
) -> np.ndarray:
    """match_layers' assignments as one (4, N, M) index array: for each of the M matches of
    each of N layers, its layer, sample, query and target (the target's row among all the
    batch's targets, concatenated). Every layer matches min(Q, T) queries of a sample, so
    every layer has the same M matches, sample by sample."""
    per_sample = [len(queries) for queries, _ in matches[0]]
    first = np.cumsum([0, *target_counts])[:-1]  # each sample's first target
    queries = np.stack([np.concatenate([q for q, _ in layer]) for layer in matches])
    targets = np.stack(
        [
            np.concatenate([t + f for (_, t), f in zip(layer, first, strict=True)])
            for layer in matches
        ]
    )
    layers, samples = np.broadcast_arrays(
        np.arange(len(matches))[:, None], np.repeat(np.arange(len(per_sample)), per_sample)
    )
    return np.stack([layers, samples, queries, targets]).astype(np.int64)
