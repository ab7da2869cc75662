"""Corpus rows from their sample ids, a batch at a time, every choice drawn from (seed, id).

Sample ids 0..n-1 are the split's real samples (kind `original`); id n + a is augmented sample a:
donor ``donors[a // multiplier]``, kind ``ops[(a % multiplier + a // multiplier) % len(ops)]``
(each donor's ops start one further along, so the kinds stay balanced at any multiplier, even
below the number of ops). Random numbers come
from `Draws(seed)` addressed by the sample id (one stream per kind of choice), so a row does not
depend on the batch, worker or shard that generates it — which is what makes --workers, --shard
and --resume produce the same bytes.

An augmented sample, as whole-batch array operations (segments are ragged, grouped by sample):

1. segments: the donor's windows (labeled), and for `negative` 1..k windows of the donor's
   nearest queries (unlabeled);
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
from amr.augment.boundary import fade_alphas, stretched_lengths
from amr.augment.config import COMPONENTS, AugmentConfig
from amr.augment.corpus import KINDS, PASTE_TYPE, corpus_schema
from amr.augment.draws import Draws
from amr.augment.sources import SplitIndex, VideoPool
from amr.augment.splice import fit_lengths, kept_lengths, place_segments, segment_clips

HOST_TRIES = 32
ORIGINAL, SPLICE, BOUNDARY, NEGATIVE = (KINDS.index(k) for k in KINDS)
# Random streams: one per kind of choice, so that adding a choice never shifts another.
FADE, HOST, HOST_FALLBACK, NEGATIVE_COUNT, NEGATIVE_SLOT, NEGATIVE_WINDOW = range(6)
LENGTH, SUBSET, ORDER, PLACE = range(6, 10)
CLIP_INDEX_STRIDE = 1 << 20  # index = segment * stride + clip: unique per draw of a sample


@dataclass
class Pastes:
    """The recipes of a set of rows, flat: paste p belongs to row `owner[p]`, in recipe order."""

    owner: np.ndarray  # int64 row
    video_row: np.ndarray  # int64 split row whose video is the source
    target_start: np.ndarray  # int64
    clip_counts: np.ndarray  # int64 clips per paste
    clips: np.ndarray  # int64 source clip indices, flat
    faded: np.ndarray  # bool per paste: has alpha
    alpha: np.ndarray  # float32 per clip (1.0 in hard pastes, ignored there)

    def select(self, pastes: np.ndarray, owner: np.ndarray) -> Pastes:
        """Pastes `pastes` (with their clips), in that order, assigned to rows `owner`."""
        starts = ragged.offsets_of(self.clip_counts)[:-1]
        element = ragged.ranges(starts[pastes], self.clip_counts[pastes])
        return Pastes(
            owner=owner,
            video_row=self.video_row[pastes],
            target_start=self.target_start[pastes],
            clip_counts=self.clip_counts[pastes],
            clips=self.clips[element],
            faded=self.faded[pastes],
            alpha=self.alpha[element],
        )

    def then(self, other: Pastes, row_shift: int = 0) -> Pastes:
        """These pastes followed by `other`'s, whose rows are shifted by `row_shift`."""
        joined = {
            f.name: np.concatenate([getattr(self, f.name), getattr(other, f.name)])
            for f in fields(Pastes)
        }
        joined["owner"][len(self.owner) :] += row_shift
        return Pastes(**joined)


@dataclass
class Rows:
    """Generated rows (those of `ids`, in that order) as flat columns."""

    ids: np.ndarray
    kind: np.ndarray  # int8 index into KINDS
    source: np.ndarray  # split row of the query
    host: np.ndarray  # split row of the canvas video
    n_clips: np.ndarray  # int32
    duration: np.ndarray  # float32
    sharpness: np.ndarray  # int8 fade clips (0 = hard cut)
    components: np.ndarray  # (rows, len(COMPONENTS)) float64
    label_counts: np.ndarray  # labeled segments per row, then their clip ranges on the canvas:
    label_start: np.ndarray
    label_stop: np.ndarray
    label_saliency: np.ndarray  # (clips of all labels, annotators) int8: a row per label clip
    negative_counts: np.ndarray
    negative_start: np.ndarray
    negative_stop: np.ndarray
    pastes: Pastes


# Rows fields with one value per row (the others are ragged: flat values grouped by row)
PER_ROW_FIELDS = (
    "ids",
    "kind",
    "source",
    "host",
    "n_clips",
    "duration",
    "sharpness",
    "components",
    "label_counts",
    "negative_counts",
)


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
        self.op_kinds = np.asarray([KINDS.index(op) for op in self.config.ops], np.int8)
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
        self._vid_strings = pa.array(split.vids, pa.string())
        self._query_strings = pa.array(split.queries, pa.string())
        self._kind_strings = pa.array(KINDS, pa.string())
        self._schema = corpus_schema(None)

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
        kind = self.op_kinds[turn % len(self.op_kinds)]
        return np.where(augmented < 0, ORIGINAL, kind).astype(np.int8)

    # -- the rows ---------------------------------------------------------------------------

    def rows(self, ids: np.ndarray) -> Rows:
        ids = np.asarray(ids, np.int64)
        if len(ids) and (ids.min() < 0 or ids.max() >= self.n_samples):
            raise IndexError(f"sample ids must be in 0..{self.n_samples - 1}")
        originals = ids < len(self.split)
        parts = [self._originals(ids[originals]), self._augmented(ids[~originals])]
        rows = _concat_rows(*parts)
        order = np.argsort(np.concatenate([np.flatnonzero(originals), np.flatnonzero(~originals)]))
        return _take_rows(rows, order)

    def components(self, ids: np.ndarray) -> np.ndarray:
        return self.rows(ids).components

    def _originals(self, ids: np.ndarray) -> Rows:
        split = self.split
        n = len(ids)
        counts = split.n_windows[ids]
        windows = ragged.ranges(split.window_offsets[ids], counts)
        durations = split.durations[ids]
        components = np.zeros((n, len(COMPONENTS)))
        components[:, 0] = split.label_seconds[ids] / np.maximum(durations.astype(np.float64), 1e-6)
        components[:, 2] = split.label_count[ids]
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
            negative_counts=np.zeros(n, np.int64),
            negative_start=np.zeros(0, np.int64),
            negative_stop=np.zeros(0, np.int64),
            pastes=self._host_pastes(ids),
        )
        rows.components[:, 4] = self._boundary_contrast(rows)
        return rows

    def _host_pastes(self, hosts: np.ndarray) -> Pastes:
        """The identity paste (the whole host video) of each row."""
        n = len(hosts)
        counts = self.clips_of_row[hosts]
        return Pastes(
            owner=np.arange(n, dtype=np.int64),
            video_row=hosts,
            target_start=np.zeros(n, np.int64),
            clip_counts=counts,
            clips=ragged.positions(counts),
            faded=np.zeros(n, bool),
            alpha=np.ones(int(counts.sum()), np.float32),
        )

    def _augmented(self, ids: np.ndarray) -> Rows:
        config, split, draws = self.config, self.split, self.draws
        n = len(ids)
        donor = self.donors[(ids - len(split)) // config.multiplier]
        kind = self.kinds(ids)
        fades = np.asarray(config.fade_clips, np.int64)
        fade = np.where(kind == BOUNDARY, fades[draws.integers(ids, FADE, len(fades))], 0)
        gap = np.maximum(1, fade)

        # 1. segments: labeled windows, then negatives
        n_labeled = split.n_windows[donor]
        labeled_window = ragged.ranges(split.window_offsets[donor], n_labeled)
        labeled_owner = ragged.owners(n_labeled)
        negative_owner, negative_window, negative_similarity = self._negatives(ids, donor, kind)
        n_negative = np.bincount(negative_owner, minlength=n)

        # 2. host
        host = self._hosts(ids, donor, n_labeled * (1 + gap))
        region = self.host_regions[host]

        # 3. fit the segment count
        most = (region + gap) // (1 + gap)
        fits = n_labeled <= most
        keep_negative = np.where(fits, np.minimum(n_negative, np.maximum(most - n_labeled, 0)), 0)
        fade = np.where(fits, fade, 0)
        gap = np.where(fits, gap, 1)
        keep_labeled = np.where(fits, n_labeled, np.minimum(n_labeled, (region + 1) // 2))
        labeled_kept = ragged.positions(n_labeled) < keep_labeled[labeled_owner]
        negative_kept = ragged.positions(n_negative) < keep_negative[negative_owner]

        owner = np.concatenate([labeled_owner[labeled_kept], negative_owner[negative_kept]])
        window = np.concatenate([labeled_window[labeled_kept], negative_window[negative_kept]])
        similarity = np.concatenate(
            [np.zeros(int(labeled_kept.sum())), negative_similarity[negative_kept]]
        )
        labeled = np.arange(len(owner)) < int(labeled_kept.sum())
        grouped = np.argsort(owner, kind="stable")  # per sample: labeled, then negatives
        owner, window, similarity, labeled = (
            owner[grouped],
            window[grouped],
            similarity[grouped],
            labeled[grouped],
        )
        counts = np.bincount(owner, minlength=n)
        local = ragged.positions(counts)
        source_row = np.where(labeled, donor[owner], self._window_row(window))

        # 4. lengths
        original = split.window_stop[window] - split.window_first[window]
        u = draws.uniform(ids[owner], LENGTH, local)
        stretch = labeled & (kind[owner] == BOUNDARY)
        wanted = np.where(
            stretch, stretched_lengths(original, u, config.max_stretch), kept_lengths(original, u)
        )
        length = fit_lengths(wanted, counts, region - (counts - 1) * gap)

        # 5. clips
        element_segment = ragged.owners(original)
        keys = draws.uniform(
            ids[owner[element_segment]],
            SUBSET,
            local[element_segment] * CLIP_INDEX_STRIDE + ragged.positions(original),
        )
        picked = segment_clips(original, length, keys)  # positions inside each window

        # 6. order (a random slot per segment; labeled ones keep their order) and place
        slot = ragged.ranks(owner, draws.uniform(ids[owner], ORDER, local), n)
        starts = ragged.offsets_of(counts)[:-1]
        slot_is_negative = np.empty(len(owner), bool)
        slot_is_negative[starts[owner] + slot] = ~labeled
        by_slot = np.empty(len(owner), np.int64)
        by_slot[~slot_is_negative] = np.flatnonzero(labeled)
        by_slot[slot_is_negative] = np.flatnonzero(~labeled)
        clip_start = ragged.offsets_of(length)[:-1]
        picked = picked[ragged.ranges(clip_start[by_slot], length[by_slot])]
        owner, window, similarity, labeled, source_row, original, length = (
            a[by_slot] for a in (owner, window, similarity, labeled, source_row, original, length)
        )
        target = place_segments(
            length, counts, region, gap, draws.uniform(ids[owner], PLACE, local)
        )
        stop = target + length

        # 7. pastes, labels, components
        pastes = self._segment_pastes(
            host, owner, source_row, split.window_first[window], picked, length, target, fade
        )
        clip_length = split.clip_length
        duration = split.durations[host]
        seconds = np.minimum(stop * clip_length, duration[owner].astype(np.float64))
        seconds = seconds - target * clip_length
        labeled_owner = owner[labeled]
        label_counts = np.bincount(labeled_owner, minlength=n)
        components = np.zeros((n, len(COMPONENTS)))
        components[:, 0] = ragged.group_sums(labeled_owner, seconds[labeled], n) / np.maximum(
            duration.astype(np.float64), 1e-6
        )
        log_ratio = np.abs(np.log2(original[labeled] / length[labeled]))
        components[:, 1] = ragged.group_sums(labeled_owner, log_ratio, n) / np.maximum(
            label_counts, 1
        )
        components[:, 2] = label_counts
        components[:, 3] = ragged.group_max(owner[~labeled], similarity[~labeled], n, 0.0)
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
            pastes=_merge_pastes(self._host_pastes(host), pastes),
        )
        rows.components[:, 4] = self._boundary_contrast(rows)
        return rows

    def _window_row(self, window: np.ndarray) -> np.ndarray:
        """The split row that owns each (global) window index."""
        return np.searchsorted(self.split.window_offsets, window, side="right") - 1

    def _negatives(
        self, ids: np.ndarray, donor: np.ndarray, kind: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(owner, global window, similarity) of each negative, grouped by sample."""
        config, split, draws = self.config, self.split, self.draws
        slots = self.neighbours.shape[1]
        is_negative = kind == NEGATIVE
        if slots == 0 or not is_negative.any():
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        valid = self.neighbours[donor] >= 0
        wanted = 1 + draws.integers(ids, NEGATIVE_COUNT, config.negatives_per_sample)
        count = np.where(is_negative, np.minimum(wanted, valid.sum(1)), 0)
        keys = draws.uniform(ids[:, None], NEGATIVE_SLOT, np.arange(slots)[None, :])
        keys[~valid] = 2.0  # never chosen before a valid slot
        chosen = np.argsort(keys, axis=1, kind="stable")
        take = np.arange(slots)[None, :] < count[:, None]
        owner = np.nonzero(take)[0]
        slot = chosen[take]
        query = self.neighbours[donor[owner], slot]
        which = draws.integers(
            ids[owner], NEGATIVE_WINDOW, split.n_windows[query], ragged.positions(count)
        )
        window = split.window_offsets[query] + which
        return owner, window, self.neighbour_similarity[donor[owner], slot].astype(np.float64)

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

    def _segment_pastes(
        self,
        host: np.ndarray,
        owner: np.ndarray,
        source_row: np.ndarray,
        window_first: np.ndarray,
        picked: np.ndarray,
        length: np.ndarray,
        target: np.ndarray,
        fade: np.ndarray,
    ) -> Pastes:
        """One paste per segment; a faded one also covers fade/2 clips on either side (repeating
        the segment's first and last clip), cut at the canvas edges."""
        half = fade[owner] // 2
        extended = length + 2 * half
        element = ragged.owners(extended)
        step = ragged.positions(extended)
        inner = np.clip(step - half[element], 0, length[element] - 1)
        clips = window_first[element] + picked[ragged.offsets_of(length)[:-1][element] + inner]
        at = target[element] - half[element] + step
        inside = (at >= 0) & (at < self.clips_of_row[host[owner[element]]])
        fade_of = fade[owner]
        alpha = np.ones(len(element), np.float32)
        faded = fade_of > 0
        soft = faded[element]
        alpha[soft] = fade_alphas(extended[element][soft], fade_of[element][soft], step[soft])
        return Pastes(
            owner=owner,
            video_row=source_row,
            target_start=np.maximum(target - half, 0),  # only the canvas start cuts a paste's head
            clip_counts=np.bincount(element[inside], minlength=len(owner)),
            clips=clips[inside],
            faded=faded,
            alpha=alpha[inside],
        )

    # -- difficulty inputs ------------------------------------------------------------------

    def _boundary_contrast(self, rows: Rows) -> np.ndarray:
        """Per row, the mean over labeled boundaries inside the video of 1 - cos(clip inside,
        clip outside) on the composed sketches; 1.0 (no boundary to find) when there is none."""
        n = len(rows.ids)
        owner = ragged.owners(rows.label_counts)
        first, stop = rows.label_start, rows.label_stop
        at_start = first > 0
        at_end = stop < rows.n_clips[owner]
        query_owner = np.concatenate([owner[at_start], owner[at_end]])
        inside = np.concatenate([first[at_start], stop[at_end] - 1])
        outside = np.concatenate([first[at_start] - 1, stop[at_end]])
        both = self._composed_sketch(
            rows, np.concatenate([query_owner, query_owner]), np.concatenate([inside, outside])
        )
        a, b = both[: len(inside)], both[len(inside) :]
        cos = (a * b).sum(1) / np.maximum(np.sqrt((a * a).sum(1) * (b * b).sum(1)), 1e-12)
        sums = ragged.group_sums(query_owner, cos.astype(np.float64), n)
        found = np.bincount(query_owner, minlength=n)
        return np.where(found > 0, 1.0 - sums / np.maximum(found, 1), 1.0)

    def _composed_sketch(self, rows: Rows, owner: np.ndarray, clip: np.ndarray) -> np.ndarray:
        """The sketch of canvas clip `clip` of row `owner` after all pastes. The host paste
        (each row's first) is the base; the later pastes of a generated row never overlap."""
        sketches = self.pool.sketches
        base = sketches[self.sketch_start[rows.host[owner]] + clip]
        pastes = rows.pastes
        later = ~_first_of_owner(pastes)
        element = np.repeat(np.flatnonzero(later), pastes.clip_counts[later])
        position = ragged.ranges(pastes.target_start[later], pastes.clip_counts[later])
        clip_index = ragged.ranges(
            ragged.offsets_of(pastes.clip_counts)[:-1][later], pastes.clip_counts[later]
        )
        key = pastes.owner[element] * (1 << 32) + position  # sorted: rows, then target order
        wanted = owner * (1 << 32) + clip
        hit = np.minimum(np.searchsorted(key, wanted), max(len(key) - 1, 0))
        covered = np.flatnonzero(key[hit] == wanted) if len(key) else np.zeros(0, np.int64)
        element, clip_index = element[hit[covered]], clip_index[hit[covered]]
        pasted = sketches[self.sketch_start[pastes.video_row[element]] + pastes.clips[clip_index]]
        weight = pastes.alpha[clip_index][:, None]
        mixed = weight * pasted
        mixed += (1.0 - weight) * base[covered]
        base[covered] = np.where(pastes.faded[element][:, None], mixed, pasted)
        return base

    # -- Arrow ------------------------------------------------------------------------------

    def table(self, rows: Rows) -> pa.Table:
        """The corpus columns of `rows` (all but difficulty, curriculum_bin and features)."""
        split = self.split
        schema = self._schema
        n = len(rows.ids)
        originals = np.flatnonzero(rows.kind == ORIGINAL)
        augmented = np.flatnonzero(rows.kind != ORIGINAL)
        order = np.argsort(np.concatenate([originals, augmented]))
        stored = split.table.take(pa.array(rows.ids[originals]))
        made_rows = _take_rows(rows, augmented)
        label_columns = {}
        for name in ("relevant_windows", "relevant_clip_ids", "saliency_scores"):
            from_store = stored.column(name).combine_chunks().cast(schema.field(name).type)
            made = _augmented_labels(made_rows, name, split.clip_length)
            label_columns[name] = pa.concat_arrays([from_store, made]).take(pa.array(order))
        negative = _windows_array(
            rows.negative_counts,
            rows.negative_start,
            rows.negative_stop,
            rows.duration,
            split.clip_length,
        )
        columns = {
            "sample_id": pa.array(rows.ids, pa.int64()),
            "kind": self._kind_strings.take(pa.array(rows.kind)),
            "qid": pa.array(split.qids[rows.source], pa.int64()),
            "query": self._query_strings.take(pa.array(rows.source)),
            "host_vid": self._vid_strings.take(pa.array(rows.host)),
            "duration": pa.array(rows.duration, pa.float32()),
            "n_clips": pa.array(rows.n_clips, pa.int32()),
            **label_columns,
            "negative_windows": negative,
            "boundary_sharpness": pa.array(rows.sharpness, pa.int8()),
        }
        for i, name in enumerate(COMPONENTS):
            columns[name] = pa.array(rows.components[:, i].astype(np.float32))
        columns["recipe"] = self.recipe_array(rows.pastes, n)
        fields = [f for f in schema if f.name in columns]
        return pa.Table.from_arrays([columns[f.name] for f in fields], schema=pa.schema(fields))

    def recipe_array(self, pastes: Pastes, n_rows: int) -> pa.ListArray:
        clip_offsets = ragged.offsets_of(pastes.clip_counts).astype(np.int32)
        alpha_counts = np.where(pastes.faded, pastes.clip_counts, 0)
        alpha_values = pastes.alpha[np.repeat(pastes.faded, pastes.clip_counts)]
        struct = pa.StructArray.from_arrays(
            [
                self._vid_strings.take(pa.array(pastes.video_row)),
                pa.ListArray.from_arrays(
                    pa.array(clip_offsets), pa.array(pastes.clips.astype(np.int32))
                ),
                pa.array(pastes.target_start.astype(np.int32)),
                pa.ListArray.from_arrays(
                    pa.array(ragged.offsets_of(alpha_counts).astype(np.int32)),
                    pa.array(alpha_values, pa.float32()),
                    mask=pa.array(~pastes.faded),
                ),
            ],
            fields=list(PASTE_TYPE),
        )
        recipe_offsets = ragged.offsets_of(np.bincount(pastes.owner, minlength=n_rows))
        return pa.ListArray.from_arrays(pa.array(recipe_offsets.astype(np.int32)), struct)


def _first_of_owner(pastes: Pastes) -> np.ndarray:
    """True for each row's first paste (the host)."""
    first = np.ones(len(pastes.owner), bool)
    first[1:] = pastes.owner[1:] != pastes.owner[:-1]
    return first


def _windows_array(
    counts: np.ndarray,
    start: np.ndarray,
    stop: np.ndarray,
    duration: np.ndarray,
    clip_length: float,
) -> pa.ListArray:
    """list<list<float32>> windows in seconds: [start, min(stop, duration)] clips × clip_length."""
    owner = ragged.owners(counts)
    seconds = np.stack(
        [start * clip_length, np.minimum(stop * clip_length, duration[owner].astype(np.float64))],
        axis=1,
    ).astype(np.float32)
    inner = pa.ListArray.from_arrays(
        pa.array(np.arange(0, 2 * len(start) + 1, 2, dtype=np.int32)), pa.array(seconds.ravel())
    )
    return pa.ListArray.from_arrays(pa.array(ragged.offsets_of(counts).astype(np.int32)), inner)


def _augmented_labels(rows: Rows, name: str, clip_length: float) -> pa.Array:
    """One label column of generated rows."""
    if name == "relevant_windows":
        return _windows_array(
            rows.label_counts, rows.label_start, rows.label_stop, rows.duration, clip_length
        )
    clips = rows.label_stop - rows.label_start
    per_row = np.bincount(
        ragged.owners(rows.label_counts), weights=clips, minlength=len(rows.ids)
    ).astype(np.int64)
    if name == "relevant_clip_ids":
        return pa.ListArray.from_arrays(
            pa.array(ragged.offsets_of(per_row).astype(np.int32)),
            pa.array(ragged.ranges(rows.label_start, clips).astype(np.int32)),
        )
    scores = rows.label_saliency
    annotators = scores.shape[1]
    if annotators == 0:  # no saliency in this split: empty lists
        per_row = np.zeros(len(rows.ids), np.int64)
        scores = scores[:0]
    inner = pa.ListArray.from_arrays(
        pa.array(np.arange(len(scores) + 1, dtype=np.int32) * annotators),
        pa.array(scores.ravel(), pa.int8()),
    )
    return pa.ListArray.from_arrays(pa.array(ragged.offsets_of(per_row).astype(np.int32)), inner)


def _merge_pastes(hosts: Pastes, segments: Pastes) -> Pastes:
    """Host pastes first, then each row's segment pastes (already in slot order)."""
    both = hosts.then(segments)
    is_segment = np.arange(len(both.owner)) >= len(hosts.owner)
    order = np.lexsort((is_segment, both.owner))
    return both.select(order, both.owner[order])


def _concat_rows(first: Rows, second: Rows) -> Rows:
    """The rows of `first`, then those of `second` (owners of ragged parts shifted)."""
    pastes = first.pastes.then(second.pastes, row_shift=len(first.ids))
    values = {}
    for name in Rows.__dataclass_fields__:
        if name == "pastes":
            continue
        a, b = getattr(first, name), getattr(second, name)
        values[name] = np.concatenate([a, b]) if a.ndim == 1 else np.concatenate([a, b], axis=0)
    return Rows(**values, pastes=pastes)


def _take_rows(rows: Rows, which: np.ndarray) -> Rows:
    """Rows `which` of a set, in that order, with their ragged parts."""
    which = np.asarray(which, np.int64)

    def take_ragged(counts: np.ndarray, *values: np.ndarray) -> list[np.ndarray]:
        index = ragged.ranges(ragged.offsets_of(counts)[:-1][which], counts[which])
        return [v[index] for v in values]

    label_start, label_stop = take_ragged(rows.label_counts, rows.label_start, rows.label_stop)
    per_row = np.bincount(
        ragged.owners(rows.label_counts),
        weights=rows.label_stop - rows.label_start,
        minlength=len(rows.ids),
    ).astype(np.int64)
    (saliency,) = take_ragged(per_row, rows.label_saliency)
    negative_start, negative_stop = take_ragged(
        rows.negative_counts, rows.negative_start, rows.negative_stop
    )
    pastes = rows.pastes
    per_row_pastes = np.bincount(pastes.owner, minlength=len(rows.ids))
    paste_index = ragged.ranges(
        ragged.offsets_of(per_row_pastes)[:-1][which], per_row_pastes[which]
    )
    taken = pastes.select(paste_index, ragged.owners(per_row_pastes[which]))
    return Rows(
        **{name: getattr(rows, name)[which] for name in PER_ROW_FIELDS},
        label_start=label_start,
        label_stop=label_stop,
        label_saliency=saliency,
        negative_start=negative_start,
        negative_stop=negative_stop,
        pastes=taken,
    )
