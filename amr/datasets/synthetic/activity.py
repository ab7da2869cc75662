"""World v2's realism, shared by both synthetic modes: unlabelled background activity, shot
cuts and annotation noise (docs/benchmark.md gives each default's rationale)."""

from __future__ import annotations

import math

import numpy as np

from amr.datasets.synthetic.config import SynthConfig
from amr.datasets.synthetic.lexicon import ACTORS, VERB_FAMILIES, VERB_FORMS
from amr.datasets.synthetic.placement import moment_length, place
from amr.datasets.synthetic.world import Event, World, intensity_profile

# An event's latent leans on its verb: "kick the ball" vs "throw the ball" stays hard.
ROLE_WEIGHTS = (0.5, 1.0, 0.7)  # actor, verb, object
PLACEMENT_TRIES = 8  # failed placements before a video counts as full


def cut_chance(config: SynthConfig) -> float:
    """Chance of a shot cut before any one clip."""
    return min(1.0, config.cuts_per_minute * config.clip_length / 60.0)


def families_of(words: list[str]) -> set[str]:
    """The verb families a query's words belong to."""
    return {VERB_FORMS[w][0] for w in words if w in VERB_FORMS}


def background_events(
    world: World,
    config: SynthConfig,
    rng: np.random.Generator,
    occupied: np.ndarray,
    avoid_families: set[str],
) -> list[Event]:
    """Unlabelled events of other activities over `background_fill` of the free clips.

    Their verbs come from families no query of the video uses, so they are never a query's
    look-alike (the twins are); they only make "find the one event" useless.
    """
    target = config.background_fill * float((~occupied).sum())
    families = [f for f in VERB_FAMILIES if f not in avoid_families] or list(VERB_FAMILIES)
    gap = math.ceil(config.boundary_softness)
    events: list[Event] = []
    covered, failures = 0, 0
    while covered < target and failures < PLACEMENT_TRIES:
        length = min(moment_length(rng, len(occupied)), max(1, math.ceil(target - covered)))
        start = place(rng, occupied, length, gap)
        if start is None:
            failures += 1
            continue
        verbs, objects = VERB_FAMILIES[families[rng.integers(len(families))]]
        words = [
            ACTORS[rng.integers(len(ACTORS))],
            verbs[rng.integers(len(verbs))][0],
            objects[rng.integers(len(objects))],
        ]
        level = rng.uniform(0.55, 0.95)
        profile = intensity_profile(
            len(occupied), start, start + length, config.boundary_softness, level
        )
        events.append(Event(world.phrase_latent(words, list(ROLE_WEIGHTS)), profile))
        covered += length
    return events


def jittered(
    windows: list[tuple[float, float]], n_clips: int, jitter: int, rng: np.random.Generator
) -> list[tuple[float, float]]:
    """Windows (in clips) with each end moved by a uniform -jitter..jitter clips, kept inside
    the video and at least one clip long, sorted, overlaps merged: the annotation of events
    (or, from a real label, the events' true extents)."""
    if jitter <= 0:
        return sorted(windows)
    moved = []
    for start, end in windows:
        new_start = float(np.clip(start + rng.integers(-jitter, jitter + 1), 0, n_clips - 1))
        new_end = end + float(rng.integers(-jitter, jitter + 1))
        moved.append((new_start, float(np.clip(new_end, min(new_start + 1, n_clips), n_clips))))
    merged: list[tuple[float, float]] = []
    for start, end in sorted(moved):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
