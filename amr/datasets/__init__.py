"""Datasets: community formats in, the canonical store out, and the synthetic world.

>>> from amr.datasets import Store
>>> store = Store.open("runs/demo/store")
>>> store.video_features("train_00000").shape   # (n_clips, video_dim), float16
"""

from amr.datasets.annotations import read_annotations
from amr.datasets.importer import ImportConfig, ImportSummary, import_dataset
from amr.datasets.store import FeatureSource, Store, StoreMeta, compute_fingerprint
from amr.datasets.summary import StoreSummary, summarize_store
from amr.datasets.synthetic import SynthConfig, default_annotations, synthesize

__all__ = [
    "FeatureSource",
    "ImportConfig",
    "ImportSummary",
    "Store",
    "StoreMeta",
    "StoreSummary",
    "SynthConfig",
    "compute_fingerprint",
    "default_annotations",
    "import_dataset",
    "read_annotations",
    "summarize_store",
    "synthesize",
]
