"""Annotation-driven world (presets qvh, charades): real queries and labels, synthetic features.

Each video gets one event per query at that query's real windows, with an intensity that
follows the real saliency scores; unlabelled queries (QVHighlights test) get a hidden random
window. The events sit at their true extents, the real windows moved by the world's
label_jitter (so the real label is the noisy annotation of a hidden truth). Hard negatives are
sibling-verb twins of the queries, pasted where no query is; unlabelled events of other
activities fill part of the rest.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from amr.datasets.synthetic.activity import background_events, cut_chance, families_of, jittered
from amr.datasets.synthetic.config import SynthConfig
from amr.datasets.synthetic.lexicon import sibling_verbs, tokenize
from amr.datasets.synthetic.placement import moment_length, place
from amr.datasets.synthetic.records import SynthQuery, SynthVideo
from amr.datasets.synthetic.world import Event, World, intensity_profile, stable_hash, unit

VIDEO_STREAM = 0x414E4E4F  # "ANNO"


def _twin_latent(world: World, words: list[str], closeness: float, rng: np.random.Generator):
    """The latent of a near-miss of the query: one verb swapped for a sibling, else a nudge."""
    swappable = [i for i, w in enumerate(words) if sibling_verbs(w)]
    if swappable:
        i = swappable[rng.integers(len(swappable))]
        options = sibling_verbs(words[i])
        twin = [*words[:i], options[rng.integers(len(options))], *words[i + 1 :]]
        return world.phrase_latent(twin)
    latent = world.phrase_latent(words)
    noise = unit(rng.standard_normal(latent.shape))
    return unit(np.sqrt(closeness) * latent + np.sqrt(1 - closeness) * noise)


def annotated_videos(
    world: World, config: SynthConfig, tables: dict[str, pa.Table]
) -> Iterator[SynthVideo]:
    by_vid: dict[str, list[SynthQuery]] = {}
    for split, table in tables.items():
        for order, row in enumerate(table.to_pylist()):
            query = SynthQuery(split=split, words=tokenize(row["query"]), order=order, **row)
            by_vid.setdefault(row["vid"], []).append(query)
    gap = math.ceil(config.boundary_softness)
    step = config.clip_length
    for vid, queries in by_vid.items():
        rng = np.random.default_rng([config.seed, VIDEO_STREAM, stable_hash(vid)])
        duration = max(q.duration for q in queries)
        n_clips = max(1, math.ceil(duration / step - 1e-6))
        background = world.background(
            world.scene_vector(vid), n_clips, rng, cut_chance(config), config.cut_jump
        )
        labels = [[(s / step, e / step) for s, e in q.relevant_windows] for q in queries]
        truths = [jittered(windows, n_clips, config.label_jitter, rng) for windows in labels]
        occupied = np.zeros(n_clips, dtype=bool)
        for label, truth in zip(labels, truths, strict=True):
            for start, end in label + truth:
                occupied[int(start) : math.ceil(end)] = True
        events: list[Event] = []
        for q, windows in zip(queries, truths, strict=True):
            latent = world.phrase_latent(q.words)
            level = np.full(n_clips, 0.75)
            for clip, scores in zip(q.relevant_clip_ids, q.saliency_scores, strict=False):
                if clip < n_clips:
                    level[clip] = 0.5 + 0.5 * float(np.mean(scores)) / 4.0
            if not windows:  # unlabelled split: the moment exists, its place is not published
                length = moment_length(rng, n_clips)
                start = place(rng, occupied, length, gap)
                windows = [(start, start + length)] if start is not None else []
            q.true_windows = [[s * step, e * step] for s, e in windows]
            intensity = sum(
                (
                    intensity_profile(n_clips, s, e, config.boundary_softness, level)
                    for s, e in windows
                ),
                np.zeros(n_clips),
            )
            events.append(Event(latent, np.minimum(intensity, 1.0)))
            if windows and rng.random() < config.distractor_rate:
                length = max(1, round(windows[0][1] - windows[0][0]))
                start = place(rng, occupied, length, gap)
                if start is not None:
                    twin = _twin_latent(world, q.words, config.family_closeness, rng)
                    profile = intensity_profile(
                        n_clips, start, start + length, config.boundary_softness, 0.75
                    )
                    events.append(Event(twin, profile))
                    q.twins.append([start * step, (start + length) * step])
        used = set().union(*(families_of(q.words) for q in queries))
        events += background_events(world, config, rng, occupied, used)
        yield SynthVideo(vid, world.render_video(background, events, rng), queries)
