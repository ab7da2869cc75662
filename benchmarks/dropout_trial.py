"""The pre-registered trials of issue 53's speed options: `make demo`'s three trainings with
the defaults (the torch arm) and with the options, at training seeds 0, 1 and 2, scored on test.
docs/fast-dropout-trial.md (`--trial fast-dropout`: `--fast-dropout`) and
docs/fastest-cpu-trial.md (`--trial fastest-cpu`: `--fast-dropout --fused-adamw --cpu-bf16`).

    python -m benchmarks.dropout_trial --trial fast-dropout --out runs/dropout-trial [--seeds 0,1,2]
    python -m benchmarks.dropout_trial --trial fast-dropout --out runs/dropout-trial --report

Each arm and seed is a folder laid out as `make demo`'s (`ARM-seedS/{baseline,cold-start,
distill}/test_preds.jsonl`), so `make demo DEMO=runs/dropout-trial/torch-seed0` is the torch
arm's seed 0. Rerunning skips what has been scored and resumes a stopped training.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from amr.train.checkpoint import LAST
from amr.train.rundir import resumed_run_dir

ARMS = {
    "torch": [],
    "fast": ["--fast-dropout"],
    "fastest": ["--fast-dropout", "--fused-adamw", "--cpu-bf16"],
}


@dataclass(frozen=True)
class Trial:
    """A pre-registered comparison of an arm with the torch arm (the defaults)."""

    tested: str  # the arm compared with "torch"
    registration: str  # the document that states the rule


TRIALS = {
    "fast-dropout": Trial("fast", "docs/fast-dropout-trial.md"),
    "fastest-cpu": Trial("fastest", "docs/fastest-cpu-trial.md"),
}
SHOWN = ("baseline", "cold-start", "distill")
METRIC = "MR-full-R1@0.7"


def _amr(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "amr.cli", *args], check=True)


def make_world(out: Path) -> tuple[Path, Path]:
    """`make demo`'s store and corpus (the same commands), once for every run."""
    store, corpus = out / "store", out / "corpus"
    if not (store / "store.json").is_file():
        _amr("datasets", "synth", "--out", str(store), "--preset", "demo", "--seed", "0",
             "--train-videos", "400", "--val-videos", "150", "--test-videos", "300",
             "--overwrite")  # fmt: skip
    if not (corpus / "manifest.json").is_file():
        _amr("augment", "--store", str(store), "--split", "train", "--out", str(corpus),
             "--seed", "0", "--overwrite")  # fmt: skip
    return store, corpus


def train_arm(out: Path, arm: str, seed: int) -> None:
    store, corpus = make_world(out)
    root = out / f"{arm}-seed{seed}"
    sources = {
        "baseline": ["--store", str(store), "--split", "train",
                     "--config", "configs/demo-baseline.json"],
        "cold-start": ["--corpus", str(corpus), "--store", str(store),
                       "--config", "configs/demo.json"],
        "distill": ["--init", str(root / "cold-start"), "--corpus", str(corpus),
                    "--store", str(store), "--config", "configs/demo-distill.json"],
    }  # fmt: skip
    for stage, args in sources.items():
        run, trained = root / stage, root / f"{stage}.trained"
        if (run / "test_preds_metrics.json").is_file():
            continue
        if not trained.is_file():
            if (resumed_run_dir(run) / LAST).is_file():  # stopped: it goes on
                _amr("train", stage, "--out", str(run), "--resume")
            else:
                _amr("train", stage, *args, "--out", str(run), "--seed", str(seed),
                     *ARMS[arm], "--overwrite")  # fmt: skip
            trained.touch()
        preds = run / "test_preds.jsonl"
        _amr("predict", "--checkpoint", str(run), "--store", str(store), "--split", "test",
             "--out", str(preds), "--overwrite")  # fmt: skip
        _amr("eval", "--store", str(store), "--split", "test", "--predictions", str(preds),
             "--quiet", "--overwrite")  # fmt: skip


def _scores(run: Path) -> tuple[float, float] | None:
    """(test R1@0.7, mean training samples/s over its epochs) of a scored run."""
    path = run / "test_preds_metrics.json"
    if not path.is_file():
        return None
    r1 = json.loads(path.read_text())["brief"][METRIC]
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x]
    return r1, statistics.mean(line["samples_per_second"] for line in lines)


def report(out: Path, seeds: list[int], trial: Trial) -> None:
    arms = ("torch", trial.tested)
    table = Table(title=f"test {METRIC} (samples/s)", title_justify="left")
    for column in ("arm", "seed", *SHOWN):
        table.add_column(column, justify="left" if column in ("arm",) else "right")
    figures: dict[tuple[str, str], list[float]] = {}
    for arm in arms:
        for seed in seeds:
            cells = []
            for stage in SHOWN:
                scored = _scores(out / f"{arm}-seed{seed}" / stage)
                if scored is None:
                    cells.append("—")
                    continue
                figures.setdefault((arm, stage), []).append(scored[0])
                cells.append(f"{scored[0]:.2f} ({scored[1]:,.0f})")
            table.add_row(arm, str(seed), *cells)
    for arm in arms:
        cells = []
        for stage in SHOWN:
            values = figures.get((arm, stage), [])
            sd = statistics.stdev(values) if len(values) > 1 else float("nan")
            cells.append(f"{statistics.mean(values):.2f} ± {sd:.2f}" if values else "—")
        table.add_row(arm, "mean ± sd", *cells)
    console = Console()
    console.print(table)
    complete = all(len(figures.get((arm, s), [])) == len(seeds) for arm in arms for s in SHOWN)
    if not complete:
        console.print("not every planned run is scored: no decision yet")
        return
    tested = trial.tested
    kept = [
        min(figures["torch", s]) <= statistics.mean(figures[tested, s]) <= max(figures["torch", s])
        for s in SHOWN
    ]
    verdict = "keeps" if all(kept) else "does not keep"
    within = ", ".join(f"{stage}: {ok}" for stage, ok in zip(SHOWN, kept, strict=True))
    console.print(f"decision rule ({trial.registration}): {' '.join(ARMS[tested])} {verdict} "
                  f"the results ({tested} mean within the torch range: {within})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trial", choices=TRIALS, default="fast-dropout")
    parser.add_argument("--out", type=Path, default=Path("runs/dropout-trial"))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--report", action="store_true", help="Only print the table.")
    args = parser.parse_args()
    trial, seeds = TRIALS[args.trial], [int(s) for s in args.seeds.split(",")]
    if not args.report:
        for seed in seeds:
            for arm in ("torch", trial.tested):
                train_arm(args.out, arm, seed)
    report(args.out, [0, 1, 2], trial)


if __name__ == "__main__":
    main()
