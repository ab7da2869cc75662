"""The boundary operator: synthetic boundaries of controlled sharpness, at exactly known positions.

A pasted segment either replaces the host's clips at a hard cut, or cross-fades in and out over
`fade` clips centred on each boundary, so that the labeled boundary is the fade's midpoint. Windows
are also stretched or squeezed, so the model sees many boundary positions and moment lengths.
"""

from __future__ import annotations

import numpy as np

from amr.augment.recipe import Paste
from amr.augment.splice import ordered_subset


def stretch_clips(rng: np.random.Generator, length: int, max_stretch: float) -> np.ndarray:
    """Source clip indices for a window resampled to length × max_stretch^u, u ~ U(-1, 1):
    squeezed by keeping an ordered random subset, stretched by repeating clips evenly."""
    target = round(length * max_stretch ** rng.uniform(-1.0, 1.0))
    target = max(1, target)
    if target <= length:
        return ordered_subset(rng, length, target)
    return np.floor((np.arange(target) + 0.5) * length / target).astype(np.int32)


def fade_alpha(length: int, fade: int) -> np.ndarray:
    """Blend weights over [start - fade/2, end + fade/2): 0.5 falls exactly on both boundaries."""
    half = fade // 2
    position = np.arange(length + 2 * half, dtype=np.float32)
    rising = (position + 0.5) / fade
    falling = (length + 2 * half - position - 0.5) / fade
    return np.clip(np.minimum(rising, falling), 0.0, 1.0).astype(np.float32)


def faded_paste(vid: str, clips: np.ndarray, start: int, fade: int, n_clips: int) -> Paste:
    """A paste of `clips` at `start` with a cross-fade of `fade` clips at both ends (hard if 0).

    Outside the label the fade blends in the segment's first/last clip; the part of the fade that
    would fall outside the video is dropped.
    """
    if fade == 0:
        return Paste(vid, clips, start)
    half = fade // 2
    extended = np.concatenate([np.repeat(clips[:1], half), clips, np.repeat(clips[-1:], half)])
    alpha = fade_alpha(len(clips), fade)
    first = start - half
    lo, hi = max(0, -first), min(len(extended), n_clips - first)
    return Paste(vid, extended[lo:hi].astype(np.int32), first + lo, alpha[lo:hi])
