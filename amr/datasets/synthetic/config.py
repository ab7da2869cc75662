"""Options of the synthetic world, with the defaults documented in docs/synthetic.md."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    # Template world: trains on 2 CPU cores in minutes.
    "demo": {},
    # Real QVHighlights queries, durations, windows and saliency; synthetic features.
    "qvh": {"clip_length": 2.0},
    # Real Charades-STA queries, durations and windows; synthetic features.
    "charades": {"clip_length": 1.0},
    # Real ActivityNet Captions, TACoS or Ego4D-NLQ queries, durations and windows (the
    # dataset's file: --annotations), at the clip length amr imports it with.
    "activitynet": {"clip_length": 2.0},
    "tacos": {"clip_length": 2.0},
    "nlq": {"clip_length": 2.0},
    # A template world with none of the problems AMR targets (one event a video, hard
    # boundaries, exact labels, no look-alikes, no background activity, no cuts): the method
    # has nothing to fix here, so its gain should be about zero.
    "control": {
        "max_events": 1,
        "repeat_rate": 0.0,
        "boundary_softness": 0.0,
        "distractor_rate": 0.0,
        "background_fill": 0.0,
        "cuts_per_minute": 0.0,
        "label_jitter": 0,
    },
}
TEMPLATE_PRESETS = ("demo", "control")  # worlds built from the lexicon, not annotation files


@dataclass(frozen=True)
class SynthConfig:
    preset: str = "demo"
    seed: int = 0
    video_dim: int = 128
    text_dim: int = 64
    clip_length: float = 2.0
    latent_dim: int = 64

    # Template world (preset demo) sizes.
    train_videos: int = 600
    val_videos: int = 300
    test_videos: int = 300
    min_clips: int = 20
    max_clips: int = 75
    max_events: int = 3
    repeat_rate: float = 0.15
    """Chance that a video's first event happens twice (a query with two windows)."""
    test_share: float = 0.5
    """Annotation-driven worlds without a labelled `test` split: the share of the `val`
    split's videos (chosen by a hash of the video id) that become the `test` split."""

    # Difficulty knobs.
    feature_noise: float = 0.7
    """Per-clip noise in the semantic latent (clips of one event do not look identical)."""
    observation_noise: float = 0.2
    """Isotropic noise added to the features before the final L2 normalisation."""
    text_noise: float = 0.2
    """Per-token noise in the latent of a query word."""
    family_closeness: float = 0.9
    """Cosine between the latents of sibling verbs ("kick" / "throw")."""
    boundary_softness: float = 2.0
    """Clips over which an event fades in and out; the label sits at the ramp's midpoint."""
    distractor_rate: float = 0.5
    """Chance that a queried event gets an unlabelled sibling-verb twin elsewhere in the video."""
    drift: float = 0.5
    """How far the scene background wanders over a video."""

    # World v2 (docs/benchmark.md gives each default's rationale).
    background_fill: float = 0.7
    """Share of the clips no query (or twin) occupies that unlabelled events of other
    activities fill: a model must read the query, not just find "the" event."""
    cuts_per_minute: float = 6.0
    """Shot cuts per minute of video; at each the scene background jumps."""
    cut_jump: float = 0.6
    """Share of the background's direction a cut replaces (1: a wholly new scene)."""
    label_jitter: int = 1
    """Each labelled boundary is off the event's true boundary by up to this many clips
    (uniform); the store's truth.parquet keeps the true extents."""

    def __post_init__(self) -> None:
        checks = [
            (self.preset in PRESETS, f"preset must be one of {', '.join(PRESETS)}"),
            (self.video_dim > 0 and self.text_dim > 0, "feature dims must be positive"),
            (self.clip_length > 0, "clip_length must be positive"),
            (1 <= self.min_clips <= self.max_clips, "need 1 <= min_clips <= max_clips"),
            (self.train_videos >= 1 and self.val_videos >= 0, "need train_videos >= 1"),
            (self.max_events >= 1, "max_events must be at least 1"),
            (0.0 <= self.family_closeness < 1.0, "family_closeness must be in [0, 1)"),
            (self.boundary_softness >= 0.0, "boundary_softness must be >= 0"),
            (0.0 <= self.distractor_rate <= 1.0, "distractor_rate must be in [0, 1]"),
            (0.0 <= self.repeat_rate <= 1.0, "repeat_rate must be in [0, 1]"),
            (self.test_videos >= 0, "test_videos must be >= 0"),
            (0.0 <= self.test_share < 1.0, "test_share must be in [0, 1)"),
            (0.0 <= self.background_fill <= 1.0, "background_fill must be in [0, 1]"),
            (self.cuts_per_minute >= 0.0, "cuts_per_minute must be >= 0"),
            (0.0 <= self.cut_jump <= 1.0, "cut_jump must be in [0, 1]"),
            (self.label_jitter >= 0, "label_jitter must be >= 0"),
            (
                min(self.feature_noise, self.observation_noise, self.text_noise, self.drift) >= 0,
                "noise levels and drift must be >= 0",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @classmethod
    def from_preset(cls, preset: str, **overrides: Any) -> SynthConfig:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r} (known: {', '.join(PRESETS)})")
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"unknown synthetic option(s): {', '.join(sorted(unknown))}")
        base = replace(cls(), preset=preset, **PRESETS[preset])
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})
