"""The arms of `amr experiment`: the paper's three recipes and its ablations.

Ablations change one thing of the AMR arm. Two-stage arms that differ only in stage 2 share
one stage-1 run (per seed), so `amr`, `no-distill` and `no-active-queries` start from the same
cold-start model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from amr.errors import AmrError
from amr.train.ablations import ablation_settings

RECIPES = ("baseline", "augmented", "two-stage")


@dataclass(frozen=True)
class Arm:
    name: str
    title: str
    recipe: str  # baseline: real rows only; augmented: stage 1 only; two-stage: both
    switches: tuple[str, ...] = ()  # ablation switches (amr.train.ablations), in both stages
    kinds: tuple[str, ...] | None = None  # stage 1's augmented kinds (None: every kind)

    def settings(self, section: str) -> dict[str, Any]:
        """What the arm's switches change in `section` ("train" or "distill")."""
        return ablation_settings(self.switches, section)

    @property
    def curriculum(self) -> bool:
        return self.settings("train").get("curriculum", True)

    @property
    def stage1_name(self) -> str:
        """The stage-1 run this arm starts from (or is, for `augmented`)."""
        if self.recipe == "augmented":
            return self.name
        name = "stage1"
        if not self.curriculum:
            name += "-no-curriculum"
        if self.kinds is not None:
            name += "-" + "-".join(self.kinds)
        return name


ARMS: tuple[Arm, ...] = (
    Arm("baseline", "real data only", "baseline"),
    Arm("aug-only", "augmented data only (cold start)", "augmented"),
    Arm("amr", "AMR two-stage", "two-stage"),
    Arm("no-curriculum", "AMR, no curriculum", "two-stage", switches=("no-curriculum",)),
    Arm("no-negatives", "AMR, no hard negatives", "two-stage", kinds=("splice", "boundary")),
    Arm("no-distill", "AMR, no distillation loss", "two-stage", switches=("no-distill-loss",)),
    Arm(
        "no-active-queries",
        "AMR, no Active Queries",
        "two-stage",
        switches=("no-active-queries",),
    ),
    Arm("no-disc", "AMR, no discrimination loss", "two-stage", switches=("no-disc-loss",)),
)
DEFAULT_ARMS = (
    "baseline",
    "aug-only",
    "amr",
    "no-curriculum",
    "no-negatives",
    "no-distill",
    "no-active-queries",
)


def arms_named(names: list[str] | tuple[str, ...]) -> list[Arm]:
    """The arms in `names`, in the order of ARMS; `amr` is always included (it sets the
    budget every other arm trains on)."""
    known = {arm.name: arm for arm in ARMS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise AmrError(f"unknown arm {unknown[0]!r} (known: {', '.join(known)})")
    wanted = {*names, "amr"}
    return [arm for arm in ARMS if arm.name in wanted]
