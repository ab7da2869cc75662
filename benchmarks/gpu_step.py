"""`make bench-gpu`: on a machine with a GPU, in one short run, check that each of issue 53's
options trains as the default does, then measure the training step before and after them
(ms/step, samples/s, kernel launches per step, peak memory, compile time).

    python -m benchmarks.gpu_step [--device cuda] [--steps 20] [--json FILE]

The check trains each option for a few steps without dropout on the same batches as the
default and compares the losses (bf16 autocast: to 2 %). An option that fails it (or raises)
is reported, left out of the timing, and makes the command exit 1 at the end. `--device cpu`
runs the same on the CPU (slowly; the test suite checks the eager options with a small model).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from benchmarks.train import BEFORE, DEFAULT, GPU_VARIANTS, Variant, measure, step_rows

NO_DROPOUT = {"dropout": 0.0, "input_dropout": 0.0}
TOLERANCE = 0.02  # relative, per step's total loss (bf16 autocast rounds differently per kernel)


def check(
    device: torch.device,
    variants: tuple[Variant, ...],
    steps: int,
    dims: tuple[int, int] = (2816, 512),
    model_options: dict | None = None,
) -> list[tuple[str, bool, str]]:
    """(variant, passed, how far) for each variant: its losses over `steps` steps against the
    default's, every one finite and within TOLERANCE."""
    options = {**NO_DROPOUT, **(model_options or {})}
    default = measure(*dims, device, DEFAULT, options, steps).losses
    results = []
    for variant in variants:
        try:
            losses = measure(*dims, device, variant, options, steps).losses
        except Exception as error:  # a lent GPU's minutes are few: report it, time the rest
            results.append((variant.name, False, f"failed: {type(error).__name__}: {error}"))
            continue
        worst = max(abs(a - b) / max(abs(b), 1e-6) for a, b in zip(losses, default, strict=True))
        finite = all(math.isfinite(x) for x in losses)
        results.append((variant.name, finite and worst <= TOLERANCE, f"{worst:.2%}"))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("bench-gpu: this python's torch sees no CUDA device (torch.cuda.is_available())")
    console = Console()
    checked = check(device, GPU_VARIANTS, max(args.steps // 4, 3))
    table = Table(title="each option trains as the default (losses, no dropout)",
                  title_justify="left")  # fmt: skip
    for column in ("option", "largest loss difference", "passed"):
        table.add_column(column)
    for name, passed, worst in checked:
        table.add_row(name, worst, "yes" if passed else "[red]NO[/]")
    console.print(table)
    passed = {name for name, ok, _ in checked if ok}
    timed = tuple(v for v in GPU_VARIANTS if v.name in passed or v in (BEFORE, DEFAULT))
    rows, _ = step_rows(device, timed, args.steps)
    table = Table(title=f"training step, batch 32 × 75 clips, {args.steps} steps",
                  title_justify="left")  # fmt: skip
    for column in ("what", "time", "speed", "vs before", "operators per step", "compiling"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"check": checked, "rows": rows}, indent=1))
    if len(passed) < len(checked):
        sys.exit(1)


if __name__ == "__main__":
    main()
