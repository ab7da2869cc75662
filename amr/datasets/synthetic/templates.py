"""The template world (preset demo): videos and queries built from the lexicon."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from amr.datasets.synthetic.activity import (
    ROLE_WEIGHTS,
    background_events,
    cut_chance,
    families_of,
    jittered,
)
from amr.datasets.synthetic.config import SynthConfig
from amr.datasets.synthetic.lexicon import ACTORS, SCENES, VERB_FAMILIES, sibling_verbs, tokenize
from amr.datasets.synthetic.placement import moment_length, place
from amr.datasets.synthetic.records import SynthQuery, SynthVideo
from amr.datasets.synthetic.world import Event, World, intensity_profile

VIDEO_STREAM = 0x56494445  # "VIDE"
QUERY_TEMPLATES = (
    "{a_actor} {verb_s} the {obj}",
    "{a_actor} is {verb_ing} the {obj}",
    "{a_actor} {verb_s} {a_obj} in the {scene}",
    "the {actor} {verb_s} the {obj} in the {scene}",
    "{a_actor} {verb_ing} {a_obj}",
)


def with_article(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _forms(base: str) -> tuple[str, str, str]:
    for verbs, _ in VERB_FAMILIES.values():
        for forms in verbs:
            if forms[0] == base:
                return forms
    raise KeyError(base)


def _saliency(rng: np.random.Generator, intensity: np.ndarray, clip_ids: list[int]) -> list:
    """Three annotators' 0-4 scores that follow the event's intensity, with disagreement."""
    base = 4.0 * intensity[clip_ids][:, None] if clip_ids else np.zeros((0, 1))
    scores = np.clip(np.rint(base + rng.normal(0.0, 0.6, (len(clip_ids), 3))), 0, 4)
    return scores.astype(int).tolist()


class _VideoBuilder:
    """One template video under construction: where its events sit and how strong they are."""

    def __init__(self, world: World, config: SynthConfig, rng: np.random.Generator, n_clips: int):
        self.world, self.config, self.rng, self.n_clips = world, config, rng, n_clips
        self.gap = math.ceil(config.boundary_softness)
        self.centres = np.arange(n_clips) + 0.5
        self.occupied = np.zeros(n_clips, dtype=bool)
        self.events: list[Event] = []
        self.used: set[tuple[str, str, str]] = set()

    def add_event(self, actor: str, verb: str, obj: str, n_windows: int):
        """Place an event's windows; returns ([(start, end)] in clips, intensity per clip)."""
        length = moment_length(self.rng, self.n_clips)
        windows, intensity = [], np.zeros(self.n_clips)
        for _ in range(n_windows):
            start = place(self.rng, self.occupied, length, self.gap)
            if start is None:
                break
            end = start + length
            bump = np.sin(np.pi * np.clip((self.centres - start) / length, 0.0, 1.0))
            peak = self.rng.uniform(0.55, 0.8) + self.rng.uniform(0.0, 0.4) * bump
            level = np.clip(peak, 0.0, 1.0)
            softness = self.config.boundary_softness
            intensity += intensity_profile(self.n_clips, start, end, softness, level)
            windows.append((start, end))
        intensity = np.minimum(intensity, 1.0)
        if windows:
            latent = self.world.phrase_latent([actor, verb, obj], list(ROLE_WEIGHTS))
            self.events.append(Event(latent, intensity))
            self.used.add((actor, verb, obj))
        return windows, intensity


def template_videos(
    world: World, config: SynthConfig, split: str, split_index: int, n_videos: int, first_qid: int
) -> Iterator[SynthVideo]:
    qid = first_qid
    families = list(VERB_FAMILIES)
    step = config.clip_length
    for index in range(n_videos):
        rng = np.random.default_rng([config.seed, VIDEO_STREAM, split_index, index])
        vid = f"{split}_{index:05d}"
        n_clips = int(rng.integers(config.min_clips, config.max_clips + 1))
        scene = SCENES[rng.integers(len(SCENES))]
        main_actor = ACTORS[rng.integers(len(ACTORS))]
        background = world.background(
            world.word_vector(scene), n_clips, rng, cut_chance(config), config.cut_jump
        )
        video = _VideoBuilder(world, config, rng, n_clips)
        queries: list[SynthQuery] = []
        for _ in range(int(rng.integers(1, config.max_events + 1))):
            actor = main_actor if rng.random() < 0.7 else ACTORS[rng.integers(len(ACTORS))]
            verbs, objects = VERB_FAMILIES[families[rng.integers(len(families))]]
            verb = verbs[rng.integers(len(verbs))][0]
            obj = objects[rng.integers(len(objects))]
            if (actor, verb, obj) in video.used:
                continue
            n_windows = 2 if not queries and rng.random() < config.repeat_rate else 1
            windows, intensity = video.add_event(actor, verb, obj, n_windows)
            if not windows:
                continue
            template = QUERY_TEMPLATES[rng.integers(len(QUERY_TEMPLATES))]
            _, verb_s, verb_ing = _forms(verb)
            text = template.format(
                a_actor=with_article(actor),
                actor=actor,
                verb_s=verb_s,
                verb_ing=verb_ing,
                obj=obj,
                a_obj=with_article(obj),
                scene=scene,
            )
            labels = jittered(windows, n_clips, config.label_jitter, rng)
            clip_ids = sorted(c for start, end in labels for c in range(int(start), int(end)))
            queries.append(
                SynthQuery(
                    split=split,
                    qid=qid,
                    query=text,
                    words=tokenize(text),
                    vid=vid,
                    duration=float(n_clips * step),
                    relevant_windows=[[s * step, e * step] for s, e in labels],
                    relevant_clip_ids=clip_ids,
                    saliency_scores=_saliency(rng, intensity, clip_ids),
                    true_windows=[[s * step, e * step] for s, e in sorted(windows)],
                    order=qid - first_qid,
                )
            )
            qid += 1
            if rng.random() < config.distractor_rate:
                twin = sibling_verbs(verb)[rng.integers(3)]
                if (actor, twin, obj) not in video.used:
                    placed, _ = video.add_event(actor, twin, obj, 1)  # unlabelled: a hard negative
                    queries[-1].twins = [[s * step, e * step] for s, e in placed]
        used = families_of([verb for _, verb, _ in video.used])
        video.events += background_events(world, config, rng, video.occupied, used)
        yield SynthVideo(vid, world.render_video(background, video.events, rng), queries)
