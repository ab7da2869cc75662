"""Recipes: how a sample's clip features are composed from source videos, exactly and replayably.

A recipe is a list of pastes applied in order onto an empty (n_clips, dim) canvas. The first paste
is the host video itself. A paste writes `clips` of `vid` at `target_start` onward; with `alpha`,
each target clip becomes ``alpha * source + (1 - alpha) * what was there`` (a cross-fade),
computed in float32 and stored in the sources' dtype (float16 features: hard pastes are exact
copies).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from amr.errors import AmrError


@dataclass(frozen=True)
class Paste:
    vid: str
    clips: np.ndarray  # int32 source clip indices, in target order (repeats allowed: stretching)
    target_start: int
    alpha: np.ndarray | None = None  # float32 per pasted clip; None = a hard paste

    @property
    def target_end(self) -> int:
        return self.target_start + len(self.clips)


Recipe = list[Paste]


def identity_recipe(vid: str, n_clips: int) -> Recipe:
    return [Paste(vid, np.arange(n_clips, dtype=np.int32), 0)]


def check_recipe(recipe: Recipe, n_clips: int, source_clips: Callable[[str], int | None]) -> str:
    """Return why `recipe` cannot be replayed onto n_clips clips ('' if it can)."""
    if not recipe:
        return "empty recipe"
    if (
        recipe[0].target_start != 0
        or len(recipe[0].clips) != n_clips
        or recipe[0].alpha is not None
    ):
        return "the first paste must cover the whole canvas"
    for paste in recipe:
        available = source_clips(paste.vid)
        if available is None:
            return f"source video {paste.vid!r} is not in the store"
        if len(paste.clips) == 0:
            return f"an empty paste from {paste.vid!r}"
        if paste.target_start < 0 or paste.target_end > n_clips:
            return (
                f"paste from {paste.vid!r} to clips {paste.target_start}..{paste.target_end - 1} "
                f"lies outside the sample's {n_clips} clips"
            )
        if paste.clips.min() < 0 or paste.clips.max() >= available:
            return (
                f"paste names clip {int(paste.clips.max())} of {paste.vid!r}, which has {available}"
            )
        if paste.alpha is not None and (
            len(paste.alpha) != len(paste.clips)
            or not np.all((paste.alpha >= 0) & (paste.alpha <= 1))
        ):
            return (
                f"paste from {paste.vid!r} has alpha values of the wrong length or outside [0, 1]"
            )
    return ""


def compose(
    recipe: Recipe,
    n_clips: int,
    fetch: Callable[[str], np.ndarray],
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Replay `recipe`; `fetch(vid)` gives a source's (clips, dim) matrix (features or sketches).

    With `out` ((n_clips, dim), the sources' dtype) the canvas is written there, not allocated.
    """
    first = fetch(recipe[0].vid)
    canvas = np.empty((n_clips, first.shape[1]), dtype=first.dtype) if out is None else out
    for paste in recipe:
        source = first if paste is recipe[0] else fetch(paste.vid)
        if paste.clips.size and int(paste.clips.max()) >= len(source):
            raise AmrError(
                f"recipe names clip {int(paste.clips.max())} of {paste.vid!r}, "
                f"which has {len(source)}"
            )
        span = slice(paste.target_start, paste.target_end)
        if paste.alpha is None:
            canvas[span] = source[paste.clips]
        else:
            weight = paste.alpha[:, None]
            blend = weight * source[paste.clips].astype(np.float32)
            blend += (1.0 - weight) * canvas[span].astype(np.float32)
            canvas[span] = blend
    return canvas


def compose_rows(
    n_clips: np.ndarray,
    owner: np.ndarray,
    source_start: np.ndarray,
    target_start: np.ndarray,
    clip_counts: np.ndarray,
    clips: np.ndarray,
    faded: np.ndarray,
    alpha: np.ndarray,
    read_rows: Callable[..., np.ndarray],
    dim: int,
) -> tuple[np.ndarray, np.ndarray]:
    """`compose` for many rows given as flat pastes (grouped by row, in recipe order), reading
    only the source rows each paste needs: ``read_rows(first, stop, out=None)`` returns pool rows
    first..stop-1, into `out` when given, so a contiguous hard paste (the host) is read straight
    into the canvas. Returns (flat (total clips, dim) float16 canvases, row offsets)."""
    offsets = np.zeros(len(n_clips) + 1, dtype=np.int64)
    np.cumsum(n_clips, out=offsets[1:])
    flat = np.empty((int(offsets[-1]), dim), dtype=np.float16)
    clip_offsets = np.zeros(len(clip_counts) + 1, dtype=np.int64)
    np.cumsum(clip_counts, out=clip_offsets[1:])
    for p in range(len(owner)):
        picked = clips[clip_offsets[p] : clip_offsets[p + 1]]
        start = int(offsets[owner[p]] + target_start[p])
        span = flat[start : start + len(picked)]
        low, high = int(picked[0]), int(picked[-1]) + 1
        first = int(source_start[p])
        if not faded[p] and high - low == len(picked) and np.all(np.diff(picked) == 1):
            read_rows(first + low, first + high, out=span)
            continue
        low, high = int(picked.min()), int(picked.max()) + 1
        source = read_rows(first + low, first + high)[picked - low]
        if faded[p]:
            weight = alpha[clip_offsets[p] : clip_offsets[p + 1], None]
            blend = weight * source.astype(np.float32)
            blend += (1.0 - weight) * span.astype(np.float32)
            span[:] = blend
        else:
            span[:] = source
    return flat, offsets
