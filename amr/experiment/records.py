"""What a finished run and a finished arm leave behind (read by the report and the plots)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amr.experiment.arms import Arm
from amr.fileio import atomic_copy
from amr.train.rundir import CONFIG

FINISHED = "finished.json"
# In a stage-2 run: its stage 1's finished.json as it was when stage 2 started from it. A stage 1
# restored from evidence is trained again when a later arm needs its weights, and the arms
# already built on the earlier run must keep reporting that run (its machine, minutes, curve).
STAGE1_FINISHED = "stage1_finished.json"
# results.json's metric keys under `test` and `val` (evaluate()'s `brief` block)


@dataclass(frozen=True)
class RunRecord:
    """A finished training run: how long it trained, why it stopped, its val curve."""

    path: Path
    samples: int
    steps: int
    seconds: float
    epochs: int
    stopped: str  # "plateau" (patience), "max epochs" (patience never triggered), "schedule"
    curve: list[dict[str, Any]]  # per epoch: epoch, samples so far, val metrics
    # the machines that trained it, in order (a run resumed elsewhere has two); empty when its
    # finished.json names none (the benchmark's earliest evidence)
    machines: tuple[str, ...] = ()

    @classmethod
    def read(cls, path: Path, source: Path | None = None) -> RunRecord:
        """The record of the run in `path`, from its finished.json or from `source`."""
        body = json.loads((source or path / FINISHED).read_text(encoding="utf-8"))
        return cls(
            path, body["samples"], body["steps"], body["seconds"], body["epochs"],
            body["stopped"], body["curve"], tuple(body.get("machines", ())),
        )  # fmt: skip


def stage1_behind(stage2: RunRecord, stage1: RunRecord) -> RunRecord:
    """The stage-1 run that `stage2` started from: its kept copy, else `stage1` (the same run
    unless that stage 1 was trained again since)."""
    kept = stage2.path / STAGE1_FINISHED
    return RunRecord.read(stage1.path, kept) if kept.is_file() else stage1


def keep_stage1_record(stage1: Path, stage2: Path) -> None:
    """Copy the record of the run in `stage1` into the stage 2 in `stage2` that started from it."""
    atomic_copy(stage1 / FINISHED, stage2 / STAGE1_FINISHED)


def stage2s_without_stage1_record(stage1: Path) -> list[Path]:
    """The finished runs beside `stage1` that started from its checkpoint and keep no copy of
    its record (evidence finished before stage 2s kept one)."""
    found = []
    for run in sorted(stage1.parent.iterdir()):
        config = run / CONFIG
        finished = (run / FINISHED).is_file() and config.is_file()
        if not finished or (run / STAGE1_FINISHED).is_file():
            continue
        init = json.loads(config.read_text(encoding="utf-8")).get("init")
        if init and Path(init).parent.name == stage1.name:
            found.append(run)
    return found


@dataclass(frozen=True)
class ArmResult:
    arm: Arm
    fraction: float
    seed: int
    metrics: dict[str, Any]  # "val", "test" (and "test_truth"): evaluate()'s output
    runs: list[RunRecord]  # stage 1 then stage 2 for two-stage arms
    scored: Path  # the run whose best checkpoint was scored (its test_preds.jsonl)

    @property
    def samples(self) -> int:
        return sum(r.samples for r in self.runs)

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.runs)

    @property
    def machines(self) -> list[str]:
        return distinct(m for r in self.runs for m in r.machines)

    def to_json(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """One results.json record; `extra` adds the report's subset figures."""
        body: dict[str, Any] = {
            "arm": self.arm.name,
            "fraction": self.fraction,
            "seed": self.seed,
            "test": self.metrics["test"]["brief"],
            "val": self.metrics["val"]["brief"],
        }
        if "test_truth" in self.metrics:
            body["test_truth"] = self.metrics["test_truth"]["brief"]
        body.update(extra or {})
        body["epochs"] = [r.epochs for r in self.runs]
        body["stopped"] = [r.stopped for r in self.runs]
        body["samples"] = self.samples
        body["minutes"] = round(self.seconds / 60, 2)
        body["machines"] = self.machines
        return body


def distinct(values: Iterable[str]) -> list[str]:
    """`values` without repeats, in the order they first occur."""
    return list(dict.fromkeys(values))


def machine_chain(machines: Iterable[str], unrecorded: str = "not recorded") -> str:
    """One label for the machines that trained a run, in order: "A" or "A then B"."""
    return " then ".join(machines) or unrecorded
