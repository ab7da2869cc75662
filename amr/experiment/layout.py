"""The experiment directory: its claim and each train fraction's data, made once and shared by
every seed and arm.

    experiment.json               the store fingerprint and the budget (a rerun must match)
    fraction-F/store/             the nested train subset (F < 1; F = 1 reads the store)
    fraction-F/corpus/            the augmented corpus of that train split (made once)
    fraction-F/seed-S/RUN/        training runs: baseline, stage1*, amr, the ablations'
                                  stage 2 runs, …; each scored run holds scores.json and
                                  val_preds.jsonl / test_preds.jsonl of its best checkpoint
    results.json, results.md, *.png   the report (publish.py)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from amr.augment import AugmentConfig, augment
from amr.corpus.reader import Corpus
from amr.corpus.schema import MANIFEST
from amr.datasets.store import Store, is_store
from amr.datasets.subset import subset_store
from amr.errors import AmrError
from amr.experiment.budget import Budget
from amr.experiment.evidence import CLAIM, claim_differences
from amr.fileio import write_json

TRAIN_SPLIT = "train"
CORPUS_SEED = 0  # the corpus is made once; seeds vary training (initialisation, order)
SUBSET_SEED = 0  # one nested family of train subsets; seeds vary training, not the data


def fraction_root(out: Path, fraction: float) -> Path:
    return out / f"fraction-{fraction:g}"


def corpus_root(out: Path, fraction: float) -> Path:
    """The fraction's augmented corpus (complete once it holds its manifest)."""
    return fraction_root(out, fraction) / "corpus"


def fractions_held(out: Path) -> list[float]:
    """The train fractions the experiment directory `out` has folders for, smallest first."""
    return sorted(float(d.name.removeprefix("fraction-")) for d in out.glob("fraction-[0-9]*"))


def claim(out: Path, store: Store, budget: Budget) -> None:
    """experiment.json: a rerun into the same directory must use the same store and budget."""
    state = {"store_fingerprint": store.meta.fingerprint, "budget": budget.to_json()}
    path = out / CLAIM
    if path.is_file():
        changed = claim_differences(json.loads(path.read_text(encoding="utf-8")), state)
        if changed:
            raise AmrError(
                f"{out}: holds an experiment with a different {', '.join(changed)}; "
                "use another --out"
            )
        return
    if out.exists() and any(out.iterdir()):
        raise AmrError(f"{out}: exists and is not an experiment directory; use another --out")
    out.mkdir(parents=True, exist_ok=True)
    write_json(path, state)


@dataclass(frozen=True)
class FractionData:
    fraction: float
    root: Path  # fraction-F/
    store: Path  # the store whose train split is the fraction
    corpus: Corpus


def fraction_data(
    out: Path, store: Store, fraction: float, budget: Budget, workers: int, show_progress: bool
) -> FractionData:
    """The fraction's train subset and augmented corpus, made on first use."""
    root = fraction_root(out, fraction)
    source = store.root
    if fraction < 1:
        source = root / "store"
        if not is_store(source):
            subset_store(store.root, TRAIN_SPLIT, fraction, SUBSET_SEED, source)
    corpus = corpus_root(out, fraction)
    if not (corpus / MANIFEST).is_file():
        settings = AugmentConfig(multiplier=budget.multiplier, seed=CORPUS_SEED)
        augment(
            source, TRAIN_SPLIT, corpus, settings, workers=workers, resume=True,
            show_progress=show_progress,
        )  # fmt: skip
    return FractionData(fraction, root, source, Corpus.open(corpus))
