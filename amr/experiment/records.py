"""What a finished run and a finished arm leave behind (read by the report and the plots)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amr.experiment.arms import Arm

FINISHED = "finished.json"


@dataclass(frozen=True)
class RunRecord:
    """A finished training run: how much it trained and how long it took."""

    path: Path
    samples: int
    steps: int
    seconds: float
    curve: list[dict[str, Any]]  # per epoch: samples so far, val metrics

    @classmethod
    def read(cls, path: Path) -> RunRecord:
        body = json.loads((path / FINISHED).read_text(encoding="utf-8"))
        return cls(path, body["samples"], body["steps"], body["seconds"], body["curve"])


@dataclass(frozen=True)
class ArmResult:
    arm: Arm
    seed: int
    metrics: dict[str, Any]  # evaluate()'s output for the arm's last model on val
    runs: list[RunRecord]  # stage 1 then stage 2 for two-stage arms

    @property
    def samples(self) -> int:
        return sum(r.samples for r in self.runs)

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.runs)
