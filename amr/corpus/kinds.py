"""The corpus's row kinds: `original` (a real sample) and one declaration per augmentation kind.

A kind is one `AugmentKind` below; everything else reads these declarations: the corpus's
`kind` column, `amr augment --kinds` and its help, generation (`augment/generate.py` turns the
flags into per-row arrays, so a batch of mixed kinds is still generated in whole-array
operations), `amr inspect`, `amr show` and the difficulty table. Every kind shares the
difficulty components (corpus/schema.py COMPONENTS); what a kind changes is what it pastes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ORIGINAL = "original"


@dataclass(frozen=True)
class AugmentKind:
    """How one kind of augmented row is made from its donor's moments."""

    name: str
    fades: bool  # boundaries are cross-faded (a width drawn from --fade-clips), else hard cuts
    stretches: bool  # moments are resampled to 1/x..x of their length (x = max_stretch), else
    # cut to 1..all of their clips
    carries_negatives: bool  # unlabelled negatives are pasted beside the moment (with
    # same-video negatives, every augmented row carries them unless --negatives-in-negative-rows)
    help: str


AUGMENT_KINDS = (
    AugmentKind(
        "splice", fades=False, stretches=False, carries_negatives=False,
        help="the moments cut from their video and pasted into another, hard cuts",
    ),
    AugmentKind(
        "boundary", fades=True, stretches=True, carries_negatives=False,
        help="the moments stretched or squeezed and pasted with cross-faded boundaries",
    ),
    AugmentKind(
        "negative", fades=False, stretches=False, carries_negatives=True,
        help="the moments pasted beside look-alike unlabelled windows (hard negatives)",
    ),
)  # fmt: skip

AUGMENTED = tuple(kind.name for kind in AUGMENT_KINDS)
KINDS = (ORIGINAL, *AUGMENTED)  # the `kind` column's values, in this order everywhere


def augment_kind(name: str) -> AugmentKind:
    return next(kind for kind in AUGMENT_KINDS if kind.name == name)


def kind_flags(flag: str) -> np.ndarray:
    """(len(KINDS),) bool: `flag` of each kind, indexed by the kind's position in KINDS (an
    original row has none), so that rows[kind] gives every row's flag at once."""
    return np.asarray([False, *(getattr(kind, flag) for kind in AUGMENT_KINDS)], dtype=bool)
