"""`amr experiment`: every arm, on every train fraction, for every seed, trained to convergence
under one rule and scored on the held-out test split (docs/benchmark.md).

The experiment directory's layout, its claim and each fraction's data: layout.py.

Each run leaves `finished.json` when it is done; a rerun skips finished runs and resumes an
interrupted one from its last.pt, so a long experiment can be stopped and continued, and more
seeds, arms or fractions added later. A directory that lost its runs gets their evidence back
with `restore_from` (evidence.py): those runs are reported as they were, not retrained.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console

from amr.console import stderr_console
from amr.corpus.schema import MANIFEST
from amr.datasets.store import Store
from amr.errors import AmrError
from amr.experiment import evidence
from amr.experiment.arms import DEFAULT_ARMS, Arm, arms_named
from amr.experiment.budget import Budget, budget_named
from amr.experiment.layout import (
    TRAIN_SPLIT,
    FractionData,
    claim,
    corpus_root,
    fraction_data,
    fraction_root,
    fractions_held,
)
from amr.experiment.records import (
    FINISHED,
    ArmResult,
    RunRecord,
    distinct,
    keep_stage1_record,
    machine_chain,
    stage1_behind,
    stage2s_without_stage1_record,
)
from amr.experiment.scoring import SCORES, TEST_SPLIT, VAL_SPLIT, Scorer
from amr.fileio import settle_retired, swap_into_place, write_json
from amr.writer_lock import one_writer


@dataclass(frozen=True)
class ExperimentConfig:
    store: Path
    out: Path
    fractions: tuple[float, ...] = (1.0,)
    seeds: int = 3
    headline_seeds: int | None = None  # headline arms and controls at the smallest fraction
    budget: str = "cpu"
    arms: tuple[str, ...] = DEFAULT_ARMS
    device: str = "auto"
    workers: int = 2  # augmentation workers and loader threads
    show_progress: bool = True
    report_only: bool = False  # score and report finished runs; train nothing
    restore_from: Path | None = None  # an evidence folder (evidence.py) to read runs back from
    budget_override: Budget | None = field(default=None, compare=False)  # tests: a tiny budget

    def resolved_budget(self) -> Budget:
        return self.budget_override or budget_named(self.budget)

    def seeds_for(self, arm: Arm, fraction: float) -> int:
        """How many seeds (0..n-1) the arm trains at this fraction."""
        if arm.headline and fraction == min(self.fractions):
            return max(self.seeds, self.headline_seeds or 0)
        return self.seeds


@one_writer(lambda call: None if call["config"].report_only else call["config"].out)
def run_experiment(config: ExperimentConfig) -> list[ArmResult]:
    """Train and score every arm for every fraction and seed; one result per (arm, fraction,
    seed). With `report_only`, only the arms whose runs have all finished."""
    if config.seeds < 1:
        raise AmrError(f"--seeds must be at least 1, got {config.seeds}")
    if not config.fractions or not all(0 < f <= 1 for f in config.fractions):
        raise AmrError(f"--fractions must be in (0, 1], got {list(config.fractions)}")
    budget = config.resolved_budget()
    arms = arms_named(config.arms)
    try:
        store = Store.open(config.store)
    except AmrError as exc:
        if config.restore_from is None:
            raise
        raise AmrError(
            f"{exc}; evidence is read back onto the experiment's own store (its fingerprint is "
            f"in {Path(config.restore_from) / evidence.CLAIM}): make that store first (synthetic "
            "stores are deterministic; `make benchmark-report` does it for the benchmark)"
        ) from None
    for split in (TRAIN_SPLIT, VAL_SPLIT, TEST_SPLIT):
        info = store.meta.splits.get(split)
        if info is None or not info.labeled:
            raise AmrError(
                f"{store.root}: the experiment needs a labeled {split!r} split (synthetic "
                "stores have one; for imported data, import a labelled split as test)"
            )
    out = Path(config.out)
    if config.report_only and config.restore_from is None and not (out / evidence.CLAIM).is_file():
        raise AmrError(f"{out}: not an experiment directory (nothing to report)")
    claim(out, store, budget)
    _complete_replacements(out)
    console = stderr_console()
    if config.restore_from is not None:
        restored = evidence.restore(config.restore_from, out)
        console.print(f"restored {restored} finished runs from {config.restore_from}")
    _warn_if_headline_seeds_move(config, out, console)
    results = []
    for fraction in sorted(set(config.fractions)):
        root = fraction_root(out, fraction)
        if config.report_only and not (
            (corpus_root(out, fraction) / MANIFEST).is_file()
            or any(root.glob(f"seed-*/*/{FINISHED}"))
        ):
            continue  # not started; a fraction read back from evidence gets its corpus made
        data = fraction_data(out, store, fraction, budget, config.workers, config.show_progress)
        scorer = Scorer(data.store, config.device)
        # Headline arms and controls first, every seed of theirs, then the rest: the first
        # runs to finish answer the main question.
        for wave in ([a for a in arms if a.headline], [a for a in arms if not a.headline]):
            if not wave:
                continue
            for seed in range(max(config.seeds_for(arm, fraction) for arm in wave)):
                runner = _SeedRunner(config, budget, data, scorer, seed, console)
                done = []
                for arm in wave:
                    if seed >= config.seeds_for(arm, fraction):
                        continue
                    if not config.report_only:
                        console.print(
                            f"[bold]{fraction:g} · seed {seed}[/] · {arm.name}: {arm.title}"
                        )
                    result = runner.arm(arm)
                    if result is not None:
                        done.append(result)
                # An arm read before a run of its was retrained (aug-only, when a later
                # ablation needed its stage 1's weights) reports the run that is there now.
                results += [
                    runner.arm(r.arm) if {run.path for run in r.runs} & runner.retrained else r
                    for r in done
                ]
    if not results:
        raise AmrError(f"{out}: no finished runs to report")
    return results


def _warn_if_headline_seeds_move(config: ExperimentConfig, out: Path, console: Console) -> None:
    """--headline-seeds goes to the smallest fraction listed: finishing `--fractions 1` alone in
    an experiment that holds 0.1 would give 1 the extra seeds, which is rarely what was meant."""
    smallest = min(config.fractions)
    below = [f for f in fractions_held(out) if f < smallest]
    if below and (config.headline_seeds or 0) > config.seeds:
        console.print(
            f"[yellow]warning:[/] --headline-seeds {config.headline_seeds} goes to fraction "
            f"{smallest:g}, the smallest listed, but {out} also holds fraction {below[0]:g}; "
            "list that fraction too to keep the extra seeds there"
        )


class _SeedRunner:
    """The runs of one seed at one fraction."""

    def __init__(
        self,
        config: ExperimentConfig,
        budget: Budget,
        data: FractionData,
        scorer: Scorer,
        seed: int,
        console: Console,
    ):
        self.config, self.budget, self.data, self.scorer = config, budget, data, scorer
        self.root, self.seed, self.console = data.root / f"seed-{seed}", seed, console
        self.retrained: set[Path] = set()  # runs read back from evidence, then trained again

    def arm(self, arm: Arm) -> ArmResult | None:
        """The arm's runs (trained, resumed or read back) and scores; None when reporting
        only and a run of the arm has not finished."""
        try:
            return self._arm(arm)
        except _Unfinished:
            return None

    def _arm(self, arm: Arm) -> ArmResult:
        # A stage 2 that has still to train needs its stage 1's weights, which a run read back
        # from evidence lacks: that stage 1 is trained again (to the same weights).
        weights = not (self.root / arm.name / FINISHED).is_file()
        if arm.recipe == "baseline":
            runs = [self._baseline(arm)]
        elif arm.recipe in ("aug-only", "mixed"):
            runs = [self._stage1(arm)]
        else:
            if arm.recipe == "real-repeat":
                stage1 = self._real_stage1(arm, weights)
            else:
                stage1 = self._stage1(arm, weights)
            stage2 = self._stage2(arm, stage1)
            runs = [stage1_behind(stage2, stage1), stage2]
        scored = runs[-1].path
        metrics = self.scorer.score(scored)
        return ArmResult(arm, self.data.fraction, self.seed, metrics, runs, scored)

    # -- runs -------------------------------------------------------------------------------

    def _train_config(self, settings: dict[str, Any], **changes: Any):
        from amr.train.config import TrainConfig

        body = {**settings, "seed": self.seed, "device": self.config.device}
        body["workers"] = self.config.workers
        return replace(TrainConfig.from_json(body), **changes)

    def _stage1(self, arm: Arm, weights: bool = False) -> RunRecord:
        from amr.train.stages import cold_start_spec

        path = self.root / arm.stage1_name
        config = self._train_config(
            self.budget.stage1, **arm.settings("train", 1),
            include_original=arm.recipe == "mixed",
        )  # fmt: skip
        return self._run(
            path,
            config,
            lambda: cold_start_spec(
                self.data.corpus.root, self.data.store, config, self.budget.model,
                kinds=arm.kinds,
            ),
            weights,
        )  # fmt: skip

    def _real_stage1(self, arm: Arm, weights: bool) -> RunRecord:
        """Stage 1 of the real-repeat control: the real rows, shuffled, with stage 1's
        settings, for as many samples (so steps) as AMR's stage 1 of this seed."""
        amr_stage1 = self._stage1(arms_named(["amr"])[0])
        rows = self.data.corpus.manifest.get("kinds", {}).get("original", 0)
        config = self._train_config(
            self.budget.stage1,
            epochs=math.ceil(amr_stage1.samples / max(int(rows), 1)) + 1,
            max_samples=amr_stage1.samples,
        )
        return self._real_rows(self.root / arm.stage1_name, config, weights)

    def _stage2(self, arm: Arm, stage1: RunRecord) -> RunRecord:
        from amr.train.config import DistillConfig
        from amr.train.stages import distill_spec

        path = self.root / arm.name
        config = self._train_config(self.budget.stage2, **arm.settings("train", 2))
        settings = DistillConfig.from_json(arm.settings("distill", 2))
        return self._run(
            path,
            config,
            lambda: distill_spec(
                stage1.path / "last.pt", self.data.corpus.root, self.data.store, config,
                settings,
            ),
            stage1=stage1,
        )  # fmt: skip

    def _baseline(self, arm: Arm) -> RunRecord:
        return self._real_rows(self.root / arm.name, self._train_config(self.budget.baseline))

    def _real_rows(self, path: Path, config: Any, weights: bool = False) -> RunRecord:
        """A baseline-stage run: the store's real train rows, shuffled."""
        from amr.train.stages import baseline_spec

        return self._run(
            path,
            config,
            lambda: baseline_spec(self.data.store, TRAIN_SPLIT, config, self.budget.model),
            weights,
        )  # fmt: skip

    def _run(
        self,
        path: Path,
        config: Any,
        spec_of: Callable[[], Any],
        weights: bool = False,
        stage1: RunRecord | None = None,
    ) -> RunRecord:
        """Skip a finished run (with its weights, when `weights`), resume an interrupted one,
        else start it; a stage 2 keeps the record of the `stage1` it started from.

        A run read back from evidence that must train again for its weights trains beside
        itself (`_retraining_dir`) and replaces its evidence only once finished: until then
        its record stays where it was, so `--report-only` still reports it and the arms built
        on it."""
        from amr.train.checkpoint import LAST
        from amr.train.rundir import CONFIG, read_metrics, resumed_run_dir
        from amr.train.stages import resume, start

        restored = None
        if (path / FINISHED).is_file():
            if not weights or (path / LAST).is_file():
                return RunRecord.read(path)
            restored = RunRecord.read(path)  # evidence only: train it again for its weights
        if self.config.report_only:
            raise _Unfinished(path)
        rescore = False
        into = path
        if restored is not None:
            self.console.print(f"{path}: retraining for the weights its evidence lacks")
            rescore = (path / SCORES).is_file()  # an arm scored from it may already be read
            for stage2 in stage2s_without_stage1_record(path):
                keep_stage1_record(path, stage2)
            self.retrained.add(path)
            into = _retraining_dir(path)
        spec, show = spec_of(), self.config.show_progress
        if (resumed_run_dir(into) / LAST).is_file():  # an interrupted run goes on
            resume(into, expect=spec, show_progress=show)
        else:  # one cut short before its first checkpoint starts again
            start(spec, into, overwrite=(into / CONFIG).is_file(), show_progress=show)
        lines = read_metrics(into)
        seen, curve = 0, []
        for line in lines:
            seen += line["samples"]
            curve.append({"epoch": line["epoch"], "samples": seen, "val": line.get("val", {})})
        if config.patience:
            stopped = "plateau" if len(lines) < config.epochs else "max epochs"
        else:
            stopped = "schedule"
        body = {
            "samples": seen,
            "steps": lines[-1]["steps"] if lines else 0,
            "seconds": round(sum(line["seconds"] for line in lines), 3),
            "epochs": len(lines),
            "stopped": stopped,
            "curve": curve,
            "machines": distinct(line["machine"] for line in lines if "machine" in line),
        }
        if stage1 is not None:
            keep_stage1_record(stage1.path, into)
        write_json(into / FINISHED, body)
        if into != path:  # a replacement cut short is completed by _complete_replacements
            swap_into_place(into, path)
        record = RunRecord.read(path)
        if rescore:
            self.scorer.score(path)
        if restored is not None and (restored.samples, restored.epochs, restored.curve) != (
            record.samples, record.epochs, record.curve
        ):  # fmt: skip
            machines = f"{machine_chain(restored.machines)} → {machine_chain(record.machines)}"
            self.console.print(
                f"[bold red]{path}: retrained run differs from its evidence[/] (samples "
                f"{restored.samples} → {record.samples}, epochs {restored.epochs} → "
                f"{record.epochs}; machines {machines}: "
                "runs repeat only on the same kind of machine); the arms still to train build "
                "on the retrained run"
            )
        return record


def _retraining_dir(run: Path) -> Path:
    """Where a run read back from evidence trains again, beside its evidence."""
    return run.parent / f".{run.name}.retraining"


def _complete_replacements(out: Path) -> None:
    """Before anything reads or restores runs: a retrained run whose replacement of its
    evidence was cut short goes where its evidence was."""
    for retrained in out.glob("fraction-*/seed-*/.*.retraining"):
        run = retrained.parent / retrained.name.removeprefix(".").removesuffix(".retraining")
        if not run.exists() and (retrained / FINISHED).is_file():
            retrained.rename(run)
    for seed_dir in out.glob("fraction-*/seed-*"):
        settle_retired(seed_dir)


class _Unfinished(Exception):
    """A run that has not finished, met while reporting only."""
