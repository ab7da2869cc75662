"""Hungarian matching of predicted spans to ground-truth moments (as DETR's matcher.py).

The cost of giving query i moment j is a weighted sum of a classification cost (focal form,
as the focal class loss), the L1 distance of the (center, width) spans and minus their
generalized IoU. One optimal assignment per sample; queries left over predict background.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from amr.train.spans import cw_to_se, pairwise_giou

Match = tuple[np.ndarray, np.ndarray]  # (query indices, target indices) of one sample


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
) -> list[Match]:
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
) -> list[list[Match]]:
    """hungarian_match for each of N decoder layers at once: logits (N, B, Q), spans
    (N, B, Q, 2). As DETR does, the costs of every query of every layer against every target
    of the batch are one computation and one copy to the host (one wait for the device, not
    one a layer). Samples with one or two moments are assigned for all layers at once; the
    others, one by one, in scipy."""
    layers, batch, queries = logits.shape
    counts = [len(t) for t in targets]
    empty = np.zeros(0, dtype=np.int64)
    if sum(counts) == 0:
        return [[(empty, empty) for _ in targets] for _ in range(layers)]
    every = torch.cat([t.float() for t in targets])
    cost = match_cost(logits.reshape(-1).float(), spans.reshape(-1, 2).float(), every, costs)
    blocks = cost.view(layers, batch, queries, -1).cpu().numpy()
    first = np.cumsum([0, *counts])[:-1]
    matches: list[list[Match]] = [[(empty, empty)] * batch for _ in range(layers)]
    left = [b for b, count in enumerate(counts) if count > 0]
    for count, solve in ((1, _one_moment), (2, _two_moments)):
        samples = [b for b in left if counts[b] == count and queries >= count]
        if samples:
            columns = first[samples][:, None] + np.arange(count)  # (S, count)
            block = np.take_along_axis(blocks[:, samples], columns[None, :, None, :], axis=3)
            for layer, position, found in solve(block):
                matches[layer][samples[position]] = found
    for layer in range(layers):
        for b in left:
            if matches[layer][b][0] is empty:  # not solved above (or a tie): scipy decides
                rows, cols = linear_sum_assignment(
                    blocks[layer, b, :, first[b] : first[b] + counts[b]]
                )
                matches[layer][b] = (rows.astype(np.int64), cols.astype(np.int64))
    return matches


# The assignment of one or two moments, for every layer and sample at once. An optimum that is
# unique is the one scipy finds; a tie is left to scipy, so every match is scipy's, to the index.


def _one_moment(block: np.ndarray) -> Iterator[tuple[int, int, Match]]:
    """block (N, S, Q, 1): each (layer, sample)'s cheapest query, when only one is cheapest."""
    cost = block[..., 0]
    best = cost.argmin(axis=-1)
    unique = (cost == cost.min(axis=-1, keepdims=True)).sum(axis=-1) == 1
    for layer, position in zip(*np.nonzero(unique), strict=True):
        yield layer, position, (best[layer, position, None].astype(np.int64), np.zeros(1, np.int64))


def _two_moments(block: np.ndarray) -> Iterator[tuple[int, int, Match]]:
    """block (N, S, Q, 2): each (layer, sample)'s cheapest pair of distinct queries for the
    two moments, when one pair is cheapest by a margin scipy's float64 arithmetic resolves."""
    queries = block.shape[2]
    total = block[..., :, None, 0].astype(np.float64) + block[..., None, :, 1]  # (N, S, Q, Q)
    total[..., np.arange(queries), np.arange(queries)] = np.inf  # one query, one moment
    flat = total.reshape(*total.shape[:2], -1)
    order = np.partition(flat, 1, axis=-1)
    best, second = order[..., 0], order[..., 1]
    clear = second - best > 1e-9 * np.maximum(1.0, np.abs(best))
    chosen = flat.argmin(axis=-1)
    for layer, position in zip(*np.nonzero(clear), strict=True):
        first, second_query = divmod(int(chosen[layer, position]), queries)
        # as scipy returns them: by query, each with its moment
        rows, cols = (
            ((first, second_query), (0, 1))
            if first < second_query
            else ((second_query, first), (1, 0))
        )
        yield layer, position, (np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64))


def matched_indices(matches: list[list[Match]], target_counts: list[int]) -> np.ndarray:
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
