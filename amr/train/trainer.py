"""Stage 1, `amr train cold-start`: the model trained on the augmented corpus in curriculum order.

A run directory holds config.json (everything needed to repeat the run), metrics.jsonl (one
line per epoch: loss terms, validation metrics, speed), last.pt and best.pt. Checkpoints are
written atomically and read with `torch.load(weights_only=True)`, so a checkpoint cannot run
code. `resume=True` continues from last.pt at the exact batch it stopped after; on the CPU the
result equals an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from amr import __version__
from amr.console import stderr_console
from amr.datasets.store import Store
from amr.errors import AmrError
from amr.eval import evaluate, ground_truth_from_table, predictions_from_records
from amr.fileio import atomic_path, write_json
from amr.train.config import LossConfig, ModelConfig, TrainConfig
from amr.train.curriculum import EpochPlan, Pacing, plan_epoch
from amr.train.data import CorpusSource, LoaderConfig, StoreSource, TextBank, iterate_batches
from amr.train.distill import DistillConfig, DistillCriterion, init_student
from amr.train.losses import Criterion
from amr.train.model import MomentDETR, outputs_to_float
from amr.train.predict import predict_split

CHECKPOINT_FORMAT = "amr-checkpoint"
CHECKPOINT_VERSION = 1
AUGMENTED_KINDS = {"splice", "boundary", "negative"}
BEST_METRIC = "MR-full-R1@0.7"
# Stage 2's reference schedule (batch 32 and lr 1e-4 are TrainConfig's defaults already).
DISTILL_DEFAULTS = {"epochs": 100, "lr_drop": 40}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise AmrError("--device cuda: no CUDA device is available")
    if name not in ("cpu", "cuda"):
        raise AmrError(f"unknown device {name!r} (auto, cpu or cuda)")
    return torch.device(name)


@dataclass(frozen=True)
class RunSummary:
    out: Path
    epochs: int
    steps: int
    best: float | None
    last_metrics: dict[str, Any]
    samples_per_second: float


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint's contents; never unpickles arbitrary objects."""
    path = Path(path)
    if path.is_dir():
        path = path / "best.pt" if (path / "best.pt").is_file() else path / "last.pt"
    if not path.is_file():
        raise AmrError(f"{path}: no checkpoint")
    try:
        body = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a corrupt or foreign file: say which, not a traceback
        raise AmrError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(body, dict) or body.get("format") != CHECKPOINT_FORMAT:
        raise AmrError(f"{path}: not an amr checkpoint")
    if body.get("version") != CHECKPOINT_VERSION:
        raise AmrError(f"{path}: checkpoint version {body.get('version')} is not supported")
    return body


def model_from_checkpoint(body: dict[str, Any]) -> MomentDETR:
    model = MomentDETR(ModelConfig.from_json(body["model_config"]))
    try:
        model.load_state_dict(body["model"])
    except RuntimeError as exc:  # weights of another shape than the config describes
        first = str(exc).strip().splitlines()[-1].strip()
        raise AmrError(f"checkpoint weights do not fit its model config ({first})") from None
    return model


def _save(path: Path, body: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save(body, tmp)


@dataclass(frozen=True)
class RunOptions:
    """How to run (not what to learn): where, resume or replace, and whether to draw progress."""

    out: Path
    resume: bool = False
    overwrite: bool = False
    show_progress: bool = True


def cold_start(
    corpus: str | Path,
    store: str | Path,
    out: str | Path,
    config: TrainConfig | None = None,
    model_options: dict[str, Any] | None = None,
    loss: LossConfig | None = None,
    resume: bool = False,
    overwrite: bool = False,
    show_progress: bool = True,
    kinds: Iterable[str] | None = None,
) -> RunSummary:
    """Stage 1 into the run directory `out`: the corpus's augmented rows (and the real ones
    with include_original), in curriculum order. `kinds` narrows the augmented kinds read
    (e.g. without `negative`: the no-hard-negatives ablation)."""
    config = config or TrainConfig()
    augmented = set(AUGMENTED_KINDS if kinds is None else kinds)
    if not augmented or augmented - AUGMENTED_KINDS:
        raise AmrError(
            f"kinds must be some of {', '.join(sorted(AUGMENTED_KINDS))}, "
            f"got {', '.join(sorted(augmented)) or 'none'}"
        )
    opened = Store.open(store)
    model_config = _model_config(opened, model_options)
    kinds = augmented | ({"original"} if config.include_original else set())
    source = CorpusSource(corpus, store, kinds, _loader_config(config, model_config), config.seed)
    run_config = _run_config("cold-start", opened, model_config, loss or LossConfig(), config)
    run_config["corpus"] = str(Path(corpus).resolve())
    run_config["corpus_source"] = source.corpus.manifest["source"]
    if augmented != AUGMENTED_KINDS:
        run_config["kinds"] = sorted(augmented)
    options = RunOptions(Path(out), resume, overwrite, show_progress)
    return _train(source, opened, run_config, config.pacing_schedule(), options)


def baseline(
    store: str | Path,
    split: str,
    out: str | Path,
    config: TrainConfig | None = None,
    model_options: dict[str, Any] | None = None,
    loss: LossConfig | None = None,
    resume: bool = False,
    overwrite: bool = False,
    show_progress: bool = True,
) -> RunSummary:
    """The same model trained on the real split only, shuffled (no augmentation, no
    curriculum): the reference every result is compared with."""
    config = config or TrainConfig()
    opened = Store.open(store)
    model_config = _model_config(opened, model_options)
    source = StoreSource(store, split, _loader_config(config, model_config), config.seed)
    run_config = _run_config("baseline", opened, model_config, loss or LossConfig(), config)
    run_config["split"] = split
    options = RunOptions(Path(out), resume, overwrite, show_progress)
    return _train(source, opened, run_config, None, options)


def distill(
    init: str | Path,
    corpus: str | Path,
    store: str | Path,
    out: str | Path,
    config: TrainConfig | None = None,
    settings: DistillConfig | None = None,
    loss: LossConfig | None = None,
    resume: bool = False,
    overwrite: bool = False,
    show_progress: bool = True,
) -> RunSummary:
    """Stage 2: the corpus's real rows in curriculum order; the student is the cold-start model
    at `init` plus Active Queries, taught by a frozen copy of it."""
    config = config or TrainConfig(**DISTILL_DEFAULTS)
    settings = settings or DistillConfig()
    body = load_checkpoint(init)
    if body.get("stage") != "cold-start":
        raise AmrError(
            f"{init}: --init must be a cold-start run or checkpoint, not {body.get('stage')!r}"
        )
    teacher = model_from_checkpoint(body)
    opened = Store.open(store)
    check_model_fits_store(teacher.config, opened, init)
    student_config = replace(teacher.config, active_queries=settings.active_queries)
    source = CorpusSource(
        corpus, store, {"original"}, _loader_config(config, student_config), config.seed,
        replay=settings.replay_fraction, replay_kinds=frozenset(AUGMENTED_KINDS),
    )  # fmt: skip
    run_config = _run_config("distill", opened, student_config, loss or LossConfig(), config)
    run_config["init"] = str(Path(init).resolve())
    run_config["corpus"] = str(Path(corpus).resolve())
    run_config["distill"] = settings.to_json()
    options = RunOptions(Path(out), resume, overwrite, show_progress)
    return _train(source, opened, run_config, config.pacing_schedule(), options, teacher)


def _model_config(store: Store, model_options: dict[str, Any] | None) -> ModelConfig:
    return ModelConfig(
        video_dim=store.meta.video_dim, text_dim=store.meta.text_dim, **(model_options or {})
    )


def _loader_config(config: TrainConfig, model: ModelConfig) -> LoaderConfig:
    return LoaderConfig(
        batch_size=config.batch_size,
        window_rows=config.window_rows,
        max_clips=model.max_clips,
        workers=config.workers,
    )


def check_model_fits_store(model: ModelConfig, store: Store, where: str | Path) -> None:
    """A model (from a checkpoint) takes the store's feature dims, or it is a clear error."""
    dims = (store.meta.video_dim, store.meta.text_dim)
    if (model.video_dim, model.text_dim) != dims:
        raise AmrError(
            f"{where}: the model takes {model.video_dim}/{model.text_dim}-d features, "
            f"store {store.root} has {dims[0]}/{dims[1]}"
        )


def _run_config(
    stage: str, store: Store, model: ModelConfig, loss: LossConfig, config: TrainConfig
) -> dict[str, Any]:
    return {
        "stage": stage,
        "amr_version": __version__,
        "store": str(store.root.resolve()),
        "store_fingerprint": store.meta.fingerprint,
        "model": model.to_json(),
        "loss": loss.to_json(),
        "train": config.to_json(),
    }


@dataclass(frozen=True)
class _Ranks:
    """This process's place in a distributed run (rank 0 of 1 when not distributed)."""

    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()

    def total(self, value: int) -> int:
        if self.world == 1:
            return value
        tensor = torch.tensor([value], device=self.device)
        torch.distributed.all_reduce(tensor)
        return int(tensor.item())


def _join(device_name: str) -> _Ranks:
    """Join the process group torchrun describes in the environment (WORLD_SIZE > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = resolve_device(device_name)
    if world == 1:
        return _Ranks(0, 1, device)
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    rank = torch.distributed.get_rank()
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    return _Ranks(rank, torch.distributed.get_world_size(), device)


def _train(
    source: CorpusSource | StoreSource,
    opened: Store,
    run_config: dict[str, Any],
    pacing: Pacing | None,
    options: RunOptions,
    teacher: MomentDETR | None = None,
) -> RunSummary:
    """The training loop every stage shares; under torchrun, one process per rank (DDP).
    With a teacher (stage 2) the model starts from it and learns with the distillation losses."""
    out = options.out
    config = TrainConfig.from_json(run_config["train"])
    ranks = _join(config.device)
    torch.manual_seed(config.seed)
    model = MomentDETR(ModelConfig.from_json(run_config["model"])).to(ranks.device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, config.lr_drop)
    criterion: torch.nn.Module = Criterion(LossConfig.from_json(run_config["loss"]))
    if teacher is not None:
        settings = DistillConfig.from_json(run_config["distill"])
        if not options.resume:
            init_student(model, teacher, settings.init_original_randomly)
        criterion = DistillCriterion(criterion, teacher.to(ranks.device), settings)
    cursor, step, best = (0, 0), 0, None
    if options.resume:
        cursor, step, best = _resume(out, run_config, model, optimizer, scheduler)
    elif ranks.main:
        _start_run_dir(out, run_config, options.overwrite)
    ranks.barrier()
    trained = torch.nn.parallel.DistributedDataParallel(model) if ranks.world > 1 else model

    def plan_of(epoch: int, rank: int = ranks.rank) -> EpochPlan:
        return plan_epoch(
            source.eligible_at(epoch), epoch, config.seed, pacing, source.config.window_rows,
            rank, ranks.world,
        )  # fmt: skip

    def batch_sizes_of(epoch: int) -> list[int]:
        """Samples (all ranks together) of each step of an epoch. Every rank takes the same
        number of steps: the fewest any rank's windows give."""
        per_rank = [_batch_sizes(plan_of(epoch, r), source) for r in range(ranks.world)]
        return [sum(sizes) for sizes in zip(*per_rank, strict=False)]

    def save(name: str, cursor: tuple[int, int]) -> None:
        _save(out / name, _body(run_config, model, optimizer, scheduler, cursor, step, best))

    validation = _Validation(opened, config.val_split, source.config) if ranks.main else None
    board = _tensorboard(out) if ranks.main else None
    metrics: dict[str, Any] = {}
    seen, started = 0, time.perf_counter()
    limits = _step_limits(config, batch_sizes_of)
    progress = _progress(options.show_progress and ranks.main)
    task = progress.add_task(run_config["stage"], total=sum(limits), completed=step)
    with progress:
        for epoch in range(cursor[0], len(limits)):
            plan, limit = plan_of(epoch), limits[epoch]
            done = cursor[1] if epoch == cursor[0] else 0
            totals: dict[str, torch.Tensor] = {}
            epoch_started, epoch_seen = time.perf_counter(), 0
            trained.train()
            start = _position(plan, source, done)
            for _, batch in iterate_batches(source, plan, start, ranks.device.type == "cuda"):
                if done >= limit:
                    break
                terms = _step(trained, criterion, optimizer, batch, ranks.device, config.grad_clip)
                for name, value in terms.items():
                    totals[name] = totals.get(name, 0) + value
                done, step = done + 1, step + 1
                epoch_seen += len(batch["qid"])
                progress.advance(task)
                if step % 10 == 0:  # reading the loss waits for the device: not every step
                    shown = _describe(epoch, config, step, terms, metrics)
                    progress.update(task, description=shown)
                if ranks.main and config.checkpoint_every and step % config.checkpoint_every == 0:
                    save("last.pt", (epoch, done))
            scheduler.step()
            epoch_seen = ranks.total(epoch_seen)
            seen += epoch_seen
            seconds = time.perf_counter() - epoch_started
            if ranks.main:
                line: dict[str, Any] = {
                    "epoch": epoch,
                    "steps": step,
                    "samples": epoch_seen,
                    "pool_groups": plan.pool_groups,
                    "seconds": round(seconds, 3),
                    "samples_per_second": round(epoch_seen / max(seconds, 1e-9), 1),
                    "loss": {k: round(float(v) / max(done, 1), 5) for k, v in totals.items()},
                }
                if validation is not None and validation.truth is not None:
                    metrics = validation.run(model, ranks.device)
                    line["val"] = metrics
                    value = metrics.get(BEST_METRIC)
                    if value is not None and (best is None or value > best):
                        best = value
                        save("best.pt", (epoch + 1, 0))
                _append(out / "metrics.jsonl", line)
                if board is not None:
                    for name, value in {**line["loss"], **line.get("val", {})}.items():
                        if value is not None:
                            board.add_scalar(name, value, epoch + 1)
                    board.flush()
                save("last.pt", (epoch + 1, 0))
                shown = _describe(epoch, config, step, {}, metrics)
                progress.update(task, description=shown)
            ranks.barrier()
    elapsed = time.perf_counter() - started
    return RunSummary(out, len(limits), step, best, metrics, seen / max(elapsed, 1e-9))


def _step_limits(config: TrainConfig, batch_sizes_of: Any) -> list[int]:
    """Steps of each epoch the run trains: all of them, or, with max_samples, up to the step
    whose batch reaches it (the run then ends in that epoch). A pure function of the plans,
    so every rank, and a resumed run, agree."""
    limits, seen = [], 0
    for epoch in range(config.epochs):
        sizes = batch_sizes_of(epoch)
        if config.max_samples is not None and seen + sum(sizes) >= config.max_samples:
            reached = np.cumsum(sizes) + seen >= config.max_samples
            limits.append(int(np.argmax(reached)) + 1)
            break
        limits.append(len(sizes))
        seen += sum(sizes)
    return limits


def read_metrics(out: str | Path) -> list[dict[str, Any]]:
    """A run directory's metrics.jsonl, one dict per epoch trained."""
    path = Path(out) / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


class _Validation:
    """The validation split's ground truth and text, loaded once; metrics of a model."""

    def __init__(self, store: Store, split: str | None, loader: LoaderConfig):
        self.store, self.split = store, split
        self.truth = self.text = None
        if split:
            self.truth = ground_truth_from_table(
                store.samples(split), f"{store.root} split {split}", store.meta.clip_length
            )
            self.text = TextBank.from_store(store, self.truth.qids, loader.max_words)

    def run(self, model: MomentDETR, device: torch.device) -> dict[str, Any]:
        records = predict_split(model, self.store, self.split, self.text, device=device)
        return evaluate(predictions_from_records(records, "val"), self.truth)["brief"]


def _tensorboard(out: Path) -> Any:
    """A TensorBoard writer into the run directory when tensorboard is installed, else None."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(log_dir=str(out / "tensorboard"))


def _window_batch_sizes(plan: EpochPlan, source: Any) -> list[list[int]]:
    """Samples of each batch of each window of an epoch's plan (windows are batched
    separately, so a window's last batch may be short)."""
    eligible, size = source.eligible_at(plan.epoch), source.config.batch_size
    windows = []
    for groups in plan.windows:
        rows = int(eligible[groups].sum())
        windows.append([size] * (rows // size) + ([rows % size] if rows % size else []))
    return windows


def _batch_sizes(plan: EpochPlan, source: Any) -> list[int]:
    return [size for window in _window_batch_sizes(plan, source) for size in window]


def _position(plan: EpochPlan, source: Any, done: int) -> tuple[int, int]:
    """(window, batch) after `done` batches of an epoch's plan."""
    for window, sizes in enumerate(_window_batch_sizes(plan, source)):
        if done < len(sizes):
            return window, done
        done -= len(sizes)
    return len(plan.windows), 0


def _step(
    model: MomentDETR,
    criterion: Criterion,
    optimizer: torch.optim.Optimizer,
    batch: dict[str, torch.Tensor],
    device: torch.device,
    grad_clip: float,
) -> dict[str, torch.Tensor]:
    """One optimisation step; bf16 autocast on CUDA, float32 on the CPU."""
    move = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
    targets = list(torch.split(move["spans"], batch["span_counts"].tolist()))
    inputs = (move["video"].float(), move["video_mask"], move["text"].float(), move["text_mask"])
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
        outputs = model(*inputs)
    total, terms = criterion(
        outputs_to_float(outputs),
        {
            "inputs": inputs,
            "video_mask": move["video_mask"],
            "spans": targets,
            "saliency_pos": move["saliency_pos"],
            "saliency_neg": move["saliency_neg"],
            "saliency_levels": move["saliency_levels"].long(),
        },
    )
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return {"total": total.detach(), **terms}


def _body(
    run_config: dict[str, Any],
    model: MomentDETR,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    cursor: tuple[int, int],
    step: int,
    best: float | None,
) -> dict[str, Any]:
    return {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "stage": run_config["stage"],
        "run_config": json.dumps(run_config),
        "model_config": run_config["model"],
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "cursor": list(cursor),
        "step": step,
        "best": best,
        "torch_rng": torch.get_rng_state(),
    }


def _start_run_dir(out: Path, run_config: dict[str, Any], overwrite: bool) -> None:
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise AmrError(
                f"{out}: exists and is not empty; pass --resume to continue that run "
                "or --overwrite to replace it"
            )
        if not (out / "config.json").is_file():
            raise AmrError(f"{out}: --overwrite replaces only a run directory (no config.json)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", run_config)


def _resume(
    out: Path, run_config: dict[str, Any], model: MomentDETR, optimizer: Any, scheduler: Any
) -> tuple[tuple[int, int], int, float | None]:
    if not (out / "last.pt").is_file():
        raise AmrError(f"{out}: nothing to resume (no last.pt)")
    body = load_checkpoint(out / "last.pt")
    saved = json.loads(body["run_config"])
    if saved != run_config:
        changed = sorted(k for k in run_config if saved.get(k) != run_config[k])
        raise AmrError(f"{out}: --resume with a different {', '.join(changed)} than the run had")
    model.load_state_dict(body["model"])
    optimizer.load_state_dict(body["optimizer"])
    scheduler.load_state_dict(body["scheduler"])
    torch.set_rng_state(body["torch_rng"])
    epoch, done = body["cursor"]
    return (epoch, done), int(body["step"]), body["best"]


def _append(path: Path, line: dict[str, Any]) -> None:
    """metrics.jsonl gains one line, written atomically with the lines before it."""
    previous = path.read_text(encoding="utf-8") if path.is_file() else ""
    with atomic_path(path) as tmp:
        tmp.write_text(previous + json.dumps(line) + "\n", encoding="utf-8")


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
    r1 = metrics.get(BEST_METRIC)
    val = f" · val R1@0.7 {r1:.2f}" if r1 is not None else ""
    of = "" if config.max_samples is not None else f"/{config.epochs}"  # samples end the run
    return f"epoch {epoch + 1}{of} · step {step}{loss}{val}"
