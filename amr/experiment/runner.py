"""`amr experiment`: every arm, every seed, the same model and the same number of samples.

Layout of the experiment directory:

    experiment.json          the store fingerprint and the budget (a rerun must match them)
    corpus/                  the augmented corpus of the store's train split (made once)
    seed-S/ARM/              each arm's final run: config.json, metrics.jsonl, last.pt,
                             val_preds.jsonl, val_metrics.json (its last model on val)
    seed-S/stage1*/          cold-start runs that two-stage arms start from
    results.md, *.png        the report (see report.py)

Each run leaves `finished.json` when it is done; a rerun skips finished runs and resumes an
interrupted one from its last.pt, so a long experiment can be stopped and continued.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console

from amr.augment import AugmentConfig, augment
from amr.console import stderr_console
from amr.corpus.reader import Corpus
from amr.corpus.schema import MANIFEST
from amr.datasets.store import Store
from amr.errors import AmrError
from amr.eval import evaluate, load_ground_truth, predictions_from_records
from amr.eval.submission import write_submission
from amr.experiment.arms import DEFAULT_ARMS, Arm, arms_named
from amr.experiment.budget import Budget, budget_named
from amr.experiment.records import FINISHED, ArmResult, RunRecord
from amr.fileio import write_json

TRAIN_SPLIT, VAL_SPLIT = "train", "val"
CORPUS_SEED = 0  # the corpus is made once; seeds vary training (initialisation, order)


@dataclass(frozen=True)
class ExperimentConfig:
    store: Path
    out: Path
    seeds: int = 3
    budget: str = "small"
    arms: tuple[str, ...] = DEFAULT_ARMS
    device: str = "auto"
    workers: int = 2  # augmentation workers and loader threads
    show_progress: bool = True
    budget_override: Budget | None = field(default=None, compare=False)  # tests: a tiny budget

    def resolved_budget(self) -> Budget:
        return self.budget_override or budget_named(self.budget)


def run_experiment(config: ExperimentConfig) -> list[ArmResult]:
    """Train and evaluate every arm for seeds 0..seeds-1; returns one result per (arm, seed)."""
    if config.seeds < 1:
        raise AmrError(f"--seeds must be at least 1, got {config.seeds}")
    budget = config.resolved_budget()
    arms = arms_named(config.arms)
    store = Store.open(config.store)
    for split in (TRAIN_SPLIT, VAL_SPLIT):
        info = store.meta.splits.get(split)
        if info is None or not info.labeled:
            raise AmrError(f"{store.root}: the experiment needs a labeled {split!r} split")
    out = Path(config.out)
    _claim(out, store, budget)
    corpus = _corpus(out / "corpus", store, budget, config)
    console = stderr_console()
    results = []
    for seed in range(config.seeds):
        runner = _SeedRunner(config, budget, store, corpus, out / f"seed-{seed}", seed, console)
        for arm in arms:
            if arm.name != "amr":
                console.print(f"[bold]seed {seed}[/] · {arm.name}: {arm.title}")
            results.append(runner.arm(arm))
    return results


def _claim(out: Path, store: Store, budget: Budget) -> None:
    """experiment.json: a rerun into the same directory must use the same store and budget."""
    state = {"store_fingerprint": store.meta.fingerprint, "budget": budget.to_json()}
    path = out / "experiment.json"
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved != state:
            changed = sorted(k for k in state if saved.get(k) != state[k])
            raise AmrError(
                f"{out}: holds an experiment with a different {', '.join(changed)}; "
                "use another --out"
            )
        return
    if out.exists() and any(out.iterdir()):
        raise AmrError(f"{out}: exists and is not an experiment directory; use another --out")
    out.mkdir(parents=True, exist_ok=True)
    write_json(path, state)


def _corpus(path: Path, store: Store, budget: Budget, config: ExperimentConfig) -> Corpus:
    if not (path / MANIFEST).is_file():
        settings = AugmentConfig(multiplier=budget.multiplier, seed=CORPUS_SEED)
        augment(
            store.root, TRAIN_SPLIT, path, settings, workers=config.workers, resume=True,
            show_progress=config.show_progress,
        )  # fmt: skip
    return Corpus.open(path)


class _SeedRunner:
    """The runs of one seed."""

    def __init__(
        self,
        config: ExperimentConfig,
        budget: Budget,
        store: Store,
        corpus: Corpus,
        root: Path,
        seed: int,
        console: Console,
    ):
        """Trains the AMR arm first (or reads it back): its samples are every arm's budget."""
        self.config, self.budget, self.store, self.corpus = config, budget, store, corpus
        self.root, self.seed = root, seed
        self._truth = None
        amr = arms_named(["amr"])[0]
        console.print(f"[bold]seed {seed}[/] · amr: {amr.title} (sets every arm's budget)")
        stage1 = self._stage1(amr, cap=None)
        self.amr_runs = (stage1, self._stage2(amr, stage1, cap=None))

    # -- runs -------------------------------------------------------------------------------

    def arm(self, arm: Arm) -> ArmResult:
        amr_stage1, amr_stage2 = self.amr_runs
        total = amr_stage1.samples + amr_stage2.samples
        if arm.recipe == "baseline":
            runs = [self._baseline(arm, total)]
        elif arm.recipe == "augmented":
            runs = [self._stage1(arm, cap=total)]
        elif arm.name == "amr":
            runs = [amr_stage1, amr_stage2]
        else:
            stage1 = self._stage1(arm, cap=amr_stage1.samples)
            runs = [stage1, self._stage2(arm, stage1, cap=amr_stage2.samples)]
        return ArmResult(arm, self.seed, self._evaluate(runs[-1].path), runs)

    def _train_config(self, settings: dict[str, Any], **changes: Any):
        from amr.train.config import TrainConfig

        body = {**settings, "seed": self.seed, "device": self.config.device}
        body["workers"] = self.config.workers
        return replace(TrainConfig.from_json(body), **changes)

    def _stage1(self, arm: Arm, cap: int | None) -> RunRecord:
        from amr.train.stages import cold_start

        path = self.root / arm.stage1_name
        config = self._train_config(self.budget.stage1, **arm.settings("train"))
        if cap is not None:
            rows = self._rows(arm.kinds or ("splice", "boundary", "negative"))
            config = self._capped(config, cap, rows)
        return self._run(
            path,
            lambda resume, overwrite: cold_start(
                self.corpus.root, self.store.root, path, config, self.budget.model,
                resume=resume, overwrite=overwrite, show_progress=self.config.show_progress,
                kinds=arm.kinds,
            ),
        )  # fmt: skip

    def _stage2(self, arm: Arm, stage1: RunRecord, cap: int | None) -> RunRecord:
        from amr.train.config import DistillConfig
        from amr.train.stages import distill

        path = self.root / arm.name
        config = self._train_config(self.budget.stage2, **arm.settings("train"))
        if cap is not None:
            config = self._capped(config, cap, self._rows(("original",)))
        settings = DistillConfig.from_json(arm.settings("distill"))
        return self._run(
            path,
            lambda resume, overwrite: distill(
                stage1.path / "last.pt", self.corpus.root, self.store.root, path, config,
                settings, resume=resume, overwrite=overwrite,
                show_progress=self.config.show_progress,
            ),
        )  # fmt: skip

    def _baseline(self, arm: Arm, cap: int) -> RunRecord:
        from amr.train.stages import baseline

        path = self.root / arm.name
        rows = self.store.meta.splits[TRAIN_SPLIT].queries
        config = self._capped(self._train_config(self.budget.baseline), cap, rows)
        share = self.budget.baseline_lr_drop_share
        if share is not None:
            config = replace(config, lr_drop=max(1, round(share * cap / rows)))
        return self._run(
            path,
            lambda resume, overwrite: baseline(
                self.store.root, TRAIN_SPLIT, path, config, self.budget.model,
                resume=resume, overwrite=overwrite, show_progress=self.config.show_progress,
            ),
        )  # fmt: skip

    def _capped(self, config, samples: int, rows: int):
        """`config` stopped after `samples` samples, with enough epochs to get there: the
        curriculum's ramp epochs read less than all rows, every later epoch reads all."""
        ramp = config.epochs_to_full if config.curriculum and config.pacing != "ordered" else 0
        epochs = max(config.epochs, math.ceil(samples / rows) + ramp + 1)
        return replace(config, epochs=epochs, max_samples=samples)

    def _rows(self, kinds: tuple[str, ...]) -> int:
        counts = self.corpus.manifest.get("kinds", {})
        return max(1, sum(int(counts.get(kind, 0)) for kind in kinds))

    def _run(self, path: Path, train: Callable[[bool, bool], Any]) -> RunRecord:
        """Skip a finished run, resume an interrupted one, else start it."""
        from amr.train.rundir import read_metrics

        if (path / FINISHED).is_file():
            return RunRecord.read(path)
        train((path / "last.pt").is_file(), (path / "config.json").is_file())
        lines = read_metrics(path)
        seen, curve = 0, []
        for line in lines:
            seen += line["samples"]
            curve.append({"epoch": line["epoch"], "samples": seen, "val": line.get("val", {})})
        body = {
            "samples": seen,
            "steps": lines[-1]["steps"] if lines else 0,
            "seconds": round(sum(line["seconds"] for line in lines), 3),
            "curve": curve,
        }
        write_json(path / FINISHED, body)
        return RunRecord.read(path)

    # -- evaluation ---------------------------------------------------------------------------

    def _evaluate(self, run: Path) -> dict[str, Any]:
        """The run's last model (not its best on val: that would select on the test data)."""
        from amr.train.predict import predict_checkpoint

        path = run / "val_metrics.json"
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
        records = predict_checkpoint(
            run / "last.pt", self.store.root, VAL_SPLIT, device=self.config.device
        )
        write_submission(run / "val_preds.jsonl", records)
        if self._truth is None:
            self._truth = load_ground_truth(store=self.store.root, split=VAL_SPLIT)
        metrics = evaluate(
            predictions_from_records(records, str(run / "val_preds.jsonl")), self._truth
        )
        write_json(path, metrics)
        return metrics


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))
