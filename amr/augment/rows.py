"""Generated rows as flat numpy columns: per-row values, ragged label and negative ranges,
and the pastes of each row's recipe. Cheap to concatenate, reorder and slice by row."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from amr import ragged
from amr.augment.boundary import fade_alphas
from amr.corpus.schema import COMPONENTS

COMPONENT_COLUMN = {name: i for i, name in enumerate(COMPONENTS)}


def component_matrix(n: int, **values: np.ndarray) -> np.ndarray:
    """(n, len(COMPONENTS)) float64 difficulty components: the named ones set, the rest 0."""
    matrix = np.zeros((n, len(COMPONENTS)))
    for name, value in values.items():
        matrix[:, COMPONENT_COLUMN[name]] = value
    return matrix


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


def first_of_owner(pastes: Pastes) -> np.ndarray:
    """True for each row's first paste (the host)."""
    first = np.ones(len(pastes.owner), bool)
    first[1:] = pastes.owner[1:] != pastes.owner[:-1]
    return first


def merge_pastes(hosts: Pastes, segments: Pastes) -> Pastes:
    """Host pastes first, then each row's segment pastes (already in slot order)."""
    both = hosts.then(segments)
    is_segment = np.arange(len(both.owner)) >= len(hosts.owner)
    order = np.lexsort((is_segment, both.owner))
    return both.select(order, both.owner[order])


def concat_rows(first: Rows, second: Rows) -> Rows:
    """The rows of `first`, then those of `second` (owners of ragged parts shifted)."""
    pastes = first.pastes.then(second.pastes, row_shift=len(first.ids))
    values = {}
    for name in Rows.__dataclass_fields__:
        if name == "pastes":
            continue
        a, b = getattr(first, name), getattr(second, name)
        values[name] = np.concatenate([a, b]) if a.ndim == 1 else np.concatenate([a, b], axis=0)
    return Rows(**values, pastes=pastes)


def take_rows(rows: Rows, which: np.ndarray) -> Rows:
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


def host_pastes(hosts: np.ndarray, clips: np.ndarray) -> Pastes:
    """The identity paste of each row: the whole host video (split row `hosts[i]`, of
    `clips[i]` clips)."""
    n = len(hosts)
    return Pastes(
        owner=np.arange(n, dtype=np.int64),
        video_row=hosts,
        target_start=np.zeros(n, np.int64),
        clip_counts=clips,
        clips=ragged.positions(clips),
        faded=np.zeros(n, bool),
        alpha=np.ones(int(clips.sum()), np.float32),
    )


def segment_pastes(
    host_clips: np.ndarray,
    owner: np.ndarray,
    source_row: np.ndarray,
    window_first: np.ndarray,
    picked: np.ndarray,
    length: np.ndarray,
    target: np.ndarray,
    fade: np.ndarray,
) -> Pastes:
    """One paste per segment; a faded one also covers fade/2 clips on either side (repeating
    the segment's first and last clip), cut at the canvas edges (`host_clips`: each batch
    row's host length)."""
    half = fade[owner] // 2
    extended = length + 2 * half
    element = ragged.owners(extended)
    step = ragged.positions(extended)
    inner = np.clip(step - half[element], 0, length[element] - 1)
    clips = window_first[element] + picked[ragged.offsets_of(length)[:-1][element] + inner]
    at = target[element] - half[element] + step
    inside = (at >= 0) & (at < host_clips[owner[element]])
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
