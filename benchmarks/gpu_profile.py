"""Where a GPU training step's time goes: a torch profile of the reference model's step at
2816/512-d, batch 32, bf16 autocast (the batches of benchmarks/train.py). Needs CUDA.

    python -m benchmarks.gpu_profile [--steps 25]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.profiler import ProfilerActivity, profile

from amr.train.engine import train_step
from benchmarks.train import reference_training

WARM_UP = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=25)
    steps = parser.parse_args().steps
    device = torch.device("cuda")
    model, criterion, optimizer, batches = reference_training(2816, 512, device, WARM_UP + steps)
    for batch in batches[:WARM_UP]:
        train_step(model, criterion, optimizer, batch, device, 0.1)
    torch.cuda.synchronize(device)
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as profiled:
        started = time.perf_counter()
        for batch in batches[WARM_UP:]:
            train_step(model, criterion, optimizer, batch, device, 0.1)
        torch.cuda.synchronize(device)
        print(f"{(time.perf_counter() - started) / steps * 1000:.1f} ms/step under the profiler")
    averages = profiled.key_averages()
    print(averages.table(sort_by="self_cpu_time_total", row_limit=25))
    print(averages.table(sort_by="cuda_time_total", row_limit=8))


if __name__ == "__main__":
    main()
