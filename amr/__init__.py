"""amr: augmented moment retrieval (ICCV 2025) as a toolkit.

Offline feature-level augmentation into a shareable Parquet corpus, and two-stage training
(curriculum cold start on the augmented corpus, then distillation adaptation on real data).
`amr.Predictor` predicts with a trained checkpoint (torch is imported when it is first used).
"""

from typing import Any

from amr.errors import AmrError

__version__ = "0.1.0"
__all__ = ["AmrError", "Moment", "Prediction", "Predictor", "__version__"]

_LAZY = {"Predictor", "Prediction", "Moment"}  # amr.predict.predictor: needs torch


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from amr.predict import predictor

        return getattr(predictor, name)
    raise AttributeError(f"module 'amr' has no attribute {name!r}")
