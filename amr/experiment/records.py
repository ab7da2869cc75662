"""What a finished run and a finished arm leave behind (read by the report and the plots)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amr.experiment.arms import Arm

FINISHED = "finished.json"
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
    # the machines that trained it, in order (a run resumed elsewhere has two); empty for runs
    # finished before machines were recorded (2026-12-03)
    machines: tuple[str, ...] = ()

    @classmethod
    def read(cls, path: Path) -> RunRecord:
        body = json.loads((path / FINISHED).read_text(encoding="utf-8"))
        return cls(
            path, body["samples"], body["steps"], body["seconds"], body["epochs"],
            body["stopped"], body["curve"], tuple(body.get("machines", ())),
        )  # fmt: skip


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
