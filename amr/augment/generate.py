"""Corpus rows from their sample ids, a batch at a time, every choice drawn from (seed, id).

Sample ids 0..n-1 are the split's real samples (kind `original`); id n + a is augmented sample a:
donor ``donors[a // multiplier]``, kind ``kinds[(a % multiplier + a // multiplier) % len(kinds)]``
(each donor's kinds start one further along, so the kinds stay balanced at any multiplier,
even below the number of kinds). Random numbers come from `Draws(seed)` addressed by the sample
id (one stream per kind of choice), so a row does not depend on the batch, worker or shard that
generates it — which is what makes --workers, --shard and --resume produce the same bytes.

An augmented sample, as whole-batch array operations (segments are ragged, grouped by sample):

1. segments: the donor's windows (labeled), and 1..k unlabelled negatives: the donor video's
   own wrong spans (same-video, in every augmented row by default) or windows of the donor's
   nearest queries (nearest-query, in `negative` rows) — see negative.py;
2. host: a random other video with room for them (first fit of HOST_TRIES draws);
3. fit: negatives are dropped while the segments cannot fit with their gaps (if even the labeled
   ones cannot, the fade becomes a hard cut with 1-clip gaps and the later windows are dropped);
4. lengths: splice/negative keep 1..all clips of a window, boundary stretches it by
   max_stretch^U(-1,1); the longest segments are then shrunk to a common cap until all fit;
5. clips: an ordered random subset (or even repetition when stretched);
6. order and place: labeled segments keep the donor's order, negatives take random slots; the
   free clips are spread uniformly over the gaps;
7. pastes (cross-faded for `boundary`), labels and the difficulty components.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa

from amr import ragged
from amr.augment.boundary import stretched_lengths
from amr.augment.config import AugmentConfig
from amr.augment.difficulty import boundary_contrast, wrong_span_similarity
from amr.augment.negative import Negatives, nearest_query_negatives, wrong_span_negatives
from amr.augment.rows import (
    COMPONENT_COLUMN,
    Rows,
    component_matrix,
    concat_rows,
    host_pastes,
    merge_pastes,
    segment_pastes,
    take_rows,
)
from amr.augment.sources import SplitIndex, VideoPool
from amr.augment.splice import fit_lengths, kept_lengths, place_segments, segment_clips
from amr.augment.streams import FADE, HOST, HOST_FALLBACK, LENGTH, ORDER, PLACE, SUBSET
from amr.augment.tables import ArrowEncoder
from amr.corpus.kinds import KINDS, kind_flags
from amr.draws import Draws

HOST_TRIES = 32
ORIGINAL = KINDS.index("original")
# Each kind's declaration (amr/corpus/kinds.py) as a per-kind array: flags[kind] is every row's.
FADES, STRETCHES, CARRIES_NEGATIVES = (
    kind_flags(flag) for flag in ("fades", "stretches", "carries_negatives")
)
CLIP_INDEX_STRIDE = 1 << 20  # index = segment * stride + clip: unique per draw of a sample


@dataclass(frozen=True)
class Segments:
    """A batch's segments (the pieces pasted into hosts), as flat arrays: clips [first, stop) of
    split row `source_row`'s video, owned by batch row `owner`; `window` is a labeled one's
    window (for its saliency), -1 for an unlabelled negative."""

    owner: np.ndarray
    window: np.ndarray
    first: np.ndarray
    stop: np.ndarray
    source_row: np.ndarray
    similarity: np.ndarray  # a negative's query similarity to the donor's (0 for labeled)
    labeled: np.ndarray

    def take(self, order: np.ndarray) -> Segments:
        return Segments(*(getattr(self, f.name)[order] for f in fields(self)))


@dataclass
class Generator:
    """Everything needed to (re)generate any sample of a corpus; cheap to send to a worker."""

    split: SplitIndex
    pool: VideoPool
    config: AugmentConfig
    neighbours: np.ndarray  # (n, k) split rows, -1 = none
    neighbour_similarity: np.ndarray  # (n, k)

    def __post_init__(self) -> None:
        split = self.split
        self.donors = split.donors
        self.draws = Draws(self.config.seed)
        self.turns = np.asarray([KINDS.index(kind) for kind in self.config.kinds], np.int8)
        vids = np.asarray(split.vids, dtype=object)
        self.video_code = np.unique(vids, return_inverse=True)[1]
        self.clips_of_row = np.asarray([self.pool.n_clips(v) for v in split.vids], np.int64)
        self.sketch_start = np.asarray([self.pool.sketch_start[v] for v in split.vids], np.int64)
        self.pool_rows = np.asarray([self.pool.starts[v][0] for v in split.vids], np.int64)
        self.host_regions = np.maximum(
            1,
            np.minimum(
                self.clips_of_row,
                np.ceil(split.durations.astype(np.float64) / split.clip_length - 1e-6),
            ).astype(np.int64),
        )
        self.encoder = ArrowEncoder(split)
        self.wrong_similarity = (  # only same-video negatives paste wrong spans
            wrong_span_similarity(split, self.pool.sketches, self.sketch_start)
            if self.config.negatives == "same-video"
            else np.zeros(0)
        )

    @property
    def n_samples(self) -> int:
        return len(self.split) + len(self.donors) * self.config.multiplier

    def kinds(self, ids: np.ndarray) -> np.ndarray:
        """int8 index into KINDS of every sample id (arithmetic on the id)."""
        ids = np.asarray(ids, np.int64)
        augmented = ids - len(self.split)
        augmented_id = np.maximum(augmented, 0)
        multiplier = self.config.multiplier
        turn = augmented_id % multiplier + augmented_id // multiplier  # rotates with the donor
        kind = self.turns[turn % len(self.turns)]
        return np.where(augmented < 0, ORIGINAL, kind).astype(np.int8)

    # -- the rows ---------------------------------------------------------------------------

    def rows(self, ids: np.ndarray) -> Rows:
        ids = np.asarray(ids, np.int64)
        if len(ids) and (ids.min() < 0 or ids.max() >= self.n_samples):
            raise IndexError(f"sample ids must be in 0..{self.n_samples - 1}")
        originals = ids < len(self.split)
        parts = [self._originals(ids[originals]), self._augmented(ids[~originals])]
        rows = concat_rows(*parts)
        order = np.argsort(np.concatenate([np.flatnonzero(originals), np.flatnonzero(~originals)]))
        return take_rows(rows, order)

    def components(self, ids: np.ndarray) -> np.ndarray:
        return self.rows(ids).components

    def _originals(self, ids: np.ndarray) -> Rows:
        split = self.split
        n = len(ids)
        counts = split.n_windows[ids]
        windows = ragged.ranges(split.window_offsets[ids], counts)
        wrong = ragged.ranges(split.wrong_offsets[ids], np.diff(split.wrong_offsets)[ids])
        durations = split.durations[ids]
        components = component_matrix(
            n,
            length_ratio=split.label_seconds[ids] / np.maximum(durations.astype(np.float64), 1e-6),
            n_windows=split.label_count[ids],
        )
        label_clips = split.window_stop[windows] - split.window_first[windows]
        saliency = split.saliency[ragged.ranges(split.saliency_offsets[windows], label_clips)]
        rows = Rows(
            ids=ids,
            kind=np.full(n, ORIGINAL, np.int8),
            source=ids,
            host=ids,
            n_clips=self.clips_of_row[ids].astype(np.int32),
            duration=durations,
            sharpness=np.zeros(n, np.int8),
            components=components,
            label_counts=counts,
            label_start=split.window_first[windows],
            label_stop=split.window_stop[windows],
            label_saliency=saliency,
            # a real sample's negatives are its wrong spans (stage 2's discrimination loss)
            negative_counts=np.diff(split.wrong_offsets)[ids],
            negative_start=split.wrong_first[wrong],
            negative_stop=split.wrong_stop[wrong],
            pastes=host_pastes(ids, self.clips_of_row[ids]),
        )
        rows.components[:, COMPONENT_COLUMN["boundary_contrast"]] = boundary_contrast(
            rows, self.pool.sketches, self.sketch_start
        )
        return rows

    def _augmented(self, ids: np.ndarray) -> Rows:
        """Augmented rows, in the steps of the module docstring."""
        config, split, draws = self.config, self.split, self.draws
        donor = self.donors[(ids - len(split)) // config.multiplier]
        kind = self.kinds(ids)
        fades = np.asarray(config.fade_clips, np.int64)
        fade = np.where(FADES[kind], fades[draws.integers(ids, FADE, len(fades))], 0)
        segments, host, fade, gap = self._fitted_segments(ids, donor, kind, fade)  # 1.-3.
        counts = np.bincount(segments.owner, minlength=len(ids))
        local = ragged.positions(counts)
        region = self.host_regions[host]
        original = segments.stop - segments.first
        length = self._lengths(ids, kind, segments, original, counts, local, region, gap)  # 4.
        picked = self._clips(ids, segments, original, length, local)  # 5.
        segments, picked, length, original, target = self._placed(
            ids, segments, picked, length, original, counts, local, region, gap
        )  # 6.
        return self._augmented_rows(
            ids, kind, donor, host, fade, segments, picked, length, original, target
        )  # 7.

    def _fitted_segments(
        self, ids: np.ndarray, donor: np.ndarray, kind: np.ndarray, fade: np.ndarray
    ) -> tuple[Segments, np.ndarray, np.ndarray, np.ndarray]:
        """1. segments: labeled windows, then negatives; 2. the host; 3. as many segments as
        fit (the fade becomes a hard cut when even the labeled ones do not). Returns the
        segments grouped by sample (labeled first), the hosts, the fades and the gaps."""
        split, n = self.split, len(ids)
        gap = np.maximum(1, fade)
        n_labeled = split.n_windows[donor]
        labeled_window = ragged.ranges(split.window_offsets[donor], n_labeled)
        labeled_owner = ragged.owners(n_labeled)
        negative = self._negatives(ids, donor, kind)
        negative_owner = negative.owner
        n_negative = np.bincount(negative_owner, minlength=n)

        host = self._hosts(ids, donor, n_labeled * (1 + gap))
        region = self.host_regions[host]

        most = (region + gap) // (1 + gap)
        fits = n_labeled <= most
        keep_negative = np.where(fits, np.minimum(n_negative, np.maximum(most - n_labeled, 0)), 0)
        fade = np.where(fits, fade, 0)
        gap = np.where(fits, gap, 1)
        keep_labeled = np.where(fits, n_labeled, np.minimum(n_labeled, (region + 1) // 2))
        labeled_kept = ragged.positions(n_labeled) < keep_labeled[labeled_owner]
        negative_kept = ragged.positions(n_negative) < keep_negative[negative_owner]

        kept_window = labeled_window[labeled_kept]
        n_kept = len(kept_window)
        owner = np.concatenate([labeled_owner[labeled_kept], negative_owner[negative_kept]])
        segments = Segments(
            owner=owner,
            window=np.concatenate([kept_window, np.full(int(negative_kept.sum()), -1)]),
            first=np.concatenate([split.window_first[kept_window], negative.first[negative_kept]]),
            stop=np.concatenate([split.window_stop[kept_window], negative.stop[negative_kept]]),
            source_row=np.concatenate(
                [donor[labeled_owner[labeled_kept]], negative.source_row[negative_kept]]
            ),
            similarity=np.concatenate([np.zeros(n_kept), negative.similarity[negative_kept]]),
            labeled=np.arange(len(owner)) < n_kept,
        )
        return segments.take(np.argsort(owner, kind="stable")), host, fade, gap

    def _lengths(
        self, ids, kind, segments: Segments, original, counts, local, region, gap
    ) -> np.ndarray:
        """4. each segment's length: a labeled `boundary`-like one is stretched, the others keep
        1..all of their clips; the longest are shrunk to a common cap until all fit."""
        config = self.config
        u = self.draws.uniform(ids[segments.owner], LENGTH, local)
        stretch = segments.labeled & STRETCHES[kind[segments.owner]]
        wanted = np.where(
            stretch, stretched_lengths(original, u, config.max_stretch), kept_lengths(original, u)
        )
        return fit_lengths(wanted, counts, region - (counts - 1) * gap)

    def _clips(self, ids, segments: Segments, original, length, local) -> np.ndarray:
        """5. which clips of its window each segment keeps: an ordered random subset (or an
        even repetition when stretched), as positions inside the window."""
        element_segment = ragged.owners(original)
        keys = self.draws.uniform(
            ids[segments.owner[element_segment]],
            SUBSET,
            local[element_segment] * CLIP_INDEX_STRIDE + ragged.positions(original),
        )
        return segment_clips(original, length, keys)

    def _placed(
        self, ids, segments: Segments, picked, length, original, counts, local, region, gap
    ) -> tuple[Segments, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """6. order (a random slot per segment; labeled ones keep the donor's order) and place
        (the free clips spread uniformly over the gaps). Returns the segments in slot order
        with their clips, lengths, original lengths and start clips in the host."""
        owner, labeled, n = segments.owner, segments.labeled, len(ids)
        slot = ragged.ranks(owner, self.draws.uniform(ids[owner], ORDER, local), n)
        starts = ragged.offsets_of(counts)[:-1]
        slot_is_negative = np.empty(len(owner), bool)
        slot_is_negative[starts[owner] + slot] = ~labeled
        by_slot = np.empty(len(owner), np.int64)
        by_slot[~slot_is_negative] = np.flatnonzero(labeled)
        by_slot[slot_is_negative] = np.flatnonzero(~labeled)
        clip_start = ragged.offsets_of(length)[:-1]
        picked = picked[ragged.ranges(clip_start[by_slot], length[by_slot])]
        segments, length, original = segments.take(by_slot), length[by_slot], original[by_slot]
        target = place_segments(
            length, counts, region, gap, self.draws.uniform(ids[segments.owner], PLACE, local)
        )
        return segments, picked, length, original, target

    def _augmented_rows(
        self, ids, kind, donor, host, fade, segments: Segments, picked, length, original, target
    ) -> Rows:
        """7. pastes (cross-faded where the kind fades), labels and the difficulty components."""
        split, n = self.split, len(ids)
        owner, labeled, window = segments.owner, segments.labeled, segments.window
        stop = target + length
        pastes = segment_pastes(
            self.clips_of_row[host], owner, segments.source_row, segments.first, picked, length,
            target, fade,
        )  # fmt: skip
        clip_length = split.clip_length
        duration = split.durations[host]
        seconds = np.minimum(stop * clip_length, duration[owner].astype(np.float64))
        seconds = seconds - target * clip_length
        labeled_owner = owner[labeled]
        label_counts = np.bincount(labeled_owner, minlength=n)
        log_ratio = np.abs(np.log2(original[labeled] / length[labeled]))
        similarity = segments.similarity
        components = component_matrix(
            n,
            length_ratio=ragged.group_sums(labeled_owner, seconds[labeled], n)
            / np.maximum(duration.astype(np.float64), 1e-6),
            compression=ragged.group_sums(labeled_owner, log_ratio, n)
            / np.maximum(label_counts, 1),
            n_windows=label_counts,
            negative_similarity=ragged.group_max(owner[~labeled], similarity[~labeled], n, 0.0),
        )
        picked_labeled = picked[np.repeat(labeled, length)]
        window_labeled = np.repeat(window[labeled], length[labeled])
        saliency = split.saliency[split.saliency_offsets[window_labeled] + picked_labeled]
        rows = Rows(
            ids=ids,
            kind=kind,
            source=donor,
            host=host,
            n_clips=self.clips_of_row[host].astype(np.int32),
            duration=duration,
            sharpness=fade.astype(np.int8),
            components=components,
            label_counts=label_counts,
            label_start=target[labeled],
            label_stop=stop[labeled],
            label_saliency=saliency,
            negative_counts=np.bincount(owner[~labeled], minlength=n),
            negative_start=target[~labeled],
            negative_stop=stop[~labeled],
            pastes=merge_pastes(host_pastes(host, self.clips_of_row[host]), pastes),
        )
        rows.components[:, COMPONENT_COLUMN["boundary_contrast"]] = boundary_contrast(
            rows, self.pool.sketches, self.sketch_start
        )
        return rows

    def _negatives(self, ids: np.ndarray, donor: np.ndarray, kind: np.ndarray) -> Negatives:
        """The unlabelled segments each sample gets, grouped by sample: the donor video's own
        wrong spans (same-video, the reference's) or windows of the donor's nearest other
        queries (nearest-query); in `negative` rows, or in every augmented row when
        negatives_everywhere (same-video only)."""
        carries = CARRIES_NEGATIVES[kind]
        if self.config.negatives == "same-video":
            if self.config.negatives_everywhere:
                carries = kind != ORIGINAL
            return wrong_span_negatives(
                self.split, self.draws, self.config, self.wrong_similarity, ids, donor, carries
            )
        return nearest_query_negatives(
            self.split, self.draws, self.config, self.neighbours, self.neighbour_similarity,
            ids, donor, carries,
        )  # fmt: skip

    def _hosts(self, ids: np.ndarray, donor: np.ndarray, need: np.ndarray) -> np.ndarray:
        """The first of HOST_TRIES random rows whose video differs from the donor's and has room."""
        n_rows = len(self.split)
        candidates = self.draws.integers(ids[:, None], HOST, n_rows, np.arange(HOST_TRIES)[None, :])
        ok = (self.video_code[candidates] != self.video_code[donor][:, None]) & (
            self.host_regions[candidates] >= need[:, None]
        )
        host = candidates[np.arange(len(ids)), ok.argmax(1)]
        for i in np.flatnonzero(~ok.any(1)):  # a tiny split: any other video, else the donor's
            others = np.flatnonzero(self.video_code != self.video_code[donor[i]])
            if len(others) == 0:
                host[i] = donor[i]
            else:
                pick = self.draws.integers(ids[i : i + 1], HOST_FALLBACK, len(others))[0]
                host[i] = others[pick]
        return host

    def table(self, rows: Rows) -> pa.Table:
        """The corpus columns of `rows` (all but difficulty, curriculum_bin and features)."""
        return self.encoder.table(rows)
