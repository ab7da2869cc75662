"""Inference: a trained model's moments and saliency for new videos and queries.

    predictor.py   Predictor: features in memory (or a video file) to moments, any video length
    split.py       `amr predict`: submission lines for a store split, through a Predictor

    from amr import Predictor
    predictor = Predictor.from_checkpoint("runs/demo/distill")

Names are loaded on first use (they need torch).
"""

from __future__ import annotations

from amr.lazy import lazy_exports

_EXPORTS = {
    "Moment": "predictor",
    "Prediction": "predictor",
    "Predictor": "predictor",
    "predict_checkpoint": "split",
    "predict_split": "split",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports("amr.predict", _EXPORTS)
