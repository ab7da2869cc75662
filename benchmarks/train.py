"""Training step throughput of the reference-size model (d=256, 10 queries, 2/4 layers) on
this machine's CPU, at real dims (2816/512) and at the demo's (128/64), batch 32.

Batches are synthetic tensors of the training batch's shapes (75 clips, 20 words, one or two
moments), so the table is the model + losses + optimiser alone; the input pipeline has its own
table. On a GPU this is where bf16 autocast applies; no GPU was available when it was written.
"""

from __future__ import annotations

import time

import torch

from amr.train import Criterion, LossConfig, ModelConfig, MomentDETR
from amr.train.batch import Batch
from amr.train.engine import train_step

BATCH, CLIPS, WORDS, STEPS = 32, 75, 20, 6


def synthetic_batch(video_dim: int, text_dim: int, generator: torch.Generator) -> Batch:
    counts = torch.randint(1, 3, (BATCH,), generator=generator)
    centers = torch.rand(int(counts.sum()), generator=generator) * 0.6 + 0.2
    widths = torch.rand(int(counts.sum()), generator=generator) * 0.2 + 0.05
    levels = torch.zeros(BATCH, CLIPS, dtype=torch.int8)
    levels[:, 20:30] = 6
    negative = torch.zeros(BATCH, CLIPS, dtype=torch.bool)
    negative[:, 40:50] = True  # a wrong span
    return Batch(
        video=torch.randn(BATCH, CLIPS, video_dim, generator=generator).half(),
        video_mask=torch.ones(BATCH, CLIPS, dtype=torch.bool),
        text=torch.randn(BATCH, WORDS, text_dim, generator=generator).half(),
        text_mask=torch.ones(BATCH, WORDS, dtype=torch.bool),
        spans=torch.stack([centers, widths], dim=1),
        span_counts=counts,
        saliency_levels=levels,
        negative_clips=negative,
        saliency_pos=torch.full((BATCH, 2), 25),
        saliency_neg=torch.full((BATCH, 2), 60),
        sample_id=torch.arange(BATCH),
        qid=torch.arange(BATCH),
        duration=torch.full((BATCH,), 150.0, dtype=torch.float64),
        first_clip=torch.zeros(BATCH, dtype=torch.int64),
    )


def reference_training(
    video_dim: int, text_dim: int, device: torch.device, count: int
) -> tuple[MomentDETR, Criterion, torch.optim.Optimizer, list[Batch]]:
    """The reference model on `device`, its criterion and optimiser, and `count` batches, all
    seeded (also used by benchmarks/gpu_profile.py)."""
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    model = MomentDETR(ModelConfig(video_dim=video_dim, text_dim=text_dim)).to(device)
    criterion = Criterion(LossConfig())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batches = [synthetic_batch(video_dim, text_dim, generator) for _ in range(count)]
    return model, criterion, optimizer, batches


def _speed(video_dim: int, text_dim: int, device: torch.device) -> float:
    """Samples/s of the reference model's training step (bf16 autocast on CUDA)."""
    steps = STEPS if device.type == "cpu" else 10 * STEPS
    model, criterion, optimizer, batches = reference_training(
        video_dim, text_dim, device, steps + 2
    )
    for batch in batches[:2]:  # warm-up
        train_step(model, criterion, optimizer, batch, device, 0.1)
    _sync(device)
    start = time.perf_counter()
    for batch in batches[2:]:
        train_step(model, criterion, optimizer, batch, device, 0.1)
    _sync(device)
    return BATCH * steps / (time.perf_counter() - start)


def op_counts(video_dim: int, text_dim: int, device: torch.device, steps: int = 3) -> dict:
    """Per training step, from torch.profiler: operators dispatched (every `aten::` call,
    nested ones included), of them dtype casts (`aten::_to_copy`), and on CUDA kernel
    launches. What issue 53's goals are counted in; none needs a GPU but the launches."""
    from torch.profiler import ProfilerActivity, profile

    model, criterion, optimizer, batches = reference_training(
        video_dim, text_dim, device, 2 + steps
    )
    for batch in batches[:2]:  # warm-up
        train_step(model, criterion, optimizer, batch, device, 0.1)
    activities = [ProfilerActivity.CPU] + [ProfilerActivity.CUDA] * (device.type == "cuda")
    with profile(activities=activities) as profiled:
        for batch in batches[2:]:
            train_step(model, criterion, optimizer, batch, device, 0.1)
        _sync(device)
    names = [event.name for event in profiled.events()]
    launches = sum(name in ("cudaLaunchKernel", "cuLaunchKernel") for name in names)
    return {
        "ops": sum(name.startswith("aten::") for name in names) / steps,
        "casts": sum(name == "aten::_to_copy" for name in names) / steps,
        "launches": launches / steps if device.type == "cuda" else None,
    }


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run() -> tuple[list[tuple[str, ...]], dict]:
    rows, speeds = [], {}
    targets = [("cpu", 2816, 512), ("cpu", 128, 64)]
    if torch.cuda.is_available():
        targets.insert(0, ("cuda", 2816, 512))
    for name, video_dim, text_dim in targets:
        device = torch.device(name)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        speed = speeds[name, video_dim] = _speed(video_dim, text_dim, device)
        what = "CPU fp32" if name == "cpu" else f"{torch.cuda.get_device_name(device)} bf16"
        memory = ""
        if device.type == "cuda":
            memory = f" · peak {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB"
        counts = op_counts(video_dim, text_dim, device)
        launches = "" if counts["launches"] is None else f" · {counts['launches']:,.0f} launches"
        rows.append(
            (
                f"train step, reference model, {video_dim}/{text_dim}-d, {what}",
                f"batch {BATCH} × {CLIPS} clips",
                f"{BATCH / speed * 1000:.0f} ms/step",
                f"{speed:,.0f} samples/s{memory}",
                f"{counts['ops']:,.0f} ops ({counts['casts']:,.0f} casts){launches}",
            )
        )
    comparison = f"128/64-d: {speeds['cpu', 128]:,.0f} samples/s"
    if ("cuda", 2816) in speeds:
        comparison = f"GPU bf16: {speeds['cuda', 2816]:,.0f} samples/s; " + comparison
    headline = {
        "stage": "training step: reference model, 2816/512-d, batch 32, CPU fp32",
        "figure": f"{speeds['cpu', 2816]:,.0f} samples/s",
        "comparison": comparison,
    }
    return rows, headline
