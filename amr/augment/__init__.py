"""Offline augmentation: spliced clips, synthetic boundaries and hard negatives into a corpus.

>>> from amr.augment import AugmentConfig, augment, Corpus
>>> augment("runs/demo/store", "train", "runs/demo/corpus", AugmentConfig(multiplier=10, seed=0))
>>> Corpus.open("runs/demo/corpus").rows
"""

from amr.augment.config import COMPONENTS, OPS, AugmentConfig, parse_weights
from amr.augment.corpus import Corpus, corpus_schema, features_from_arrow, recipes_from_arrow
from amr.augment.inspect import CorpusSummary, run_sql, summarize_corpus
from amr.augment.pipeline import AugmentSummary, Shard, augment, materialize, merge
from amr.augment.verify import VerifyReport, verify

__all__ = [
    "COMPONENTS",
    "OPS",
    "AugmentConfig",
    "AugmentSummary",
    "Corpus",
    "CorpusSummary",
    "Shard",
    "VerifyReport",
    "augment",
    "corpus_schema",
    "features_from_arrow",
    "materialize",
    "merge",
    "parse_weights",
    "recipes_from_arrow",
    "run_sql",
    "summarize_corpus",
    "verify",
]
