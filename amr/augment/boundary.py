"""The boundary operator: synthetic boundaries of controlled sharpness, at exactly known positions.

A pasted segment either replaces the host's clips at a hard cut, or cross-fades in and out over
`fade` clips centred on each boundary, so that the labeled boundary is the fade's midpoint. Windows
are also stretched or squeezed, so the model sees many boundary positions and moment lengths.
"""

from __future__ import annotations

import numpy as np


def stretched_lengths(lengths: np.ndarray, u: np.ndarray, max_stretch: float) -> np.ndarray:
    """Each window's length × max_stretch^(2u - 1), rounded, at least 1 (u uniform in [0, 1))."""
    scale = max_stretch ** (2.0 * u - 1.0)
    return np.maximum(1, np.rint(np.asarray(lengths) * scale)).astype(np.int64)


def fade_alphas(extended: np.ndarray, fade: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Blend weights of many faded pastes at once: per pasted clip, its paste's extended length
    (length + fade), its fade and its position in the paste. Each paste covers
    [start - fade/2, end + fade/2), and 0.5 falls exactly on both labeled boundaries."""
    fade32 = np.asarray(fade, np.float32)
    position32 = np.asarray(position, np.float32)
    rising = (position32 + np.float32(0.5)) / fade32
    falling = (np.asarray(extended, np.float32) - position32 - np.float32(0.5)) / fade32
    return np.clip(np.minimum(rising, falling), 0.0, 1.0).astype(np.float32)


def fade_alpha(length: int, fade: int) -> np.ndarray:
    """The blend weights of one paste of `length` clips (see `fade_alphas`)."""
    extended = length + 2 * (fade // 2)
    return fade_alphas(np.full(extended, extended), np.full(extended, fade), np.arange(extended))
