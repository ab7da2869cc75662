"""The training loop every stage shares: a `Stage` says what to read and what to learn, a
`RunSpec` the settings; the engine runs epochs of plans, steps, checkpoints, validates and
resumes. On the CPU a resumed run equals an uninterrupted one, batch for batch, on the same
kind of machine; every epoch's line in metrics.jsonl names the machine that trained it.

Under torchrun each process is one rank (DDP): ranks read their windows of one plan and take
equal steps; rank 0 validates and writes the run directory.
"""

from __future__ import annotations

import contextlib
import json
import time
import warnings
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from amr.console import stderr_console
from amr.datasets.store import Store
from amr.device import Ranks, autocast, describe_machine, joined, slow_bf16_warning
from amr.errors import AmrError, Interrupted
from amr.fileio import is_replacement_dir
from amr.train.batch import Batch
from amr.train.checkpoint import BEST, LAST, checkpoint_body, load_checkpoint, save_checkpoint
from amr.train.config import TrainConfig
from amr.train.curriculum import EpochPlan, plan_epoch
from amr.train.data import RowSource, Waited, iterate_batches
from amr.train.dropout import use_fast_dropout
from amr.train.interrupt import StopRequest
from amr.train.model import MomentDETR
from amr.train.rundir import (
    RunOptions,
    append_metrics,
    check_resumable,
    finish_run_dir,
    new_run_dir,
    read_metrics,
    resumed_run_dir,
    start_run_dir,
    tensorboard,
)
from amr.train.spec import RunSpec, Stage, saved_spec_json
from amr.train.steps import batch_sizes, position, step_limits
from amr.train.validation import SHOWN_METRIC, Validation, best_value, epochs_since_best
from amr.writer_lock import exclusive_output


@dataclass(frozen=True)
class RunSummary:
    out: Path
    epochs: int
    steps: int
    best: float | None  # the best validation value best.pt was chosen by (validation.py)
    last_metrics: dict[str, Any]
    samples_per_second: float


def run(stage: Stage, spec: RunSpec, options: RunOptions) -> RunSummary:
    """Train `stage` with `spec` into the run directory `options.out`."""
    with (
        joined(spec.train.device) as ranks,
        # One writer per run directory: rank 0 writes it, so rank 0 holds its lock.
        exclusive_output(options.out) if ranks.main else contextlib.nullcontext(),
    ):
        return _train(stage, spec, options, ranks)


@dataclass
class _Run:
    """A run in training: what every epoch reads, and what the epochs change."""

    spec: RunSpec
    source: RowSource
    ranks: Ranks
    model: MomentDETR
    trained: torch.nn.Module  # the model as trained (DDP-wrapped across ranks)
    criterion: torch.nn.Module
    optimizer: Any
    scheduler: Any
    pacing: Any
    into: Path  # the run directory being written (beside `out` while it replaces a run)
    machine: str
    validation: Validation | None
    board: Any
    step: int = 0
    best: float | None = None
    history: list[float | None] = field(default_factory=list)  # the chosen val metric
    metrics: dict[str, Any] = field(default_factory=dict)  # the last validation's
    seen: int = 0  # this process's samples, for its throughput

    def plan_of(self, epoch: int, rank: int | None = None) -> EpochPlan:
        config, ranks = self.spec.train, self.ranks
        return plan_epoch(
            self.source.eligible_at(epoch), epoch, config.seed, self.pacing,
            self.source.config.window_rows, ranks.rank if rank is None else rank, ranks.world,
        )  # fmt: skip

    def batch_sizes_of(self, epoch: int) -> list[int]:
        """Samples (all ranks together) of each step of an epoch. Every rank takes the same
        number of steps: the fewest any rank's windows give."""
        ranks = self.ranks
        per_rank = [batch_sizes(self.plan_of(epoch, r), self.source) for r in range(ranks.world)]
        return [sum(sizes) for sizes in zip(*per_rank, strict=False)]

    def save(self, name: str, cursor: tuple[int, int]) -> None:
        spec = self.spec
        body = checkpoint_body(
            spec.stage, json.dumps(spec.to_json()), self.model, self.optimizer, self.scheduler,
            cursor, self.step, self.best,
        )  # fmt: skip
        save_checkpoint(self.into / name, body)


@dataclass
class _Epoch:
    """What an epoch's steps leave for its end."""

    epoch: int
    plan: EpochPlan
    started: float
    resumed_at: int  # batches trained before a resume inside this epoch
    done: int  # batches trained, those included
    seen: int  # samples, those included
    resumed_seen: int
    totals: dict[str, torch.Tensor]  # loss sums over the batches this process trained
    waited: float = 0.0  # seconds the steps waited for the loader's batches


def train_one_epoch(
    run: _Run, epoch: int, first: int, limit: int, stop: StopRequest, progress: Progress, task
) -> _Epoch:
    """The epoch's batches from batch `first` up to `limit`; a stop request saves last.pt at
    the batch and stops."""
    config, source, ranks = run.spec.train, run.source, run.ranks
    plan = run.plan_of(epoch)
    done = first
    # A run resumed inside this epoch trained its first batches before it stopped: they
    # count in the epoch's samples (real-repeat matches stage 1's samples).
    result = _Epoch(epoch, plan, time.perf_counter(), first, first, 0, 0, {})
    result.seen = result.resumed_seen = sum(batch_sizes(plan, source)[:done]) if done else 0
    run.trained.train()
    start = position(plan, source, done)
    step = partial(train_step, run.trained, run.criterion, run.optimizer)
    batches = Waited(iterate_batches(source, plan, start, ranks.device.type == "cuda"))
    for _, batch in batches:
        if done >= limit:
            break
        terms = step(batch, ranks.device, config.grad_clip, config.cpu_bf16)
        for name, value in terms.items():
            result.totals[name] = result.totals.get(name, 0) + value
        done, run.step = done + 1, run.step + 1
        result.done = done
        result.seen += len(batch)
        progress.advance(task)
        if run.step % 10 == 0:  # reading the loss waits for the device: not every step
            progress.update(
                task, description=_describe(epoch, config, run.step, terms, run.metrics)
            )
        if ranks.main and config.checkpoint_every and run.step % config.checkpoint_every == 0:
            run.save(LAST, (epoch, done))
        if stop.signal:
            run.save(LAST, (epoch, done))
            raise _interrupted(stop.signal, run.into, epoch, done)
    result.waited = batches.seconds
    return result


def end_of_epoch(run: _Run, result: _Epoch, progress: Progress, task) -> None:
    """The learning-rate schedule's step, then on rank 0: the metrics line, validation,
    best.pt when it improved, TensorBoard and last.pt."""
    config, ranks, epoch = run.spec.train, run.ranks, result.epoch
    with warnings.catch_warnings():  # a run resumed at an epoch's end steps no batch
        warnings.filterwarnings("ignore", "Detected call of `lr_scheduler.step", UserWarning)
        run.scheduler.step()
    seen, resumed_seen = ranks.total(result.seen), ranks.total(result.resumed_seen)
    run.seen += seen - resumed_seen
    seconds = time.perf_counter() - result.started
    if not ranks.main:
        return
    trained = max(result.done - result.resumed_at, 1)
    line: dict[str, Any] = {
        "epoch": epoch,
        "steps": run.step,
        "samples": seen,
        "pool_groups": result.plan.pool_groups,
        "seconds": round(seconds, 3),
        "samples_per_second": round((seen - resumed_seen) / max(seconds, 1e-9), 1),
        "waiting_for_data_s": round(result.waited, 3),
        "loss": {k: round(float(v) / trained, 5) for k, v in result.totals.items()},
        "machine": run.machine,
    }
    if run.validation is not None:
        run.metrics = run.validation.run(run.model, ranks.device)
        line["val"] = run.metrics
        chosen = _chosen(run.metrics)
        run.history.append(chosen)
        if chosen is not None and (run.best is None or chosen > run.best):
            run.best = chosen
            run.save(BEST, (epoch + 1, 0))
    append_metrics(run.into, line)
    if run.board is not None:
        for name, value in {**line["loss"], **line.get("val", {})}.items():
            if value is not None:
                run.board.add_scalar(name, value, epoch + 1)
        run.board.flush()
    run.save(LAST, (epoch + 1, 0))
    progress.update(task, description=_describe(epoch, config, run.step, {}, run.metrics))


def _train(stage: Stage, spec: RunSpec, options: RunOptions, ranks: Ranks) -> RunSummary:
    source = stage.rows(spec, spec.loader_config())
    config, out = spec.train, options.out
    spec_json = spec.to_json()
    torch.manual_seed(config.seed)
    model, criterion = stage.build(spec, ranks.device, not options.resume)
    use_fast_dropout(model, config.fast_dropout)
    optimizer = adamw(model, config)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, config.lr_drop)
    cursor, step, best = (0, 0), 0, None
    validation = None  # built before the run directory is touched: a bad split changes nothing
    if ranks.main and config.val_split:
        validation = Validation(Store.open(spec.store), config.val_split, source.config.max_words)
    if options.resume:
        into = resumed_run_dir(out)
        cursor, step, best = _resume(into, spec_json, model, optimizer, scheduler)
    else:
        into = new_run_dir(out, options.overwrite)
        ranks.barrier()  # every rank has looked at `out` before rank 0 writes
        if ranks.main:
            start_run_dir(into, spec_json)
    ranks.barrier()
    earlier = read_metrics(into) if options.resume else []
    run = _Run(
        spec, source, ranks, model, trained_form(model, ranks, config), criterion, optimizer,
        scheduler,
        config.pacing_schedule() if stage.paced else None, into, describe_machine(ranks.device),
        validation, tensorboard(into) if ranks.main else None, step, best,
        [_chosen(line.get("val", {})) for line in earlier],
    )  # fmt: skip
    if ranks.main:
        _warn_if_machine_changed(into, earlier, run.machine)
        if warning := slow_bf16_warning(ranks.device, config.cpu_bf16):
            stderr_console().print(f"[yellow]warning:[/] {warning}")
    trained_epochs = cursor[0]
    started = time.perf_counter()
    limits = step_limits(config, run.batch_sizes_of)
    if _plateaued(config, run.history):  # a resumed run that had stopped on its plateau
        limits = limits[: cursor[0]]
    progress = _progress(options.show_progress and ranks.main)
    task = progress.add_task(spec.stage, total=sum(limits), completed=run.step)
    with StopRequest(enabled=ranks.world == 1) as stop, progress:
        for epoch in range(cursor[0], len(limits)):
            first = cursor[1] if epoch == cursor[0] else 0
            result = train_one_epoch(run, epoch, first, limits[epoch], stop, progress, task)
            end_of_epoch(run, result, progress, task)
            trained_epochs = epoch + 1
            if stop.signal:  # arrived during validation: last.pt already holds the epoch
                raise _interrupted(stop.signal, into, epoch + 1, 0)
            plateau = _plateaued(config, run.history)
            if ranks.total(int(plateau and ranks.main)):  # rank 0 decides; every rank stops
                break
    elapsed = time.perf_counter() - started
    if run.board is not None:
        run.board.close()
    if ranks.main:
        finish_run_dir(into, out)
    ranks.barrier()
    return RunSummary(
        out, trained_epochs, run.step, run.best, run.metrics, run.seen / max(elapsed, 1e-9)
    )


def _interrupted(signal_name: str, into: Path, epoch: int, done: int) -> Interrupted:
    where = f"after batch {done} of epoch {epoch + 1}" if done else f"after epoch {epoch}"
    replacing = " (the replacement; the earlier run is untouched)" * is_replacement_dir(into)
    return Interrupted(
        f"{signal_name}: saved {into / LAST}{replacing} {where}; continue with --resume "
        "(the same command)"
    )


def _plateaued(config: TrainConfig, history: list[float | None]) -> bool:
    return bool(config.patience) and epochs_since_best(history) >= config.patience


def _chosen(metrics: dict[str, Any]) -> float | None:
    chosen = best_value(metrics)
    return None if chosen is None else chosen[1]


def trained_form(model: MomentDETR, ranks: Ranks, config: TrainConfig) -> torch.nn.Module:
    """The model as the optimisation steps call it: DDP-wrapped across ranks, and compiled
    with `compile` (checkpoints and validation use the model itself)."""
    trained = ranks.wrap(model)
    return compiled(trained, ranks.device) if config.compile else trained


def compiled(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """torch.compile (inductor's fused kernels); on CUDA with CUDA graphs as well (mode
    reduce-overhead), which replay a step's thousands of kernel launches as a few."""
    return torch.compile(model, mode="reduce-overhead" if device.type == "cuda" else "default")


def adamw(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW over every parameter at once: torch's multi-tensor (foreach) kernels, which give
    the per-parameter loop's numbers to the bit on the CPU (1.06x its speed there; on CUDA a
    few launches instead of ten a parameter); or, with `fused_adamw`, one fused kernel
    (fewest launches, but it rounds differently)."""
    fused = {"fused": True} if config.fused_adamw else {"foreach": True}
    return torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay, **fused
    )


def train_step(
    model: torch.nn.Module,
    criterion: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    batch: Batch,
    device: torch.device,
    grad_clip: float,
    cpu_bf16: bool = False,
) -> dict[str, torch.Tensor]:
    """One optimisation step on a loader batch; the model in bf16 autocast on CUDA, on the CPU
    in float32 (or bf16 with `cpu_bf16`); the losses in float32. Returns the loss terms,
    detached (reading them as numbers would wait for the device)."""
    batch = batch.to(device, non_blocking=True)
    with autocast(device, cpu_bf16):
        outputs = model(*batch.inputs)
    total, terms = criterion(outputs.float(), batch)
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip, foreach=True)
    optimizer.step()
    return {"total": total.detach(), **terms}


def _resume(
    out: Path, spec_json: dict[str, Any], model: MomentDETR, optimizer: Any, scheduler: Any
) -> tuple[tuple[int, int], int, float | None]:
    if not (out / LAST).is_file():
        raise AmrError(f"{out}: nothing to resume (no {LAST})")
    body = load_checkpoint(out / LAST)
    check_resumable(out, saved_spec_json(json.loads(body["run_config"])), spec_json)
    model.load_state_dict(body["model"])
    optimizer.load_state_dict(body["optimizer"])
    scheduler.load_state_dict(body["scheduler"])
    torch.set_rng_state(body["torch_rng"])
    epoch, done = body["cursor"]
    return (epoch, done), int(body["step"]), body["best"]


def _warn_if_machine_changed(out: Path, earlier: list[dict[str, Any]], machine: str) -> None:
    """A resume repeats the uninterrupted run to the digit only on the same kind of machine."""
    before = next((line["machine"] for line in reversed(earlier) if "machine" in line), machine)
    if before != machine:
        stderr_console().print(
            f"[yellow]warning:[/] {out}: resuming on {machine}, but its last epoch trained on "
            f"{before}; another kind of machine rounds float32 differently, so this run will "
            "not repeat an uninterrupted one to the digit (its metrics name both machines)"
        )


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr_console(),
        disable=not enabled,
    )


def _describe(
    epoch: int,
    config: TrainConfig,
    step: int,
    terms: dict[str, torch.Tensor],
    metrics: dict[str, Any],
) -> str:
    loss = f" · loss {float(terms['total']):.3f}" if "total" in terms else ""
    r1 = metrics.get(SHOWN_METRIC)
    val = f" · val R1@0.7 {r1:.2f}" if r1 is not None else ""
    of = "" if config.max_samples is not None else f"/{config.epochs}"  # samples end the run
    return f"epoch {epoch + 1}{of} · step {step}{loss}{val}"
