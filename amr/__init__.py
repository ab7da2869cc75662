"""amr: augmented moment retrieval (ICCV 2025) as a toolkit.

Offline feature-level augmentation into a shareable Parquet corpus, and two-stage training
(curriculum cold start on the augmented corpus, then distillation adaptation on real data).
"""

from amr.errors import AmrError

__version__ = "0.1.0"
__all__ = ["AmrError", "__version__"]
