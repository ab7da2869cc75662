"""The corpus manifest of a finished run: source, config, counts, difficulty bins
and each part's entry, written last so that its presence means the corpus is complete; and the
output directory's checks before a run (refuse, resume, replace beside)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from amr import __version__
from amr.augment.config import AugmentConfig, same_config
from amr.augment.difficulty import Ranking
from amr.corpus.card import write_card
from amr.corpus.parts import PartInfo, part_labels
from amr.corpus.schema import (
    COMPONENTS,
    CORPUS_FORMAT,
    CORPUS_FORMAT_VERSION,
    MANIFEST,
    features_entry,
)
from amr.datasets.store import Store
from amr.errors import AmrError
from amr.fileio import (
    check_output_dir,
    checksum_file,
    replacement_dir,
    settle_retired,
    write_json,
)

WORK_DIR = ".amr-work"  # a run's state and video pool, removed when the corpus is finished
KEY_ORDER = (
    "format",
    "format_version",
    "amr_version",
    "source",
    "config",
    "recipes_only",
    "rows",
    "kinds",
    "features",
    "difficulty",
    "parts",
)


def build_manifest(
    store: Store,
    split: str,
    config: AugmentConfig,
    ranking: Ranking,
    kinds: dict[str, int],
    parts: list[PartInfo],
) -> dict[str, Any]:
    order_difficulty = ranking.difficulty[ranking.order]
    bins = config.curriculum_bins
    starts = [int(np.searchsorted(ranking.curriculum_bin[ranking.order], b)) for b in range(bins)]
    return {
        "format": CORPUS_FORMAT,
        "format_version": CORPUS_FORMAT_VERSION,
        "amr_version": __version__,
        "source": {
            "store": store.meta.name,
            "fingerprint": store.meta.fingerprint,
            "split": split,
            "queries": store.meta.splits[split].queries,
            "clip_length": store.meta.clip_length,
            "video_dim": store.meta.video_dim,
            "text_dim": store.meta.text_dim,
            "sources": store.meta.sources,
        },
        "config": config.to_json(),
        "recipes_only": config.recipes_only,
        "rows": len(ranking.order),
        "kinds": kinds,
        "features": None if config.recipes_only else features_entry(store.meta.video_dim),
        "difficulty": {
            "components": dict(COMPONENTS),
            "weights": config.weights(),
            "bins": bins,
            "bin_first_row": starts,
            "bin_min_difficulty": [
                float(order_difficulty[s]) if s < len(order_difficulty) else None for s in starts
            ],
        },
        "parts": [p.to_json() for p in parts],
    }


def part_info(
    path: Path,
    part: int,
    config: AugmentConfig,
    difficulty: np.ndarray,
    checksum: str = "",
    labels: str = "",
) -> PartInfo:
    """A part's manifest entry; the checksum and label digest are read back from the file when
    not given (a part a resumed run kept)."""
    return PartInfo(
        file=path.name,
        rows=len(difficulty),
        first_row=part * config.part_rows,
        difficulty=(float(difficulty.min()), float(difficulty.max())),
        bytes=path.stat().st_size,
        checksum=checksum or checksum_file(path),
        labels=labels or part_labels(path),
    )


def ordered(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest's keys in the order a single run writes them (merge and materialize
    rebuild manifests, and must write the same bytes)."""
    return {k: manifest[k] for k in KEY_ORDER if k in manifest}


def finalize(out: Path, manifest: dict[str, Any]) -> None:
    """Card, then manifest (the file that makes the directory a corpus), then drop the work dir."""
    write_card(out, manifest)
    write_json(out / MANIFEST, manifest)
    shutil.rmtree(out / WORK_DIR, ignore_errors=True)


def check_corpus_dir(out: Path, overwrite: bool) -> bool:
    """Whether `out` holds a corpus that this run replaces: an existing corpus is replaced only
    with --overwrite, and a directory that is not a corpus is never written into."""
    return check_output_dir(
        out,
        MANIFEST,
        overwrite,
        refuse="exists and is not a corpus; refusing to write into it",
        replace="a corpus already exists; pass --overwrite to replace it",
    )


def prepare_corpus_dir(out: Path, overwrite: bool) -> None:
    """`out` ready for a new corpus written in place (check_corpus_dir, then an old one goes)."""
    if check_corpus_dir(out, overwrite):
        shutil.rmtree(out)


def _same_run(previous: dict, run_state: dict) -> bool:
    """An interrupted run's state is this run's: the same store, split and amr, and the same
    config however its fields were spelt."""
    rest = {k: v for k, v in previous.items() if k != "config"}
    if rest != {k: v for k, v in run_state.items() if k != "config"}:
        return False
    return same_config(previous.get("config"), AugmentConfig.from_json(run_state["config"]))


def prepare_out(out: Path, run_state: dict, shards: int, resume: bool, overwrite: bool) -> None:
    """`out` ready for this run: a finished corpus or another directory as prepare_corpus_dir
    says; an unfinished run of the same settings is resumed (or restarted with --overwrite)."""
    state_file = out / WORK_DIR / "run.json"
    if state_file.is_file() and not (out / MANIFEST).is_file():
        previous = json.loads(state_file.read_text(encoding="utf-8"))
        if not _same_run(previous, run_state):
            if not overwrite:
                raise AmrError(
                    f"{out}: holds an unfinished run with a different store, split or config; "
                    "use another --out or pass --overwrite"
                )
            shutil.rmtree(out)
        elif overwrite and shards == 1:
            shutil.rmtree(out)
        elif not resume and shards == 1:
            raise AmrError(f"{out}: holds an unfinished run; pass --resume to finish it")
    else:
        prepare_corpus_dir(out, overwrite)
    (out / WORK_DIR).mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".part-*.tmp"):  # left by a killed run; never a complete part
        stale.unlink()
    if not state_file.is_file():
        write_json(state_file, run_state)


def replacement(out: Path, run_state: dict, resume: bool) -> Path:
    """Where a run that replaces the finished corpus at `out` builds: beside it, so the old
    corpus stays whole until the new one is complete. A replacement of the same settings cut
    short by a kill is resumed with --resume; anything else there starts over."""
    settle_retired(out.parent, out.name)
    staging = replacement_dir(out)
    state = staging / WORK_DIR / "run.json"
    same = state.is_file() and json.loads(state.read_text(encoding="utf-8")) == run_state
    if staging.exists() and not (resume and same):
        shutil.rmtree(staging)
    return staging
