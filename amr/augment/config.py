"""The augmentation config: everything that decides a corpus's bytes, besides the store and seed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from amr.corpus.kinds import AUGMENTED
from amr.corpus.schema import COMPONENTS
from amr.errors import AmrError

NEGATIVES = ("same-video", "nearest-query")


def default_weights() -> dict[str, float]:
    return dict.fromkeys(COMPONENTS, 1.0)


@dataclass(frozen=True)
class AugmentConfig:
    """How a corpus is made from one split of a store. Same config + store + seed = same bytes."""

    multiplier: int = 10  # augmented samples per labeled real sample
    kinds: tuple[str, ...] = AUGMENTED  # cycled per donor, each donor one kind further along
    seed: int = 0
    recipes_only: bool = False  # no features: small, shareable, re-materialised by the recipient
    # negatives: the donor video's own wrong spans ("same-video", the reference's) or windows
    # of the donor's nearest other queries ("nearest-query")
    negatives: str = "same-video"
    negatives_everywhere: bool = True  # same-video: every augmented row, as the reference
    negatives_per_sample: int = 2  # at most; each negative sample gets 1..this many
    negative_pool: int = 8  # choose negatives among this many nearest queries
    negative_max_similarity: float = 0.95  # closer queries may describe the same thing: skipped
    fade_clips: tuple[int, ...] = (0, 2, 4)  # boundary op: cross-fade widths (0 = hard cut)
    max_stretch: float = 2.0  # boundary op: a window is resampled to 1/x .. x of its length
    difficulty_weights: dict[str, float] = field(default_factory=default_weights)
    curriculum_bins: int = 10
    part_rows: int = 1024  # rows per part file: the unit of --workers, --shard and --resume
    row_group_rows: int = 64  # rows per Parquet row group: the unit a training loader reads

    def __post_init__(self) -> None:
        if self.multiplier < 1:
            raise AmrError(f"--multiplier must be at least 1, got {self.multiplier}")
        unknown = [kind for kind in self.kinds if kind not in AUGMENTED]
        if unknown or not self.kinds:
            raise AmrError(
                f"--kinds: unknown kind {', '.join(unknown) or '(none given)'}; choose from "
                f"{', '.join(AUGMENTED)}"
            )
        if len(set(self.kinds)) != len(self.kinds):
            raise AmrError(f"--kinds lists a kind twice: {','.join(self.kinds)}")
        if self.negatives not in NEGATIVES:
            raise AmrError(f"--negatives must be {' or '.join(NEGATIVES)}, got {self.negatives!r}")
        if self.negatives_per_sample < 1 or self.negative_pool < 1:
            raise AmrError("negatives_per_sample and negative_pool must be at least 1")
        if any(k < 0 or k % 2 for k in self.fade_clips) or not self.fade_clips:
            raise AmrError(
                "fade_clips must be even and >= 0 (the label sits at the fade's middle), "
                f"got {self.fade_clips}"
            )
        if self.max_stretch < 1:
            raise AmrError(f"max_stretch must be >= 1, got {self.max_stretch}")
        bad = set(self.difficulty_weights) - set(COMPONENTS)
        if bad:
            raise AmrError(
                f"unknown difficulty component {', '.join(sorted(bad))}; "
                f"known: {', '.join(COMPONENTS)}"
            )
        if any(w < 0 for w in self.difficulty_weights.values()) or not any(
            self.difficulty_weights.values()
        ):
            raise AmrError("difficulty weights must be >= 0 and not all 0")
        if self.curriculum_bins < 1 or self.part_rows < 1 or self.row_group_rows < 1:
            raise AmrError("curriculum_bins, part_rows and row_group_rows must be at least 1")

    def weights(self) -> dict[str, float]:
        """All components' weights, 0 for those not named."""
        return {name: float(self.difficulty_weights.get(name, 0.0)) for name in COMPONENTS}

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["kinds"] = list(self.kinds)
        body["fade_clips"] = list(self.fade_clips)
        body["difficulty_weights"] = self.weights()
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> AugmentConfig:
        body = dict(body)
        if "ops" in body and "kinds" not in body:  # how corpora already shared name the kinds
            body["kinds"] = body.pop("ops")
        known = {f.name for f in fields(cls)}
        unknown = set(body) - known
        if unknown:
            raise AmrError(f"unknown augmentation setting {', '.join(sorted(unknown))}")
        for key in ("kinds", "fade_clips"):
            if key in body:
                body[key] = tuple(body[key])
        return cls(**body)


def same_config(saved: Any, config: AugmentConfig) -> bool:
    """Whether a manifest's (or an interrupted run's) config JSON is `config`, whichever
    spelling of its fields it was written with."""
    try:
        return AugmentConfig.from_json(saved).to_json() == config.to_json()
    except (AmrError, TypeError, ValueError, AttributeError):
        return False


def parse_weights(text: str) -> dict[str, float]:
    """`length_ratio=2,compression=0` → weights; components not named keep weight 1."""
    weights = default_weights()
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep:
            raise AmrError(f"difficulty weight {item!r} is not NAME=VALUE")
        if name not in COMPONENTS:
            raise AmrError(f"unknown difficulty component {name!r}; known: {', '.join(COMPONENTS)}")
        try:
            weights[name] = float(value)
        except ValueError:
            raise AmrError(f"difficulty weight {item!r}: {value!r} is not a number") from None
    return weights
