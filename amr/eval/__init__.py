"""Standard moment-retrieval and highlight-detection metrics (`amr eval`), and the helpers that
turn model outputs into a submission file."""

from amr.eval.evaluate import DATASETS, evaluate, per_query_scores
from amr.eval.ground_truth import GroundTruth, ground_truth_from_table, load_ground_truth
from amr.eval.predictions import Predictions, predictions_from_records, read_predictions

__all__ = [
    "DATASETS",
    "GroundTruth",
    "Predictions",
    "evaluate",
    "ground_truth_from_table",
    "load_ground_truth",
    "per_query_scores",
    "predictions_from_records",
    "read_predictions",
]
