"""An augmentation kind is one declaration (amr/corpus/kinds.py): a kind added there, and only
there, is generated, written to the corpus, summarised by `amr inspect`, drawn by `amr show` and
offered by `amr augment --help`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from amr.corpus import Corpus
from amr.corpus.kinds import AUGMENT_KINDS, AUGMENTED, KINDS, kind_flags

# `amr`, run after one declaration is added to amr/corpus/kinds.py (as an edit of that file would)
WITH_A_NEW_KIND = """
import sys
import amr.corpus.kinds as kinds
new = kinds.AugmentKind(
    "squeeze-negative", fades=False, stretches=True, carries_negatives=True,
    help="the moments resampled and pasted beside look-alike windows",
)
kinds.AUGMENT_KINDS = (*kinds.AUGMENT_KINDS, new)
kinds.AUGMENTED = tuple(kind.name for kind in kinds.AUGMENT_KINDS)
kinds.KINDS = (kinds.ORIGINAL, *kinds.AUGMENTED)
from amr.cli import main
sys.argv = ["amr", *sys.argv[1:]]
main()
"""


def _amr(*args: str) -> subprocess.CompletedProcess:
    wide = {**os.environ, "COLUMNS": "400"}  # help on one line per option
    return subprocess.run(
        [sys.executable, "-c", WITH_A_NEW_KIND, *args],
        capture_output=True, text=True, timeout=300, env=wide,
    )  # fmt: skip


def test_the_kinds_are_the_declarations():
    assert ("original", *(kind.name for kind in AUGMENT_KINDS)) == KINDS and KINDS[1:] == AUGMENTED
    for flag in ("fades", "stretches", "carries_negatives"):
        assert kind_flags(flag).tolist() == [False, *(getattr(k, flag) for k in AUGMENT_KINDS)]


@pytest.mark.slow
def test_a_kind_declared_in_one_place_reaches_every_command(small_store, tmp_path):
    assert "squeeze-negative: the moments resampled" in " ".join(
        _amr("augment", "--help").stdout.split()
    )
    corpus = tmp_path / "corpus"
    made = _amr("augment", "--store", str(small_store), "--out", str(corpus), "--multiplier", "2",
                "--kinds", "splice,squeeze-negative", "--quiet")  # fmt: skip
    assert made.returncode == 0, made.stderr
    opened = Corpus.open(corpus)
    assert set(opened.manifest["kinds"]) == {"original", "splice", "squeeze-negative"}
    table = pa.concat_tables(t for _, t in opened.iter_tables(["kind", "negative_windows",
                                                                 "compression"]))  # fmt: skip
    new = table.filter(pc.equal(table.column("kind"), "squeeze-negative"))
    assert new.num_rows == opened.manifest["kinds"]["squeeze-negative"] > 0
    carried = pc.list_value_length(new.column("negative_windows")).to_numpy()
    assert (carried > 0).mean() > 0.5  # it carries negatives, as declared
    assert np.mean(new.column("compression").to_numpy() > 0) > 0.5  # and resamples

    summary = json.loads(_amr("inspect", "--corpus", str(corpus), "--json").stdout)
    assert "squeeze-negative" in {row[0] for row in summary["kinds"]}  # the difficulty table
    drawn = _amr("show", "--corpus", str(corpus), "--where", "kind = 'squeeze-negative'",
                 "--limit", "2", "--out", str(tmp_path / "new.png"), "--json")  # fmt: skip
    assert drawn.returncode == 0 and len(json.loads(drawn.stdout)["samples"]) == 2
