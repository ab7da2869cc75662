import json

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from amr.datasets import Store, StoreMeta, compute_fingerprint, feature_files
from amr.datasets.schema import SAMPLES_SCHEMA
from amr.datasets.store import create_store
from amr.errors import AmrError


def _samples(vids, first_qid=1):
    return pa.table(
        {
            "qid": [first_qid + i for i in range(len(vids))],
            "query": [f"query {i}" for i in range(len(vids))],
            "vid": vids,
            "duration": [20.0] * len(vids),
            "relevant_windows": [[[2.0, 6.0]]] * len(vids),
            "relevant_clip_ids": [[1, 2]] * len(vids),
            "saliency_scores": [[[1, 2, 3], [2, 3, 4]]] * len(vids),
            "wrong_spans": [[[10.0, 14.0]]] * len(vids),
        },
        schema=SAMPLES_SCHEMA,
    )


@pytest.fixture
def small_store(tmp_path, monkeypatch):
    """A store with many row groups, and the matrices that went into it."""
    monkeypatch.setattr(feature_files, "ROW_GROUP_BYTES", 800)
    rng = np.random.default_rng(0)
    videos = {
        f"v{i}": rng.standard_normal((int(rng.integers(3, 12)), 16)).astype(np.float16)
        for i in range(40)
    }
    texts = {
        i + 1: rng.standard_normal((int(rng.integers(2, 6)), 8)).astype(np.float16)
        for i in range(40)
    }
    meta = StoreMeta(name="t", clip_length=2.0, video_dim=16, text_dim=8)
    with create_store(tmp_path / "store", meta) as writer:
        for vid, matrix in videos.items():
            writer.videos.add(vid, matrix)
        for qid, matrix in texts.items():
            writer.texts.add(qid, matrix)
        writer.write_samples("train", _samples(list(videos)))
    return tmp_path / "store", videos, texts


def test_lookups_by_id_across_row_groups_with_a_small_cache(small_store):
    root, videos, texts = small_store
    store = Store.open(root, cache_bytes=1000)
    assert store.videos._file.num_row_groups >= 8
    order = np.random.default_rng(1).permutation(list(videos))
    for vid in [*order, *order[::-1]]:
        np.testing.assert_array_equal(store.video_features(vid), videos[vid])
        assert store.n_clips(vid) == len(videos[vid])
    for qid, matrix in texts.items():
        np.testing.assert_array_equal(store.text_features(qid), matrix)


def test_returned_features_are_read_only_and_unknown_ids_raise(small_store):
    store = Store.open(small_store[0])
    features = store.video_features("v3")
    with pytest.raises(ValueError):
        features[0, 0] = 1.0
    with pytest.raises(KeyError):
        store.video_features("nope")
    with pytest.raises(AmrError, match="no split 'val' \\(splits: train\\)"):
        store.samples("val")


def test_store_json_records_the_fingerprint_of_the_parquet_files(small_store):
    root = small_store[0]
    store = Store.open(root)
    assert store.meta.fingerprint == compute_fingerprint(root)
    assert store.meta.splits["train"].queries == 40 and store.meta.splits["train"].labeled
    path = root / "video_features.parquet"
    data = bytearray(path.read_bytes())
    at = bytes(data).index(small_store[1]["v5"].tobytes())  # inside an uncompressed page
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
    assert not Store.open(root).verify_fingerprint()


def test_a_corrupt_file_is_a_clear_error(small_store):
    path = small_store[0] / "video_features.parquet"
    path.write_bytes(path.read_bytes()[:-100] + bytes(100))
    with pytest.raises(AmrError, match=r"video_features.parquet: unreadable Parquet file"):
        Store.open(small_store[0])


def test_other_tools_read_the_store_without_amr(small_store):
    root, videos, _ = small_store
    con = duckdb.connect()
    row = con.execute(
        f"select n_clips, len(features), len(features[1]), features[1][1] "
        f"from '{root}/video_features.parquet' where vid = 'v5'"
    ).fetchone()
    assert row[:3] == (len(videos["v5"]), len(videos["v5"]), 16)
    assert row[3] == pytest.approx(float(videos["v5"][0, 0]))
    frame = pd.read_parquet(root / "samples-train.parquet")
    assert list(frame.columns) == SAMPLES_SCHEMA.names and len(frame) == 40


def test_open_errors(tmp_path, small_store):
    with pytest.raises(AmrError, match=r"not a store \(no store\.json\)"):
        Store.open(tmp_path / "nothing")
    root = small_store[0]
    body = json.loads((root / "store.json").read_text())
    (root / "store.json").write_text(json.dumps({**body, "format_version": 99}))
    with pytest.raises(AmrError, match="store format version 99 is not supported"):
        Store.open(root)
    (root / "store.json").write_text("{")
    with pytest.raises(AmrError, match="malformed JSON"):
        Store.open(root)
    (root / "store.json").write_text(json.dumps(body))
    (root / "text_features.parquet").unlink()
    with pytest.raises(AmrError, match=r"store is missing text_features.parquet"):
        Store.open(root)


def test_writer_rejects_wrong_shapes_and_repeats(tmp_path):
    meta = StoreMeta(name="t", clip_length=2.0, video_dim=4, text_dim=4)
    with (
        pytest.raises(AmrError, match="features of shape \\(3, 5\\)"),
        create_store(tmp_path / "s", meta) as writer,
    ):
        writer.videos.add("a", np.zeros((3, 5), np.float16))
    with pytest.raises(AmrError, match="written twice"), create_store(tmp_path / "s", meta) as w:
        w.videos.add("a", np.zeros((3, 4), np.float16))
        w.videos.add("a", np.zeros((3, 4), np.float16))
    assert not (tmp_path / "s").exists()
