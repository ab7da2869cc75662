"""Offline augmentation: spliced clips, synthetic boundaries and hard negatives into a corpus.

`run` is the command (score, rank, write parts), `generate` makes a batch of rows from their
sample ids, `splice`/`boundary`/`negative` are the operators' pieces, `difficulty` scores and
ranks rows, `sources` reads the store, `manifest` finishes a corpus, `merge` joins shards and
materialises recipes-only corpora. The corpus format itself lives in `amr.corpus`.

>>> from amr.augment import AugmentConfig, augment
>>> augment("runs/demo/store", "train", "runs/demo/corpus", AugmentConfig(multiplier=10, seed=0))
"""

from amr.augment.config import NEGATIVES, AugmentConfig, parse_weights
from amr.augment.merge import materialize, merge
from amr.augment.run import AugmentSummary, Shard, augment

__all__ = [
    "NEGATIVES",
    "AugmentConfig",
    "AugmentSummary",
    "Shard",
    "augment",
    "materialize",
    "merge",
    "parse_weights",
]
