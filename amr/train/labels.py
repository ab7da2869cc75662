"""A batch's labels from its rows' label columns, with whole-batch numpy: (center, width) span
targets, saliency levels and margin pairs, and the clips of unlabelled negative windows."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from amr.draws import Draws
from amr.ragged import owners, ranges

PAIR_STREAM = (
    101  # Draws stream of the saliency pairs (any constant the loader uses for nothing else)
)


def span_targets(
    column: pa.ListArray,
    rows: np.ndarray,
    duration: np.ndarray,
    shift: np.ndarray | None = None,
    cropped: np.ndarray | None = None,
):
    """(S, 2) float32 (center, width) in [0, 1] of every moment of the batch, and (B,) counts.

    A row's moments are in [0, duration] seconds after subtracting its `shift` (the start of a
    cropped row's window); a cropped row drops the moments that fall outside its window."""
    offsets = column.offsets.to_numpy().astype(np.int64)
    points = column.flatten().flatten().to_numpy(zero_copy_only=False).reshape(-1, 2)
    counts = (offsets[1:] - offsets[:-1])[rows]
    se = points[ranges(offsets[:-1][rows], counts)].astype(np.float64)
    if shift is not None:
        se -= np.repeat(shift, counts)[:, None]
    se = np.clip(se / np.repeat(duration, counts)[:, None], 0.0, 1.0)
    if cropped is not None and cropped.any():
        keep = (se[:, 1] > se[:, 0]) | np.repeat(~cropped, counts)
        se, counts = se[keep], np.bincount(owners(counts)[keep], minlength=len(rows))
    cw = np.stack([(se[:, 0] + se[:, 1]) / 2, se[:, 1] - se[:, 0]], axis=1)
    return cw.astype(np.float32), counts


def clip_mask(
    column: pa.ChunkedArray,
    rows: np.ndarray,
    length: int,
    clip_length: float,
    first_clip: np.ndarray | None = None,
) -> np.ndarray:
    """(B, L) bool: the clips that the [start, end] seconds windows of `rows` overlap (the
    unlabelled negatives: pasted look-alikes, or a real sample's wrong spans), counted from each
    row's `first_clip` (its window's start)."""
    column = column.combine_chunks()
    offsets = column.offsets.to_numpy().astype(np.int64)
    points = column.flatten().flatten().to_numpy(zero_copy_only=False).reshape(-1, 2)
    counts = (offsets[1:] - offsets[:-1])[rows]
    spans = points[ranges(offsets[:-1][rows], counts)].astype(np.float64)
    first = np.floor(spans[:, 0] / clip_length + 1e-6).astype(np.int64)
    stop = np.ceil(spans[:, 1] / clip_length - 1e-6).astype(np.int64)
    if first_clip is not None:
        shift = np.repeat(first_clip, counts)
        first, stop = np.maximum(first - shift, 0), stop - shift
    stop = np.minimum(stop, length)
    widths = np.maximum(stop - first, 0)
    mask = np.zeros((len(rows), length), dtype=bool)
    mask[np.repeat(owners(counts), widths), ranges(first, widths)] = True
    return mask


def saliency_levels(
    labels: pa.Table, rows: np.ndarray, length: int, first_clip: np.ndarray | None = None
) -> np.ndarray:
    """(B, L) int8: each clip's saliency level, the sum of its annotators' scores (1 for a
    relevant clip of a split without scores), 0 elsewhere; clips count from `first_clip`."""
    clip_col = labels.column("relevant_clip_ids").combine_chunks()
    offsets = clip_col.offsets.to_numpy().astype(np.int64)
    ids = clip_col.flatten().to_numpy(zero_copy_only=False).astype(np.int64)
    counts = (offsets[1:] - offsets[:-1])[rows]
    take = ranges(offsets[:-1][rows], counts)
    per_clip = labels.column("saliency_scores").combine_chunks().flatten()
    if len(per_clip) == len(ids) and len(ids):
        annotators = per_clip.value_lengths().to_numpy()
        scores = per_clip.flatten().to_numpy(zero_copy_only=False).astype(np.float64)
        sums = np.bincount(owners(annotators), weights=scores, minlength=len(ids))
        value = np.maximum(sums[take], 1).astype(np.int64)
    else:  # no scores (Charades-STA): every relevant clip is level 1
        value = np.ones(len(take), np.int64)
    levels = np.zeros((len(rows), length), dtype=np.int8)
    owner = owners(counts)
    clip = ids[take]
    if first_clip is not None:
        clip = clip - np.repeat(first_clip, counts)
    inside = (clip >= 0) & (clip < length)
    levels[owner[inside], clip[inside]] = np.minimum(value[inside], 127)
    return levels


def saliency_pairs(
    levels: np.ndarray, mask: np.ndarray, sample_ids: np.ndarray, seed: int, epoch: int, pairs: int
) -> tuple[np.ndarray, np.ndarray]:
    """(B, P) a relevant clip and (B, P) an other clip per pair, drawn from (seed, sample id,
    epoch); -1 where a sample has none."""
    draws = Draws(seed)
    index = epoch * pairs + np.arange(pairs)[None, :]
    out = []
    for which, candidates in enumerate(((levels > 0) & mask, (levels == 0) & mask)):
        count = candidates.sum(axis=1)
        pick = draws.integers(
            sample_ids[:, None], PAIR_STREAM + which, np.maximum(count, 1)[:, None], index
        )
        running = np.cumsum(candidates, axis=1)  # the k-th candidate is where running reaches k+1
        chosen = np.argmax(running[:, None, :] > pick[:, :, None], axis=2)
        out.append(np.where(count[:, None] > 0, chosen, -1).astype(np.int64))
    return out[0], out[1]
