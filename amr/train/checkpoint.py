"""The checkpoint format: one dict saved with torch.save and read with
`torch.load(weights_only=True)`, so a checkpoint (a shared one too) cannot run code.

A checkpoint holds the format name and version, the stage, the run's spec (as JSON text), the
model config and weights, the optimizer and LR-scheduler states, the resume cursor (epoch,
batches done in it), the step, the best validation value and the torch RNG state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from amr.datasets.store import Store
from amr.errors import AmrError
from amr.fileio import atomic_path
from amr.train.config import ModelConfig
from amr.train.model import MomentDETR

CHECKPOINT_FORMAT = "amr-checkpoint"
CHECKPOINT_VERSION = 1
LAST, BEST = "last.pt", "best.pt"
# A checkpoint whose model config has no IoU keys was made without an IoU head.
LEGACY_MODEL = {"iou_head": False, "rank_by_iou": False}


def load_checkpoint(path: str | Path, header_only: bool = False) -> dict[str, Any]:
    """A checkpoint's contents (a run directory: its best.pt, else its last.pt); never
    unpickles arbitrary objects. `header_only`: the tensors are memory-mapped, not read, for a
    caller that wants only the stage, configs and numbers."""
    path = Path(path)
    if path.is_dir():
        path = path / BEST if (path / BEST).is_file() else path / LAST
    if not path.is_file():
        raise AmrError(f"{path}: no checkpoint")
    try:
        body = torch.load(path, map_location="cpu", weights_only=True, mmap=header_only)
    except Exception as exc:  # a corrupt or foreign file: say which, not a traceback
        raise AmrError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(body, dict) or body.get("format") != CHECKPOINT_FORMAT:
        raise AmrError(f"{path}: not an amr checkpoint")
    if body.get("version") != CHECKPOINT_VERSION:
        raise AmrError(f"{path}: checkpoint version {body.get('version')} is not supported")
    return body


def save_checkpoint(path: Path, body: dict[str, Any]) -> None:
    """Written atomically: a crash leaves the previous checkpoint, never half of a new one."""
    with atomic_path(path) as tmp:
        torch.save(body, tmp)


def checkpoint_body(
    stage: str,
    spec_json: str,
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
        "stage": stage,
        "run_config": spec_json,
        "model_config": model.config.to_json(),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "cursor": list(cursor),
        "step": step,
        "best": best,
        "torch_rng": torch.get_rng_state(),
    }


def model_config_of(body: dict[str, Any]) -> ModelConfig:
    """A checkpoint's model config. Settings it does not name did not exist when it was
    written, so they read as off (an older checkpoint has no IoU head)."""
    return ModelConfig.from_json({**LEGACY_MODEL, **body["model_config"]})


def model_from_checkpoint(body: dict[str, Any]) -> MomentDETR:
    """The checkpoint's model, on the CPU. Building it leaves the global RNG as it was, so
    loading a checkpoint (stage 2's teacher) never changes a run's random stream."""
    config = model_config_of(body)
    with torch.random.fork_rng(devices=[]):
        model = MomentDETR(config)
    try:
        model.load_state_dict(body["model"])
    except RuntimeError as exc:  # weights of another shape than the config describes
        first = str(exc).strip().splitlines()[-1].strip()
        raise AmrError(f"checkpoint weights do not fit its model config ({first})") from None
    return model


def check_model_fits_store(model: ModelConfig, store: Store, where: str | Path) -> None:
    """A model (from a checkpoint) takes the store's feature dims, or it is a clear error."""
    dims = (store.meta.video_dim, store.meta.text_dim)
    if (model.video_dim, model.text_dim) != dims:
        raise AmrError(
            f"{where}: the model takes {model.video_dim}/{model.text_dim}-d features, "
            f"store {store.root} has {dims[0]}/{dims[1]}"
        )
