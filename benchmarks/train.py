"""Training step throughput, before and after issue 53's options, in one run: the reference
model (d=256, 10 queries, 2/4 layers) at real dims (2816/512) and the `cpu` budget's model
(d=128, 2/2 layers) at the demo's dims (128/64), batch 32 (one row at 128, the lr scaled by
the square-root rule), on this machine's CPU (and in `make bench-gpu` on CUDA, bf16
autocast).

Batches are synthetic tensors of the training batch's shapes (75 clips, 32 words, one or two
moments), so the table is the model + losses + optimiser alone; the input pipeline has its own
table. On the CPU the step is float32 unless the variant says --cpu-bf16 (bf16 autocast; fast
only on CPUs with AMX or AVX-512 BF16). Each row also counts, per step, the operators
dispatched and the dtype casts among them (torch.profiler), and on CUDA the kernel launches.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, replace
from typing import NamedTuple

import torch

from amr.train import Criterion, LossConfig, ModelConfig, MomentDETR
from amr.train.batch import Batch
from amr.train.config import TrainConfig, sqrt_scaled_lr
from amr.train.dropout import use_fast_dropout
from amr.train.engine import adamw, compiled, train_step
from amr.train.text import MAX_WORDS

BATCH, CLIPS, WORDS, STEPS, ROUNDS = 32, 75, 20, 4, 3
CPU_BUDGET_MODEL = {"hidden": 128, "heads": 4, "ffn": 256, "encoder_layers": 2, "decoder_layers": 2}


@dataclass(frozen=True)
class Variant:
    """A way to run the step: issue 53's options, or (`loop_adamw`) the optimiser as before."""

    name: str
    fast_dropout: bool = False
    fused_adamw: bool = False
    compile: bool = False
    cpu_bf16: bool = False
    loop_adamw: bool = False  # AdamW's per-parameter loop, as before issue 53 (losses are today's)
    batch_size: int = BATCH  # larger: more samples a step, with the lr scaled (docs/train.md)


BEFORE = Variant("before (per-parameter AdamW)", loop_adamw=True)
DEFAULT = Variant("default (foreach AdamW)")
FASTEST_CPU = Variant("--fast-dropout --fused-adamw --cpu-bf16", fast_dropout=True,
                      fused_adamw=True, cpu_bf16=True)  # fmt: skip
LARGE_BATCH_CPU = replace(FASTEST_CPU, name=f"{FASTEST_CPU.name} --batch-size 128", batch_size=128)
CPU_VARIANTS = (BEFORE, DEFAULT, Variant("--fast-dropout", fast_dropout=True),
                Variant("--cpu-bf16", cpu_bf16=True), FASTEST_CPU, LARGE_BATCH_CPU,
                Variant("--compile", compile=True))  # fmt: skip
GPU_VARIANTS = (BEFORE, DEFAULT, Variant("--fused-adamw", fused_adamw=True),
                Variant("--compile", compile=True),
                Variant("--compile --fused-adamw", compile=True, fused_adamw=True))  # fmt: skip


def synthetic_batch(
    video_dim: int, text_dim: int, generator: torch.Generator, size: int = BATCH
) -> Batch:
    """A batch of the loader's shapes, padded to MAX_WORDS as --compile's static shapes are."""
    counts = torch.randint(1, 3, (size,), generator=generator)
    centers = torch.rand(int(counts.sum()), generator=generator) * 0.6 + 0.2
    widths = torch.rand(int(counts.sum()), generator=generator) * 0.2 + 0.05
    levels = torch.zeros(size, CLIPS, dtype=torch.int8)
    levels[:, 20:30] = 6
    negative = torch.zeros(size, CLIPS, dtype=torch.bool)
    negative[:, 40:50] = True  # a wrong span
    text_mask = torch.zeros(size, MAX_WORDS, dtype=torch.bool)
    text_mask[:, :WORDS] = True
    text = torch.randn(size, MAX_WORDS, text_dim, generator=generator) * text_mask[..., None]
    return Batch(
        video=torch.randn(size, CLIPS, video_dim, generator=generator).half(),
        video_mask=torch.ones(size, CLIPS, dtype=torch.bool),
        text=text.half(),
        text_mask=text_mask,
        spans=torch.stack([centers, widths], dim=1),
        span_counts=counts,
        saliency_levels=levels,
        negative_clips=negative,
        saliency_pos=torch.full((size, 2), 25),
        saliency_neg=torch.full((size, 2), 60),
        sample_id=torch.arange(size),
        qid=torch.arange(size),
        duration=torch.full((size,), 150.0, dtype=torch.float64),
        first_clip=torch.zeros(size, dtype=torch.int64),
    )


class Training(NamedTuple):
    """What a benchmark trains: the model (compiled for --compile), its criterion and
    optimiser, and its batches."""

    model: torch.nn.Module
    criterion: Criterion
    optimizer: torch.optim.Optimizer
    batches: list[Batch]


def reference_training(
    video_dim: int,
    text_dim: int,
    device: torch.device,
    count: int,
    variant: Variant = DEFAULT,
    model_options: dict | None = None,
) -> Training:
    """The model (`model_options` over the reference's) on `device` as `variant` trains it,
    its criterion and optimiser, and `count` batches, all seeded (also used by
    benchmarks/gpu_profile.py)."""
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    config = ModelConfig(video_dim=video_dim, text_dim=text_dim, **(model_options or {}))
    model = use_fast_dropout(MomentDETR(config).to(device), variant.fast_dropout)
    lr = sqrt_scaled_lr(1e-4, variant.batch_size, BATCH)
    if variant.loop_adamw:
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, foreach=False)
    else:
        settings = TrainConfig(lr=lr, weight_decay=0.01, fused_adamw=variant.fused_adamw)
        optimizer = adamw(model, settings)
    trained = compiled(model, device) if variant.compile else model
    batches = [
        synthetic_batch(video_dim, text_dim, generator, variant.batch_size) for _ in range(count)
    ]
    return Training(trained, Criterion(LossConfig()), optimizer, batches)


@dataclass
class StepFigures:
    ms_per_step: float
    samples_per_second: float
    warm_up_s: float  # the first two steps (compiling, for --compile)
    losses: list[float]  # each timed step's total loss (for correctness checks)


def measure(
    video_dim: int,
    text_dim: int,
    device: torch.device,
    variant: Variant,
    model_options: dict | None = None,
    steps: int = STEPS,
) -> StepFigures:
    """Two warm-up steps, then `steps` timed ones (bf16 autocast on CUDA)."""
    return measure_rounds(video_dim, text_dim, device, (variant,), model_options, steps, 1)[0]


def measure_rounds(
    video_dim: int,
    text_dim: int,
    device: torch.device,
    variants: tuple[Variant, ...],
    model_options: dict | None = None,
    steps: int = STEPS,
    rounds: int = ROUNDS,
) -> list[StepFigures]:
    """Each variant warmed up, then `rounds` times `steps` timed steps of each in turn: a
    variant's time is the median of its rounds, so a machine that slows down for a while
    (other work, clocks) slows every variant alike rather than the one it happened to time."""
    trainings = [
        reference_training(video_dim, text_dim, device, steps + 2, v, model_options)
        for v in variants
    ]
    # two batches warm up, the others are timed
    warm_ups = [_timed(training, training.batches[:2], device, v)[0]
                for training, v in zip(trainings, variants, strict=True)]  # fmt: skip
    seconds: list[list[float]] = [[] for _ in variants]
    losses: list[list[float]] = [[] for _ in variants]
    for _ in range(rounds):
        for i, (training, variant) in enumerate(zip(trainings, variants, strict=True)):
            took, totals = _timed(training, training.batches[2:], device, variant)
            seconds[i].append(took / steps)
            losses[i] = losses[i] or totals  # the first round's (the checks compare them)
    figures = []
    for variant, warm_up, took, totals in zip(variants, warm_ups, seconds, losses, strict=True):
        median = statistics.median(took)
        figures.append(StepFigures(median * 1000, variant.batch_size / median, warm_up, totals))
    return figures


def _timed(
    training: Training, batches: list[Batch], device: torch.device, variant: Variant
) -> tuple[float, list[float]]:
    """(seconds, each step's total loss) of `training`'s steps on `batches`."""
    model, criterion, optimizer, _ = training
    started = time.perf_counter()
    totals = [
        train_step(model, criterion, optimizer, batch, device, 0.1, variant.cpu_bf16)["total"]
        for batch in batches
    ]
    _sync(device)
    return time.perf_counter() - started, [float(t) for t in totals]


def op_counts(
    video_dim: int,
    text_dim: int,
    device: torch.device,
    variant: Variant = DEFAULT,
    model_options: dict | None = None,
    steps: int = 3,
) -> dict:
    """Per training step, from torch.profiler: operators dispatched (every `aten::` call,
    nested ones included), of them dtype casts (`aten::_to_copy`), and on CUDA kernel
    launches. What issue 53's goals are counted in; none needs a GPU but the launches."""
    from torch.profiler import ProfilerActivity, profile

    model, criterion, optimizer, batches = reference_training(
        video_dim, text_dim, device, 2 + steps, variant, model_options
    )
    for batch in batches[:2]:  # warm-up
        train_step(model, criterion, optimizer, batch, device, 0.1, variant.cpu_bf16)
    activities = [ProfilerActivity.CPU] + [ProfilerActivity.CUDA] * (device.type == "cuda")
    with profile(activities=activities) as profiled:
        for batch in batches[2:]:
            train_step(model, criterion, optimizer, batch, device, 0.1, variant.cpu_bf16)
        _sync(device)
    names = [event.name for event in profiled.events()]
    launches = sum(name in ("cudaLaunchKernel", "cuLaunchKernel", "cudaGraphLaunch")
                   for name in names)  # fmt: skip
    return {
        "ops": sum(name.startswith("aten::") for name in names) / steps,
        "casts": sum(name == "aten::_to_copy" for name in names) / steps,
        "launches": launches / steps if device.type == "cuda" else None,
    }


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


MODELS = (("reference", 2816, 512, None), ("cpu budget", 128, 64, CPU_BUDGET_MODEL))


def step_rows(
    device: torch.device,
    variants: tuple[Variant, ...],
    steps: int = STEPS,
    models: tuple[tuple[str, int, int, dict | None], ...] = MODELS,
    rounds: int = ROUNDS,
) -> tuple[list[tuple[str, ...]], dict[tuple[str, int], StepFigures]]:
    """One row per model and variant, each compared with `variants[0]` (the `before`) and
    its warm-up with the default's; times from measure_rounds, operators and peak memory
    from op_counts. `models`: (name, video dim, text dim, model options)."""
    rows, figures = [], {}
    what = "CPU" if device.type == "cpu" else f"{torch.cuda.get_device_name(device)} bf16"
    for model_name, video_dim, text_dim, options in models:
        measured_all = measure_rounds(video_dim, text_dim, device, variants, options, steps, rounds)
        for variant, measured in zip(variants, measured_all, strict=True):
            figures[variant.name, video_dim] = measured
            if device.type == "cuda":  # the peak of this variant's steps alone
                torch.cuda.reset_peak_memory_stats(device)
            counts = op_counts(video_dim, text_dim, device, variant, options)
            before = figures[variants[0].name, video_dim]
            memory = ""
            if device.type == "cuda":
                memory = f" · peak {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB"
            launches = (
                "" if counts["launches"] is None else f" · {counts['launches']:,.0f} launches"
            )
            rows.append(
                (
                    f"{model_name} model, {video_dim}/{text_dim}-d, {what}: {variant.name}",
                    f"{measured.ms_per_step:.0f} ms/step",
                    f"{measured.samples_per_second:,.0f} samples/s{memory}",
                    f"{measured.samples_per_second / before.samples_per_second:.2f}×",
                    f"{counts['ops']:,.0f} ops ({counts['casts']:,.0f} casts){launches}",
                    _break_even(measured, figures.get((DEFAULT.name, video_dim), measured)),
                )
            )
    return rows, figures


def _break_even(variant: StepFigures, default: StepFigures) -> str:
    """Warm-up beyond the default's, and the steps it takes the variant to earn it back."""
    extra = variant.warm_up_s - default.warm_up_s
    if extra < 1:
        return ""
    saved = (default.ms_per_step - variant.ms_per_step) / 1000
    steps = "never" if saved <= 0 else f"after {extra / saved:,.0f} steps"
    return f"warm-up +{extra:.0f} s; pays {steps}"


def run() -> tuple[list[tuple[str, ...]], dict]:
    rows, figures = step_rows(torch.device("cpu"), CPU_VARIANTS)
    fastest = figures[FASTEST_CPU.name, 2816]
    headline = {
        "stage": "training step: reference model, 2816/512-d, batch 32, CPU",
        "figure": f"{figures[DEFAULT.name, 2816].samples_per_second:,.0f} samples/s fp32; "
        f"{FASTEST_CPU.name} {fastest.samples_per_second:,.0f}",
        "comparison": "per-parameter AdamW, as before issue 53: "
        f"{figures[BEFORE.name, 2816].samples_per_second:,.0f} samples/s; "
        "cpu budget model (128/64-d): "
        f"{figures[BEFORE.name, 128].samples_per_second:,.0f} before, "
        f"{figures[FASTEST_CPU.name, 128].samples_per_second:,.0f} with {FASTEST_CPU.name}, "
        f"{figures[LARGE_BATCH_CPU.name, 128].samples_per_second:,.0f} at batch "
        f"{LARGE_BATCH_CPU.batch_size}",
    }
    return rows, headline
