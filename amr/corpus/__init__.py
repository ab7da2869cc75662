"""The corpus: the unit users share, and the format every stage reads (docs/augment.md).

A corpus is a directory of `part-*.parquet` files and a `manifest.json` that any Parquet reader
can open. Augmentation writes it, training and experiments read it; neither reaches into the
other. `kinds` declares the row kinds, `schema` says what a row is, `parts` how part files are
written and listed, `reader`
opens a corpus, `recipe` replays how a row's features were composed, `verify` and `inspect`
check and describe one, `card` writes its README.

>>> from amr.corpus import Corpus
>>> Corpus.open("runs/demo/corpus").rows
"""

from amr.corpus.inspect import CorpusSummary, run_sql, summarize_corpus
from amr.corpus.kinds import AUGMENT_KINDS, KINDS, AugmentKind
from amr.corpus.parts import PartInfo
from amr.corpus.reader import Corpus
from amr.corpus.schema import (
    COMPONENTS,
    MANIFEST,
    corpus_schema,
    features_from_arrow,
    recipes_from_arrow,
)
from amr.corpus.verify import VerifyReport, verify

__all__ = [
    "AUGMENT_KINDS",
    "COMPONENTS",
    "KINDS",
    "MANIFEST",
    "AugmentKind",
    "Corpus",
    "CorpusSummary",
    "PartInfo",
    "VerifyReport",
    "corpus_schema",
    "features_from_arrow",
    "recipes_from_arrow",
    "run_sql",
    "summarize_corpus",
    "verify",
]
