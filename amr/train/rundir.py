"""The run directory: config.json (the run's spec), metrics.jsonl (one line per epoch: loss
terms, validation metrics, speed), last.pt and best.pt, and tensorboard/ when TensorBoard is
installed. Starting, resuming and reading one back."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amr.errors import AmrError
from amr.fileio import (
    atomic_path,
    check_output_dir,
    is_replacement_dir,
    replacement_dir,
    settle_retired,
    swap_into_place,
    write_json,
)

CONFIG = "config.json"
METRICS = "metrics.jsonl"


@dataclass(frozen=True)
class RunOptions:
    """How to run (not what to learn): where, resume or replace, and whether to draw progress."""

    out: Path
    resume: bool = False
    overwrite: bool = False
    show_progress: bool = True


def new_run_dir(out: Path, overwrite: bool) -> Path:
    """Where a new run at `out` trains (nothing is touched yet): `out` itself, or, when it
    replaces an earlier run (--overwrite), a directory beside it that takes `out`'s place only
    when the run finishes, so a run that fails on a bad option, a full disk or a kill leaves
    the earlier one whole. A directory that is not a run is never touched."""
    settle_retired(out.parent, out.name)  # a swap cut short by a kill, completed or undone
    replacing = check_output_dir(
        out,
        CONFIG,
        overwrite,
        refuse="exists and is not a run directory (no config.json); refusing to write into it",
        replace="exists and is not empty; pass --resume to continue that run "
        "or --overwrite to replace it",
    )
    return replacement_dir(out) if replacing else out


def start_run_dir(into: Path, spec_json: dict[str, Any]) -> None:
    """A fresh run directory holding config.json (a replacement cut short starts over)."""
    if is_replacement_dir(into) and into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True, exist_ok=True)
    write_json(into / CONFIG, spec_json)


def resumed_run_dir(out: Path) -> Path:
    """The directory --resume continues: a replacement of `out` cut short, else `out`."""
    out = Path(out)
    settle_retired(out.parent, out.name)
    staging = replacement_dir(out)
    return staging if (staging / CONFIG).is_file() else out


def finish_run_dir(into: Path, out: Path) -> None:
    """A finished replacement takes the earlier run's place."""
    if into != out:
        swap_into_place(into, out)


def check_resumable(
    out: Path, saved: dict[str, Any], wanted: Mapping[str, Any], partial: bool = False
) -> None:
    """--resume continues only the run it was asked for: the saved spec must be the same
    (`partial`: in the settings `wanted` states)."""
    changed = differences(saved, wanted, only_wanted=partial)
    if changed:
        name, had, asked = changed[0]
        more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
        raise AmrError(
            f"{out}: --resume with a different {name}: the run has {had!r}, this command "
            f"{asked!r}{more}; drop the option to continue the run as it was"
        )


def differences(
    saved: Any, wanted: Any, prefix: str = "", only_wanted: bool = False
) -> list[tuple[str, Any, Any]]:
    """(dotted setting, saved value, wanted value) for every leaf that differs (`only_wanted`:
    every leaf `wanted` states)."""
    if isinstance(saved, Mapping) and isinstance(wanted, Mapping):
        found = []
        keys = wanted.keys() if only_wanted else saved.keys() | wanted.keys()
        for key in sorted(keys):
            found += differences(saved.get(key), wanted.get(key), f"{prefix}{key}.", only_wanted)
        return found
    return [] if saved == wanted else [(prefix.rstrip("."), saved, wanted)]


def saved_run_config(out: Path) -> dict[str, Any]:
    """A run directory's config.json, for --resume with nothing but the directory."""
    path = resumed_run_dir(out) / CONFIG
    if not path.is_file():
        raise AmrError(f"{out}: nothing to resume (no config.json)")
    return json.loads(path.read_text(encoding="utf-8"))


def append_metrics(out: Path, line: dict[str, Any]) -> None:
    """metrics.jsonl gains one line, written atomically with the lines before it."""
    path = out / METRICS
    previous = path.read_text(encoding="utf-8") if path.is_file() else ""
    with atomic_path(path) as tmp:
        tmp.write_text(previous + json.dumps(line) + "\n", encoding="utf-8")


def read_metrics(out: str | Path) -> list[dict[str, Any]]:
    """A run directory's metrics.jsonl, one dict per epoch trained."""
    path = Path(out) / METRICS
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def tensorboard(out: Path) -> Any:
    """A TensorBoard writer into the run directory when tensorboard is installed, else None."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(log_dir=str(out / "tensorboard"))
