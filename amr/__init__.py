"""amr: augmented moment retrieval (ICCV 2025) as a toolkit.

Offline feature-level augmentation into a shareable Parquet corpus, and two-stage training
(curriculum cold start on the augmented corpus, then distillation adaptation on real data).
`amr.Predictor` predicts with a trained checkpoint (torch is imported when it is first used).
"""

from amr.errors import AmrError
from amr.lazy import lazy_exports

__version__ = "0.1.0"
__all__ = ["AmrError", "Moment", "Prediction", "Predictor", "__version__"]

# amr.predict.predictor needs torch: it loads on first use
__getattr__ = lazy_exports(
    "amr", {name: "amr.predict.predictor" for name in ("Moment", "Prediction", "Predictor")}
)
