"""Scoring an arm: its best checkpoint on val (where it was chosen) and on test (the result),
and, on synthetic stores, on test against the events' true extents and by twin subset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from amr.datasets.truth import has_truth, queries_with_twin
from amr.errors import AmrError
from amr.eval import evaluate, load_ground_truth, per_query_scores, predictions_from_records
from amr.eval.predictions import Predictions, read_predictions
from amr.eval.submission import write_submission
from amr.fileio import atomic_path, write_json

VAL_SPLIT, TEST_SPLIT = "val", "test"
SCORES = "scores.json"
PER_QUERY = "test_per_query.npz"  # per_query()'s arrays: small enough to publish (evidence.py)


class Scorer:
    """Ground truth of a store's val and test splits, loaded once; scores of runs."""

    def __init__(self, store: Path, device: str = "auto"):
        self.store, self.device = Path(store), device
        self.truth = {s: load_ground_truth(store=store, split=s) for s in (VAL_SPLIT, TEST_SPLIT)}
        self.true_extents = None
        self.twins: set[int] | None = None
        if has_truth(store):
            self.true_extents = load_ground_truth(store=store, split=TEST_SPLIT, true_extents=True)
            self.twins = queries_with_twin(store, TEST_SPLIT)

    def score(self, run: Path) -> dict[str, Any]:
        """The run's best.pt (last.pt when it validated never) on val and test; cached in
        the run directory (scores.json, val_preds.jsonl, test_preds.jsonl)."""
        from amr.predict.split import predict_checkpoint
        from amr.train.checkpoint import BEST, LAST

        if (run / SCORES).is_file():
            return json.loads((run / SCORES).read_text(encoding="utf-8"))
        checkpoint = run / BEST if (run / BEST).is_file() else run / LAST
        scores: dict[str, Any] = {"checkpoint": checkpoint.name}
        for split in (VAL_SPLIT, TEST_SPLIT):
            records = predict_checkpoint(checkpoint, self.store, split, device=self.device)
            path = write_submission(run / f"{split}_preds.jsonl", records)
            predictions = predictions_from_records(records, str(path))
            scores[split] = evaluate(predictions, self.truth[split])
            if split == TEST_SPLIT:
                self._cache_per_query(run, predictions)
                if self.true_extents is not None:
                    scores["test_truth"] = evaluate(predictions, self.true_extents)
        write_json(run / SCORES, scores)
        return scores

    def per_query(self, run: Path, true_extents: bool = False) -> dict[str, np.ndarray]:
        """Each test query's scores (per_query_scores) for the run's scored checkpoint, from
        its test_preds.jsonl once, then from the PER_QUERY file (all a restored run has)."""
        truth = self.true_extents if true_extents else self.truth[TEST_SPLIT]
        if truth is None:
            raise ValueError("the store has no true extents")
        prefix = "truth/" if true_extents else "annotated/"
        cached = run / PER_QUERY
        if not cached.is_file():
            self._cache_per_query(run)
        with np.load(cached) as saved:
            scores = {k[len(prefix) :]: saved[k] for k in saved.files if k.startswith(prefix)}
        if not np.array_equal(scores.get("qid"), truth.qids):
            raise AmrError(f"{cached}: scores of other test queries than {self.store}'s")
        return scores

    def _cache_per_query(self, run: Path, predictions: Predictions | None = None) -> None:
        if predictions is None:
            predictions = read_predictions(run / "test_preds.jsonl")
        arrays = {
            f"annotated/{k}": v
            for k, v in per_query_scores(predictions, self.truth[TEST_SPLIT]).items()
        }
        if self.true_extents is not None:
            truth = per_query_scores(predictions, self.true_extents)
            arrays.update({f"truth/{k}": v for k, v in truth.items()})
        with atomic_path(run / PER_QUERY) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)

    def twin_mask(self) -> np.ndarray | None:
        """Which test queries (in ground-truth order) have a hidden look-alike twin."""
        if self.twins is None:
            return None
        return np.isin(self.truth[TEST_SPLIT].qids, np.fromiter(self.twins, np.int64))
