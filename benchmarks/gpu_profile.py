"""Where a GPU training step's time goes: a torch profile of the reference model's step at
2816/512-d, batch 32, bf16 autocast (the batches of benchmarks/train.py). Needs CUDA.

    python -m benchmarks.gpu_profile [--steps 25]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.profiler import ProfilerActivity, profile

from amr.train import Criterion, LossConfig, ModelConfig, MomentDETR
from amr.train.engine import train_step
from benchmarks.train import synthetic_batch

WARM_UP = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=25)
    steps = parser.parse_args().steps
    device = torch.device("cuda")
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    model = MomentDETR(ModelConfig(video_dim=2816, text_dim=512)).to(device)
    criterion = Criterion(LossConfig())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batches = [synthetic_batch(2816, 512, generator) for _ in range(WARM_UP + steps)]
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
