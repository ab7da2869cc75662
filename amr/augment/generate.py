"""One corpus row from its sample id: the operators put together, every choice seeded by the id.

Sample ids 0..n-1 are the split's real samples (kind `original`); id n + a is augmented sample a:
donor ``donors[a // multiplier]``, kind ``ops[(a % multiplier) % len(ops)]``. The random stream of
a sample is ``default_rng([seed, sample_id])``, so any sample can be regenerated alone — which is
what makes --workers, --shard and --resume produce the same bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from amr.augment.boundary import faded_paste, stretch_clips
from amr.augment.config import AugmentConfig
from amr.augment.recipe import Recipe, compose_clips, identity_recipe
from amr.augment.sources import SplitIndex, VideoPool
from amr.augment.splice import fit_lengths, ordered_subset, place_segments, resample_clips

HOST_TRIES = 32


@dataclass
class Sample:
    sample_id: int
    kind: str
    source: int  # the split row whose query this sample uses
    host_vid: str
    duration: float
    n_clips: int
    windows: list[list[float]]
    clip_ids: list[int]
    saliency: list[list[int]]
    negative_windows: list[list[float]] = field(default_factory=list)
    negative_similarity: float = 0.0
    boundary_sharpness: int = 0
    recipe: Recipe = field(default_factory=list)
    components: dict[str, float] = field(default_factory=dict)
    label_ranges: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))


@dataclass
class Segment:
    """Clips to paste: `clips` of split row `source`'s video, with their saliency rows."""

    source: int
    clips: np.ndarray
    labeled: bool
    original_length: int
    scores: np.ndarray | None = None

    def shortened(self, rng: np.random.Generator, n: int) -> Segment:
        if n == len(self.clips):
            return self
        keep = ordered_subset(rng, len(self.clips), n)
        scores = None if self.scores is None else self.scores[keep]
        return Segment(self.source, self.clips[keep], self.labeled, self.original_length, scores)


@dataclass
class Generator:
    """Everything needed to (re)generate any sample of a corpus; cheap to send to a worker."""

    split: SplitIndex
    pool: VideoPool
    config: AugmentConfig
    neighbours: np.ndarray  # (n, k) split rows, -1 = none
    neighbour_similarity: np.ndarray  # (n, k)

    def __post_init__(self) -> None:
        self.donors = self.split.donors
        self.host_regions = np.asarray(
            [
                min(self.pool.n_clips(vid), math.ceil(duration / self.split.clip_length - 1e-6))
                for vid, duration in zip(self.split.vids, self.split.durations, strict=True)
            ],
            dtype=np.int64,
        )

    @property
    def n_samples(self) -> int:
        return len(self.split) + len(self.donors) * self.config.multiplier

    def kind_of(self, sample_id: int) -> str:
        if sample_id < len(self.split):
            return "original"
        replica = (sample_id - len(self.split)) % self.config.multiplier
        return self.config.ops[replica % len(self.config.ops)]

    def sample(self, sample_id: int) -> Sample:
        if not 0 <= sample_id < self.n_samples:
            raise IndexError(sample_id)
        if sample_id < len(self.split):
            sample = self._original(sample_id)
        else:
            rng = np.random.default_rng([self.config.seed, sample_id])
            donor = int(self.donors[(sample_id - len(self.split)) // self.config.multiplier])
            sample = self._augmented(sample_id, donor, self.kind_of(sample_id), rng)
        sample.components["boundary_contrast"] = self._boundary_contrast(sample)
        return sample

    # -- originals -------------------------------------------------------------------------------

    def _original(self, row: int) -> Sample:
        raw = self.split.raw
        windows = [list(map(float, w)) for w in raw["relevant_windows"][row] or []]
        duration = float(self.split.durations[row])
        vid = self.split.vids[row]
        n_clips = int(self.pool.n_clips(vid))
        sample = Sample(
            sample_id=row,
            kind="original",
            source=row,
            host_vid=vid,
            duration=duration,
            n_clips=n_clips,
            windows=windows,
            clip_ids=list(raw["relevant_clip_ids"][row] or []),
            saliency=[list(s) for s in raw["saliency_scores"][row] or []],
            recipe=identity_recipe(vid, n_clips),
        )
        sample.components.update(
            length_ratio=sum(e - s for s, e in windows) / max(duration, 1e-6),
            compression=0.0,
            n_windows=float(len(windows)),
            negative_similarity=0.0,
        )
        sample.label_ranges = self.split.windows[row]
        return sample

    # -- augmented -------------------------------------------------------------------------------

    def _pick_host(self, rng: np.random.Generator, donor: int, need: int) -> int:
        donor_vid = self.split.vids[donor]
        for _ in range(HOST_TRIES):
            host = int(rng.integers(len(self.split)))
            if self.split.vids[host] != donor_vid and self.host_regions[host] >= need:
                return host
        # A tiny or single-video split: any other video, else the donor's own.
        others = [i for i, vid in enumerate(self.split.vids) if vid != donor_vid]
        return int(rng.choice(others)) if others else donor

    def _augmented(self, sample_id: int, donor: int, kind: str, rng: np.random.Generator) -> Sample:
        config, split = self.config, self.split
        ranges = split.windows[donor]
        fade = config.fade_clips[rng.integers(len(config.fade_clips))] if kind == "boundary" else 0
        min_gap = max(1, fade)
        host = self._pick_host(rng, donor, need=len(ranges) * (1 + min_gap))
        region = int(self.host_regions[host])

        segments: list[Segment] = []
        for window, (first, stop) in enumerate(ranges):
            length = int(stop - first)
            if kind == "boundary":
                picked = stretch_clips(rng, length, config.max_stretch)
            else:
                picked = resample_clips(rng, length)
            scores = split.saliency[donor][window][picked] if split.annotators else None
            segments.append(Segment(donor, first + picked, True, length, scores))
        negative_sims: list[float] = []
        if kind == "negative":
            candidates = np.flatnonzero(self.neighbours[donor] >= 0)
            count = min(int(rng.integers(1, config.negatives_per_sample + 1)), len(candidates))
            for slot in candidates[rng.permutation(len(candidates))[:count]]:
                other = int(self.neighbours[donor, slot])
                other_ranges = split.windows[other]
                first, stop = other_ranges[int(rng.integers(len(other_ranges)))]
                picked = resample_clips(rng, int(stop - first))
                segments.append(Segment(other, first + picked, False, int(stop - first)))
                negative_sims.append(float(self.neighbour_similarity[donor, slot]))

        # Fit: drop negatives, then shorten, until everything fits the host.
        def fit(gap: int) -> np.ndarray | None:
            return fit_lengths(np.asarray([len(s.clips) for s in segments]), region, gap)

        lengths = fit(min_gap)
        while lengths is None and not segments[-1].labeled:
            segments.pop()
            negative_sims.pop()
            lengths = fit(min_gap)
        if lengths is None:
            min_gap = 1
            lengths = fit(min_gap)
        if lengths is None:  # more windows than the host has room for: keep what fits
            segments = segments[: max(1, (region + 1) // 2)]
            lengths = fit(min_gap)
        segments = [s.shortened(rng, int(n)) for s, n in zip(segments, lengths, strict=True)]

        # Order: labeled windows keep the donor's order; negatives go anywhere between them.
        is_negative = rng.permutation([not s.labeled for s in segments])
        labeled_iter = iter([s for s in segments if s.labeled])
        negative_iter = iter([s for s in segments if not s.labeled])
        ordered = [next(negative_iter) if neg else next(labeled_iter) for neg in is_negative]
        starts = place_segments(rng, np.asarray([len(s.clips) for s in ordered]), region, min_gap)

        host_vid = split.vids[host]
        n_clips = int(self.pool.n_clips(host_vid))
        duration = float(split.durations[host])
        clip_length = split.clip_length
        recipe: Recipe = identity_recipe(host_vid, n_clips)
        windows, clip_ids, saliency, negative_windows, label_ranges = [], [], [], [], []
        compression = []
        for segment, start in zip(ordered, starts, strict=True):
            start = int(start)
            stop = start + len(segment.clips)
            source_vid = split.vids[segment.source]
            recipe.append(faded_paste(source_vid, segment.clips, start, fade, n_clips))
            window = [start * clip_length, min(stop * clip_length, duration)]
            if segment.labeled:
                windows.append(window)
                clip_ids.extend(range(start, stop))
                label_ranges.append((start, stop))
                compression.append(abs(math.log2(segment.original_length / len(segment.clips))))
                if segment.scores is not None:
                    saliency.extend(segment.scores.tolist())
            else:
                negative_windows.append(window)
        negative_sims = negative_sims[: len(negative_windows)]

        sample = Sample(
            sample_id=sample_id,
            kind=kind,
            source=donor,
            host_vid=host_vid,
            duration=duration,
            n_clips=n_clips,
            windows=windows,
            clip_ids=clip_ids,
            saliency=saliency,
            negative_windows=negative_windows,
            negative_similarity=max(negative_sims, default=0.0),
            boundary_sharpness=fade,
            recipe=recipe,
        )
        sample.components.update(
            length_ratio=sum(e - s for s, e in windows) / max(duration, 1e-6),
            compression=sum(compression) / len(compression) if compression else 0.0,
            n_windows=float(len(windows)),
            negative_similarity=sample.negative_similarity,
        )
        sample.label_ranges = np.asarray(label_ranges, dtype=np.int64).reshape(-1, 2)
        return sample

    # -- difficulty inputs -----------------------------------------------------------------------

    def _boundary_contrast(self, sample: Sample) -> float:
        """Mean over labeled boundaries inside the video of 1 - cos(clip inside, clip outside),
        on the sample's composed sketch; 1.0 (no boundary to find) when there is none."""
        ranges = sample.label_ranges
        if len(ranges) == 0:
            return 1.0
        first, stop = ranges[:, 0], ranges[:, 1]
        starts, ends = first > 0, stop < sample.n_clips
        inside = np.concatenate([first[starts], stop[ends] - 1])
        outside = np.concatenate([first[starts] - 1, stop[ends]])
        if len(inside) == 0:
            return 1.0
        both = compose_clips(sample.recipe, np.concatenate([inside, outside]), self.pool.sketch)
        a, b = both[: len(inside)], both[len(inside) :]
        cos = (a * b).sum(1) / np.maximum(np.sqrt((a * a).sum(1) * (b * b).sum(1)), 1e-12)
        return float(1.0 - cos.mean())
