"""The arms of `amr experiment`: baseline, AMR, the ablations and two controls.

Ablations change one thing of the AMR arm. Two controls separate "augmentation helps" from
"more steps help" and from "two stages help": one stage on augmented + real rows, and two stages
whose first reads the real rows again (as many steps as AMR's stage 1). Runs that arms share
are trained once per seed: `aug-only` is AMR's stage 1, and arms that differ only in stage 2
start from the same stage-1 run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from amr.errors import AmrError
from amr.train.ablations import ablation_settings

# baseline: real rows only · aug-only: AMR's stage 1 alone · two-stage: stage 1 then stage 2 ·
# mixed: one stage on augmented + real rows · real-repeat: stage 1 on the real rows, stage 2
RECIPES = ("baseline", "aug-only", "two-stage", "mixed", "real-repeat")
GROUPS = ("headline", "ablation", "control")


@dataclass(frozen=True)
class Arm:
    name: str
    title: str
    recipe: str
    group: str = "ablation"
    switches: tuple[str, ...] = ()  # ablation switches (amr.train.ablations), in both stages
    kinds: tuple[str, ...] | None = None  # stage 1's augmented kinds (None: every kind)
    shuffled_stage2: bool = False  # stage 2 reads the real rows shuffled (the reference's order)

    @property
    def headline(self) -> bool:
        """Headline arms and controls get the most seeds (ExperimentConfig.headline_seeds)."""
        return self.group in ("headline", "control")

    def settings(self, section: str, stage: int) -> dict[str, Any]:
        """What the arm changes in `section` ("train" or "distill") of stage 1 or 2."""
        settings = ablation_settings(self.switches, section)
        if stage == 2 and section == "train" and self.shuffled_stage2:
            settings["curriculum"] = False
        return settings

    @property
    def stage1_name(self) -> str:
        """The run directory of the arm's first (or only) stage; arms with the same stage 1
        share it."""
        if self.recipe == "mixed":
            return "stage1-aug-real"
        if self.recipe == "real-repeat":
            return "stage1-real-repeat"
        name = "stage1"
        if not self.settings("train", 1).get("curriculum", True):
            name += "-no-curriculum"
        if self.kinds is not None:
            name += "-" + "-".join(self.kinds)
        return name


ARMS: tuple[Arm, ...] = (
    Arm("baseline", "real data only", "baseline", "headline"),
    Arm("aug-only", "augmented data only (AMR's stage 1)", "aug-only", "ablation"),
    Arm("amr", "AMR two-stage", "two-stage", "headline"),
    Arm("no-curriculum", "AMR, no curriculum", "two-stage", switches=("no-curriculum",)),
    Arm("shuffled-stage2", "AMR, stage 2 shuffled", "two-stage", shuffled_stage2=True),
    Arm("no-negatives", "AMR, no hard negatives", "two-stage", kinds=("splice", "boundary")),
    Arm("no-distill", "AMR, no distillation loss", "two-stage", switches=("no-distill-loss",)),
    Arm(
        "no-active-queries",
        "AMR, no Active Queries",
        "two-stage",
        switches=("no-active-queries",),
    ),
    Arm("no-disc", "AMR, no discrimination loss", "two-stage", switches=("no-disc-loss",)),
    Arm("aug+real", "control: one stage on augmented + real rows", "mixed", "control"),
    Arm("real-repeat", "control: two stages, stage 1 on real rows", "real-repeat", "control"),
)
DEFAULT_ARMS = tuple(arm.name for arm in ARMS)


def arms_named(names: list[str] | tuple[str, ...]) -> list[Arm]:
    """The arms in `names`, in the order of ARMS."""
    known = {arm.name: arm for arm in ARMS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise AmrError(f"unknown arm {unknown[0]!r} (known: {', '.join(known)})")
    if not names:
        raise AmrError("--arms names no arm")
    return [arm for arm in ARMS if arm.name in set(names)]
