"""Wrong spans: read from annotation files (checked), mined otherwise (never on a window or its
margin, the look-alike found), recomputed by `amr datasets wrong-spans`, absent in old stores."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from amr.cli import cli
from amr.datasets import Store
from amr.datasets.annotations import read_annotations
from amr.datasets.remine import remine_wrong_spans
from amr.datasets.wrong_spans import MiningConfig, mine_query, window_clips
from amr.errors import AmrError
from tests.conftest import read_jsonl, write_jsonl


def _unit(features):
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    return unit, np.concatenate([np.zeros((1, unit.shape[1])), unit.cumsum(0)])


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(3, 60),
    first=st.integers(0, 50),
    length=st.integers(1, 15),
    per_query=st.integers(1, 4),
    margin=st.integers(0, 3),
    seed=st.integers(0, 1000),
)
def test_a_mined_span_never_touches_a_window_or_its_margin(n, first, length, per_query, margin,
                                                          seed):  # fmt: skip
    first = min(first, n - 1)
    windows = [(first, min(n, first + length))]
    unit, cumulative = _unit(np.random.default_rng(seed).normal(size=(n, 8)))
    config = MiningConfig(per_query=per_query, margin=margin, max_clips=6)
    spans = mine_query(unit, cumulative, windows, config)
    assert len(spans) <= per_query
    taken = np.zeros(n, int)
    for start, stop in spans:
        assert 0 <= start < stop <= n and stop - start <= 6
        assert stop + margin <= windows[0][0] or start >= windows[0][1] + margin
        taken[start:stop] += 1
    assert taken.max(initial=0) <= 1  # wrong spans do not overlap each other


def test_the_miner_finds_the_planted_look_alike():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(40, 16))
    moment = rng.normal(size=16)
    features[5:9] = moment + 0.1 * rng.normal(size=(4, 16))  # the moment
    features[25:29] = moment + 0.3 * rng.normal(size=(4, 16))  # its twin
    unit, cumulative = _unit(features)
    spans = mine_query(unit, cumulative, [(5, 9)], MiningConfig(per_query=1))
    assert spans == [(25, 29)]
    assert window_clips([[10.0, 17.0]], 2.0) == [(5, 9)]


def test_annotated_wrong_spans_are_read_and_bad_ones_are_one_line_errors(tmp_path, qvh_val):
    rows = read_jsonl(qvh_val, limit=3)
    rows[0]["wrong_spans"] = [[0, 2], [120, 124]]
    rows[0]["relevant_windows"] = [[40, 60]]
    path = write_jsonl(tmp_path / "ok.jsonl", rows)
    table, report = read_annotations(path, 2.0)
    assert report.wrong_spans and table.column("wrong_spans").to_pylist()[0] == [[0, 2], [120, 124]]
    assert table.column("wrong_spans").to_pylist()[1] == []
    for bad, message in (
        ([[50, 70]], "overlaps relevant window"),
        ([[140, 160]], "is not inside the video"),
        ([[3]], "is not \\[start, end\\]"),
        ("no", "wrong_spans must be a list"),
    ):
        rows[0]["wrong_spans"] = bad
        path = write_jsonl(tmp_path / "bad.jsonl", rows)
        with pytest.raises(AmrError, match=f"bad.jsonl:1 \\(qid {rows[0]['qid']}\\): .*{message}"):
            read_annotations(path, 2.0)


def test_stores_mine_wrong_spans_and_the_command_recomputes_them(small_store, tmp_path):
    import shutil

    root = tmp_path / "store"
    shutil.copytree(small_store, root)
    store = Store.open(root)
    assert store.meta.wrong_spans["train"] == MiningConfig().to_json()
    mined = store.samples("train").column("wrong_spans").to_pylist()
    assert sum(len(s) for s in mined) > 0 and max(len(s) for s in mined) <= 2
    before = store.meta.fingerprint
    video_inode = (root / "video_features.parquet").stat().st_ino
    result = CliRunner().invoke(
        cli, ["datasets", "wrong-spans", "--store", str(root), "--split", "train",
              "--per-query", "1", "--margin", "2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    again = Store.open(root)
    assert again.meta.wrong_spans["train"] == {"method": "mined", "per_query": 1, "margin": 2,
                                               "max_clips": 10}  # fmt: skip
    assert again.meta.fingerprint != before and again.verify_fingerprint()
    assert max(len(s) for s in again.samples("train").column("wrong_spans").to_pylist()) == 1
    assert again.samples("val").equals(store.samples("val"))
    assert (root / "video_features.parquet").stat().st_ino == video_inode  # linked, not copied
    bad = CliRunner().invoke(
        cli, ["datasets", "wrong-spans", "--store", str(root), "--split", "nope"]
    )
    assert bad.exit_code == 1 and "no split 'nope'" in bad.output


def test_a_version_1_store_reads_as_having_no_wrong_spans(small_store, tmp_path):
    import shutil

    root = tmp_path / "old"
    shutil.copytree(small_store, root)
    for split in ("train", "val"):
        path = root / f"samples-{split}.parquet"
        pq.write_table(pq.read_table(path).drop_columns(["wrong_spans"]), path)
    body = json.loads((root / "store.json").read_text())
    body["format_version"] = 1
    del body["wrong_spans"]
    (root / "store.json").write_text(json.dumps(body))
    spans = Store.open(root).samples("train").column("wrong_spans").to_pylist()
    assert spans and all(s == [] for s in spans)
    meta, _ = remine_wrong_spans(root, ["train"], MiningConfig())
    assert meta.wrong_spans == {"train": MiningConfig().to_json()}


def test_mined_spans_find_the_synthetic_worlds_hidden_twins_better_than_chance(small_store):
    hits = Store.open(small_store).meta.sources["twin_hits"]
    assert hits["queries_with_twin"] > 20
    assert hits["mined_on_twin"] > hits["random_on_twin"] + 0.2
