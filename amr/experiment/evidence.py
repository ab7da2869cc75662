"""A finished run's evidence: the few small files the report is made from, without weights.

An experiment directory holds gigabytes of checkpoints and predictions that nobody commits.
The report needs far less: each run's config, its `finished.json` (samples, epochs, val
curve; a stage 2 keeps its stage 1's too) and, for a scored run, its `scores.json` and
per-query test scores. `write_report` copies those into `OUT/evidence/` (`make
benchmark-report` publishes them under docs/results/), and `amr experiment --restore-from`
reads them back into a directory that lost its runs, so that the report can be made again and
only unfinished runs train. Training is repeatable, so a restored stage 1 whose stage 2 still
has to run is simply retrained (runner.py)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from amr.errors import AmrError
from amr.experiment.records import FINISHED, STAGE1_FINISHED, ArmResult
from amr.experiment.scoring import PER_QUERY, SCORES
from amr.fileio import atomic_copy
from amr.train.rundir import CONFIG

EVIDENCE = "evidence"
CLAIM = "experiment.json"  # store fingerprint and budget: evidence restores into a match only
FILES = (CONFIG, FINISHED, STAGE1_FINISHED, SCORES, PER_QUERY)


def claim_differences(saved: dict[str, Any], state: dict[str, Any]) -> list[str]:
    """The keys of two experiments' claims (store fingerprint, budget) whose values differ."""
    return sorted(k for k in saved.keys() | state.keys() if saved.get(k) != state.get(k))


def archive(out: Path, results: Iterable[ArmResult], dest: Path | None = None) -> int:
    """Copy the evidence of every run behind `results` from the experiment directory `out`
    into `dest` (default OUT/evidence), keeping the fraction-F/seed-S/RUN layout; returns
    how many runs it holds. Files already there are replaced only when they differ."""
    out = Path(out)
    dest = Path(dest) if dest is not None else out / EVIDENCE
    runs = {run.path for result in results for run in result.runs}
    _copy(out / CLAIM, dest / CLAIM)
    for run in sorted(runs):
        for name in FILES:
            if (run / name).is_file():
                _copy(run / name, dest / run.relative_to(out) / name)
    return len(runs)


def restore(source: Path, out: Path) -> int:
    """Read back into `out` the evidence of every run in `source` that `out` lacks; a run
    directory that holds anything (a finished run, or one started and left to resume) is
    left alone. Returns how many runs were restored. Refuses evidence of another store or
    budget."""
    source, out = Path(source), Path(out)
    if not (source / CLAIM).is_file():
        raise AmrError(f"{source}: not an experiment's evidence folder (no {CLAIM})")
    theirs = json.loads((source / CLAIM).read_text(encoding="utf-8"))
    ours = json.loads((out / CLAIM).read_text(encoding="utf-8"))
    changed = claim_differences(theirs, ours)
    if changed:
        raise AmrError(
            f"{source}: evidence of an experiment with a different {', '.join(changed)} than "
            f"{out}; restore it into an experiment made with the same store and budget"
        )
    restored = 0
    for finished in sorted(source.glob(f"fraction-*/seed-*/*/{FINISHED}")):
        run = finished.parent.relative_to(source)
        target = out / run
        if target.exists() and any(target.iterdir()):
            continue  # finished, or started and left to resume
        _restore_run(finished.parent, target)
        restored += 1
    return restored


def _restore_run(src: Path, target: Path) -> None:
    """Copy one run's evidence whole or not at all: a half-restored run would pass for one
    that started training."""
    staging = target.parent / f".{target.name}.restoring"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        for name in FILES:
            if (src / name).is_file():
                shutil.copyfile(src / name, staging / name)
        if target.is_dir():
            target.rmdir()  # empty: restore() leaves any other target alone
        staging.replace(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _copy(src: Path, dst: Path) -> None:
    if dst.is_file() and dst.read_bytes() == src.read_bytes():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    atomic_copy(src, dst)
