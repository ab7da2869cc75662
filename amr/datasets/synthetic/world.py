"""The generative model shared by both synthetic modes (see docs/synthetic.md).

Words have vectors in a small latent space; sibling verbs of one family are close. A clip's
latent is the video's drifting scene background blended with the latents of the events active
in it (weighted by each event's intensity, which fades in and out over `boundary_softness`
clips), plus per-clip semantic noise. Fixed random two-layer tanh networks map clip latents to
video features and word latents to token features; both are L2-normalised after a little
isotropic observation noise, like imported features.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from amr.datasets.synthetic.lexicon import STOPWORDS, VERB_FAMILIES, stem

WORLD_STREAM = 0x574F524C  # "WORL": the world's fixed maps and lexicon vectors
WORD_STREAM = 0x574F5244  # "WORD": vectors of words outside the lexicon


@dataclass(frozen=True)
class Event:
    """Something happening in a video: its latent and its intensity per clip (0 = absent)."""

    latent: np.ndarray
    intensity: np.ndarray


def stable_hash(text: str) -> int:
    """A hash of a string that is the same in every process (unlike hash())."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def intensity_profile(
    n_clips: int, start: float, end: float, softness: float, level: np.ndarray | float = 1.0
) -> np.ndarray:
    """Intensity per clip of an event labelled [start, end) in clip units.

    The ramp is centred on each labelled boundary: 0.5 exactly at the boundary, reaching 0 and 1
    at softness/2 clips either side, so the label marks the midpoint of an ambiguous transition.
    """
    centres = np.arange(n_clips, dtype=np.float64) + 0.5
    if softness > 0:
        rise = np.clip((centres - start) / softness + 0.5, 0.0, 1.0)
        fall = np.clip((end - centres) / softness + 0.5, 0.0, 1.0)
    else:
        rise = (centres >= start).astype(np.float64)
        fall = (centres < end).astype(np.float64)
    return rise * fall * level


class World:
    """Word vectors and the fixed feature maps, all derived from one seed."""

    def __init__(
        self,
        seed: int,
        video_dim: int,
        text_dim: int,
        latent_dim: int,
        family_closeness: float,
        feature_noise: float,
        observation_noise: float,
        text_noise: float,
        drift: float,
        hidden_dim: int = 256,
    ):
        """Knobs as in SynthConfig, which holds their defaults and validates them (make_world)."""
        self.seed = seed
        self.latent_dim = latent_dim
        self.video_dim, self.text_dim = video_dim, text_dim
        self.feature_noise, self.observation_noise = feature_noise, observation_noise
        self.text_noise, self.drift = text_noise, drift
        rng = np.random.default_rng([seed, WORLD_STREAM])
        gain = 1.5 / np.sqrt(latent_dim)
        self._video_in = rng.standard_normal((latent_dim, hidden_dim)) * gain
        self._video_out = rng.standard_normal((hidden_dim, video_dim)) / np.sqrt(hidden_dim)
        self._text_in = rng.standard_normal((latent_dim, hidden_dim)) * gain
        self._text_out = rng.standard_normal((hidden_dim, text_dim)) / np.sqrt(hidden_dim)
        self._vectors: dict[str, np.ndarray] = {}
        # Sibling verbs: cos(v1, v2) ≈ family_closeness (independent parts are near orthogonal).
        shared, own = np.sqrt(family_closeness), np.sqrt(1.0 - family_closeness)
        for verbs, _ in VERB_FAMILIES.values():
            centre = unit(rng.standard_normal(latent_dim))
            for forms in verbs:
                self._vectors[forms[0]] = unit(
                    shared * centre + own * self._random_vector(forms[0])
                )

    def _random_vector(self, key: str) -> np.ndarray:
        rng = np.random.default_rng([self.seed, WORD_STREAM, stable_hash(key)])
        return unit(rng.standard_normal(self.latent_dim))

    def word_vector(self, word: str) -> np.ndarray:
        root = stem(word)
        if root not in self._vectors:
            self._vectors[root] = self._random_vector(root)
        return self._vectors[root]

    def scene_vector(self, key: str) -> np.ndarray:
        return self._random_vector("scene:" + key)

    def phrase_latent(self, words: list[str], weights: list[float] | None = None) -> np.ndarray:
        """An event's latent from the words that describe it; function words count little."""
        if weights is None:
            weights = [0.1 if w in STOPWORDS else 1.0 for w in words]
        vectors = np.stack([self.word_vector(w) for w in words])
        return unit(np.asarray(weights) @ vectors)

    def background(
        self,
        scene: np.ndarray,
        n_clips: int,
        rng: np.random.Generator,
        cut_chance: float = 0.0,
        cut_jump: float = 0.0,
    ) -> np.ndarray:
        """A scene latent drifting slowly over the video (a scaled random walk). Before each
        clip a shot cut happens with `cut_chance`; a cut replaces `cut_jump` of the scene's
        direction with a new one (another camera, or another place)."""
        steps = rng.standard_normal((n_clips, self.latent_dim))
        walk = np.cumsum(steps, axis=0) / np.sqrt(max(n_clips, 1) * self.latent_dim)
        shots = np.broadcast_to(scene, (n_clips, self.latent_dim)).copy()
        if cut_chance > 0 and n_clips > 1:
            cuts = np.flatnonzero(rng.random(n_clips - 1) < cut_chance) + 1
            shot = scene
            for first in cuts:
                fresh = unit(rng.standard_normal(self.latent_dim))
                shot = unit(np.sqrt(1.0 - cut_jump) * shot + np.sqrt(cut_jump) * fresh)
                shots[first:] = shot
        return unit(shots + self.drift * walk)

    def render_video(
        self, background: np.ndarray, events: list[Event], rng: np.random.Generator
    ) -> np.ndarray:
        """(n_clips, video_dim) float16 features of a video: background blended with events."""
        n_clips = background.shape[0]
        if events:
            intensities = np.stack([e.intensity for e in events], axis=1)  # (n_clips, n_events)
            latents = np.stack([e.latent for e in events])  # (n_events, latent_dim)
            presence = np.minimum(intensities.sum(axis=1, keepdims=True), 1.0)
            clip_latent = (1.0 - 0.8 * presence) * background + intensities @ latents
        else:
            clip_latent = background.copy()
        clip_latent += (
            self.feature_noise * rng.standard_normal(clip_latent.shape) / np.sqrt(self.latent_dim)
        )
        features = unit(np.tanh(clip_latent @ self._video_in) @ self._video_out)
        noise = rng.standard_normal((n_clips, self.video_dim), dtype=np.float32)
        features += self.observation_noise / np.sqrt(self.video_dim) * noise
        return unit(features).astype(np.float16)

    def render_text(self, words: list[str], rng: np.random.Generator) -> np.ndarray:
        """(n_tokens, text_dim) float16 token features of a query."""
        latents = np.stack([self.word_vector(w) for w in words])
        latents = latents + self.text_noise * rng.standard_normal(latents.shape) / np.sqrt(
            self.latent_dim
        )
        tokens = unit(np.tanh(latents @ self._text_in) @ self._text_out)
        return tokens.astype(np.float16)
