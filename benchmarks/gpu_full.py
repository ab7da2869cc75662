"""The `full` budget on a GPU: each stage's training throughput and peak
GPU memory at real dims (2816/512-d), on the qvh synthetic store with all of train (100 %).

A lent GPU comes for minutes, so each stage trains a few epochs rather than to convergence, and
the table projects what a converged run of the budget would take from the measured speeds
(stage 1: 40 epochs of the ×10 corpus; stage 2 and the baseline: at most 100 epochs). Stage 1
and 2 read a corpus built from `--corpus-fraction` of train (at 100 % it would be ~32 GB at
these dims); their per-sample speed does not depend on the corpus's length.

    python -m benchmarks.gpu_full --out DIR [--epochs 2] [--corpus-fraction 0.1] [--json FILE]

Not part of `make bench`: it is meant for a GPU (`--device cpu` runs it too, slowly) and writes
several GB.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from amr.augment import AugmentConfig, augment
from amr.datasets import Store, SynthConfig, default_annotations, synthesize
from amr.datasets.subset import subset_store
from amr.experiment.budget import budget_named
from amr.train import stages
from amr.train.config import TrainConfig
from amr.train.rundir import read_metrics

VIDEO_DIM, TEXT_DIM = 2816, 512


def _timed(what: str, work: Any, log: dict[str, Any]) -> Any:
    started = time.perf_counter()
    result = work()
    log[what] = round(time.perf_counter() - started, 1)
    return result


def _stage(name: str, out: Path, train: Any, device: torch.device) -> dict[str, Any]:
    """Train one stage; its per-epoch speeds (training only, val excluded), wall time and peak
    GPU memory."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    started = time.perf_counter()
    train()
    wall = time.perf_counter() - started
    lines = read_metrics(out)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else 0.0
    return {
        "stage": name,
        "epochs": len(lines),
        "samples": sum(line["samples"] for line in lines),
        "samples_per_second": [line["samples_per_second"] for line in lines],
        "train_seconds": round(sum(line["seconds"] for line in lines), 1),
        "wall_seconds": round(wall, 1),
        "peak_gib": round(peak, 2),
    }


def run(
    out: Path,
    epochs: int,
    corpus_fraction: float,
    device_name: str,
    dims: tuple[int, int] = (VIDEO_DIM, TEXT_DIM),
    json_path: Path | None = None,
) -> dict[str, Any]:
    """The measurements; written to `json_path` after each step too, so that a lease that
    ends early still leaves what was measured."""
    device = torch.device(device_name)
    budget = budget_named("full")
    workers = os.cpu_count() or 2
    times: dict[str, Any] = {}
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    result = {"device": gpu, "torch": torch.__version__, "dims": f"{dims[0]}/{dims[1]}",
              "corpus_fraction": corpus_fraction, "times": times, "stages": []}  # fmt: skip

    out.mkdir(parents=True, exist_ok=True)

    def keep() -> None:
        if json_path is not None:
            json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    store = out / "store"
    if not (store / "store.json").is_file():
        config = SynthConfig(preset="qvh", seed=0, video_dim=dims[0], text_dim=dims[1])
        _timed(
            "synth_seconds",
            lambda: synthesize(store, config, default_annotations("qvh"), show_progress=False),
            times,
        )
    keep()
    train_rows = result["train_queries"] = Store.open(store).meta.splits["train"].queries
    small = out / "corpus-store"
    corpus = out / "corpus"
    if not (corpus / "manifest.json").is_file():
        _timed(
            "subset_seconds",
            lambda: subset_store(store, "train", corpus_fraction, 0, small, overwrite=True),
            times,
        )
        settings = AugmentConfig(multiplier=budget.multiplier, seed=0)
        _timed(
            "augment_seconds",
            lambda: augment(small, "train", corpus, settings, workers=workers, show_progress=False),
            times,
        )
        keep()

    def config(settings: dict[str, Any]) -> TrainConfig:
        body = {**settings, "seed": 0, "device": device_name, "workers": min(workers, 8)}
        return replace(TrainConfig.from_json(body), epochs=epochs, patience=None)

    quiet = {"overwrite": True, "show_progress": False}
    plan = [  # name, run directory, how it trains, samples in one of its epochs at 100 %, epochs
        ("baseline (100 % of train)", out / "baseline",
         lambda: stages.baseline(store, "train", out / "baseline", config(budget.baseline),
                                 budget.model, **quiet),
         train_rows, budget.baseline["epochs"]),
        ("stage 1: cold start", out / "cold-start",
         lambda: stages.cold_start(corpus, small, out / "cold-start", config(budget.stage1),
                                   budget.model, **quiet),
         train_rows * budget.multiplier, budget.stage1["epochs"]),
        ("stage 2: distillation", out / "distill",
         lambda: stages.distill(out / "cold-start", corpus, small, out / "distill",
                                config(budget.stage2), **quiet),
         train_rows, budget.stage2["epochs"]),
    ]  # fmt: skip
    for name, path, train, per_epoch, max_epochs in plan:
        record = _stage(name, path, train, device)
        speed = record["samples_per_second"][-1]  # the last epoch: warmed up
        record["projected_hours_at_100pct"] = round(max_epochs * per_epoch / speed / 3600, 2)
        result["stages"].append(record)
        keep()
    return result


def show(result: dict[str, Any], console: Console) -> None:
    table = Table(
        title=f"`full` budget, {result['dims']}-d, {result['device']} (torch {result['torch']})",
        title_justify="left",
    )
    for column in ("stage", "epochs", "samples/s per epoch", "peak GPU GiB", "h at 100 %"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for record in result["stages"]:
        speeds = " · ".join(f"{s:,.0f}" for s in record["samples_per_second"])
        table.add_row(
            record["stage"], str(record["epochs"]), speeds, f"{record['peak_gib']:.2f}",
            f"{record['projected_hours_at_100pct']:.2f}",
        )  # fmt: skip
    console.print(table)
    console.print(f"set-up seconds: {result['times']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="store, corpus and runs")
    parser.add_argument("--epochs", type=int, default=2, help="epochs each stage trains")
    parser.add_argument("--corpus-fraction", type=float, default=0.1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument("--dims", default=f"{VIDEO_DIM},{TEXT_DIM}", help="video,text dims")
    args = parser.parse_args()
    video_dim, text_dim = (int(part) for part in args.dims.split(","))
    dims = (video_dim, text_dim)
    result = run(args.out, args.epochs, args.corpus_fraction, args.device, dims, args.json)
    show(result, Console())


if __name__ == "__main__":
    main()
