"""A corpus loads with default settings in the four readers the README shows (pyarrow, pandas,
DuckDB, Hugging Face `datasets`), and each README example decodes a row's features exactly."""

from __future__ import annotations

import json

import datasets
import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
import yaml

from amr.augment import AugmentConfig, augment
from amr.corpus import Corpus, features_from_arrow
from amr.corpus.schema import features_to_arrow
from amr.errors import AmrError

datasets.disable_progress_bars()


@pytest.fixture(scope="module")
def corpus(small_store, tmp_path_factory) -> Corpus:
    out = tmp_path_factory.mktemp("readers") / "corpus"
    augment(small_store, "train", out, AugmentConfig(multiplier=2, seed=0), show_progress=False)
    return Corpus.open(out)


def _amr_rows(corpus: Corpus) -> dict[int, np.ndarray]:
    """Every row's features as amr's own reader sees them (the reference for the readers)."""
    rows = {}
    for _, table in corpus.iter_tables(["sample_id", "features"]):
        flat, offsets = features_from_arrow(table.column("features"), corpus.video_dim)
        for i, sample in enumerate(table.column("sample_id").to_pylist()):
            rows[sample] = flat[offsets[i] : offsets[i + 1]]
    return rows


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == np.float16 and np.array_equal(a.view(np.uint16), b.view(np.uint16))


def test_pyarrow_pandas_and_duckdb_decode_rows_with_default_settings(corpus):
    expected, dim = _amr_rows(corpus), corpus.video_dim
    part = str(corpus.part_paths()[0])

    row = pq.read_table(part).slice(3, 1).to_pylist()[0]
    clips = np.frombuffer(row["features"], "<f2").reshape(row["n_clips"], dim)
    assert _same(clips, expected[row["sample_id"]])

    frame = pd.read_parquet(part)  # every column, no dtype_backend
    for i in (0, len(frame) - 1):
        clips = np.frombuffer(frame.features[i], "<f2").reshape(frame.n_clips[i], dim)
        assert _same(clips, expected[int(frame.sample_id[i])])

    glob = str(corpus.root / "part-*.parquet")
    found = duckdb.execute(f"SELECT sample_id, n_clips, features FROM '{glob}'").fetchall()
    assert len(found) == corpus.rows
    sample, n_clips, blob = found[-1]
    assert _same(np.frombuffer(blob, "<f2").reshape(n_clips, dim), expected[sample])


def test_hugging_face_loads_the_corpus_directory_as_its_card_says(corpus):
    expected, dim = _amr_rows(corpus), corpus.video_dim
    loaded = datasets.load_dataset(str(corpus.root), split="train")  # README.md names the parts
    assert loaded.num_rows == corpus.rows
    schema = pq.read_schema(corpus.part_paths()[0])
    assert loaded.features == datasets.Features.from_arrow_schema(schema)
    row = loaded[5]
    clips = np.frombuffer(row["features"], "<f2").reshape(row["n_clips"], dim)
    assert _same(clips, expected[row["sample_id"]])

    for fmt in ("numpy", "torch", "pandas"):  # every column converts; none raises
        batch = loaded.with_format(fmt)[:4]
        assert len(batch["sample_id"]) == 4

    def decode(batch):  # the card's with_transform route, exact whatever the last byte is
        batch["features"] = [
            np.frombuffer(blob, "<f2").reshape(n, dim)
            for blob, n in zip(batch["features"], batch["n_clips"], strict=True)
        ]
        return batch

    decoded = loaded.with_transform(decode)[:8]
    for sample, clips in zip(decoded["sample_id"], decoded["features"], strict=True):
        assert _same(clips, expected[sample])


def test_dataset_card_front_matter(corpus):
    text = (corpus.root / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    meta = yaml.safe_load(text.split("---\n")[1])
    (config,) = meta["configs"]
    assert config["data_files"] == [{"split": "train", "path": "part-*.parquet"}]
    assert config["config_name"] == meta["dataset_info"]["config_name"]
    assert meta["dataset_info"]["splits"] == [{"name": "train", "num_examples": corpus.rows}]
    assert meta["license"] == "other"  # a template world: see the card's Licence section
    assert "moment-retrieval" in meta["tags"]
    names = [field["name"] for field in meta["dataset_info"]["features"]]
    assert names == pq.read_schema(corpus.part_paths()[0]).names


def test_hugging_face_cache_follows_each_corpus_content(small_store, tmp_path):
    """`datasets` keys its cache on the card: two corpora in folders of the same name, and a
    corpus rewritten in place, must each load their own rows from one cache."""
    cache = str(tmp_path / "hf-cache")
    first, second = tmp_path / "a" / "corpus", tmp_path / "b" / "corpus"
    augment(small_store, "train", first, AugmentConfig(multiplier=1, seed=0), show_progress=False)
    augment(small_store, "train", second, AugmentConfig(multiplier=3, seed=1), show_progress=False)
    rows = {path: Corpus.open(path).rows for path in (first, second)}
    assert rows[first] != rows[second]
    for path in (first, second):
        loaded = datasets.load_dataset(str(path), split="train", cache_dir=cache)
        assert loaded.num_rows == rows[path]

    config = AugmentConfig(multiplier=2, seed=0)
    augment(small_store, "train", first, config, overwrite=True, show_progress=False)
    rewritten = Corpus.open(first).rows
    assert rewritten not in rows.values()
    assert datasets.load_dataset(str(first), split="train", cache_dir=cache).num_rows == rewritten


def test_features_column_round_trips_and_reads_the_format_2_layout():
    rng = np.random.default_rng(0)
    dim, clips = 6, np.array([3, 1, 4, 2])
    flat = rng.standard_normal((clips.sum(), dim)).astype(np.float16)
    flat[-1, -1] = 0  # a row whose bytes end in zeros
    offsets = np.concatenate([[0], np.cumsum(clips)])
    column = features_to_arrow(flat, offsets)
    assert column.type == pa.binary()
    got, got_offsets = features_from_arrow(column.slice(1, 2), dim)  # a slice, as row groups are
    assert np.array_equal(got_offsets, [0, 1, 5])
    assert _same(got, flat[3:8])

    old = pa.ListArray.from_arrays(
        pa.array(offsets.astype(np.int32)),
        pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(2 * dim), len(flat), [None, pa.py_buffer(flat)]
        ),
    )
    got, got_offsets = features_from_arrow(old, dim)
    assert np.array_equal(got_offsets, offsets) and _same(got, flat)


def test_features_of_a_broken_row_are_an_error_naming_it():
    blob = pa.array([b"\x00" * 12, b"\x00" * 5], pa.binary())
    with pytest.raises(AmrError, match=r"part-00003\.parquet row 1: features are not whole 6-d"):
        features_from_arrow(blob, 6, "part-00003.parquet ")


def _as_format_2(corpus: Corpus, out) -> Corpus:
    """A copy of `corpus` written as amr before format 3 wrote it (one value per clip)."""
    import shutil

    from amr.corpus.parts import part_writer
    from amr.corpus.schema import corpus_schema

    shutil.copytree(corpus.root, out)
    manifest = json.loads((out / "manifest.json").read_text())
    schema = corpus_schema(corpus.video_dim, 2)
    for entry in manifest["parts"]:
        table = pq.read_table(out / entry["file"])
        flat, offsets = features_from_arrow(table.column("features"), corpus.video_dim)
        per_clip = pa.ListArray.from_arrays(
            pa.array(offsets.astype(np.int32)),
            pa.FixedSizeBinaryArray.from_buffers(
                pa.binary(2 * corpus.video_dim), len(flat), [None, pa.py_buffer(flat.copy())]
            ),
        )
        table = table.set_column(table.schema.get_field_index("features"), "features", per_clip)
        group = pq.ParquetFile(corpus.root / entry["file"]).metadata.row_group(0).num_rows
        with part_writer(out / entry["file"], schema) as writer:
            for start in range(0, table.num_rows, group):  # the same row groups
                writer.write_table(table.slice(start, group).cast(schema))
        entry["bytes"] = (out / entry["file"]).stat().st_size
        entry["checksum"] = writer.checksum
    manifest["format_version"] = 2
    (out / "manifest.json").write_text(json.dumps(manifest))
    return Corpus.open(out)


def test_amr_still_reads_and_trains_on_format_2_corpora(corpus, small_store, tmp_path):
    from amr.corpus import verify
    from amr.train.curriculum import plan_epoch
    from amr.train.data import CorpusSource, LoaderConfig, iterate_batches

    old = _as_format_2(corpus, tmp_path / "old")
    assert old.format_version == 2
    assert pa.types.is_list(pq.read_schema(old.part_paths()[0]).field("features").type)
    report = verify(old.root, small_store, show_progress=False)
    assert report.ok and report.checked_features, report.problems
    assert {k: v.tobytes() for k, v in _amr_rows(old).items()} == {
        k: v.tobytes() for k, v in _amr_rows(corpus).items()
    }
    config = LoaderConfig(batch_size=8, window_rows=40, workers=1)
    batches = []
    for source_corpus in (corpus, old):
        source = CorpusSource(source_corpus.root, small_store, {"splice"}, config, seed=0)
        plan = plan_epoch(source.eligible, 0, 0, None, config.window_rows)
        batches.append([b.video for _, b in iterate_batches(source, plan)])
    assert len(batches[0]) == len(batches[1])
    for a, b in zip(*batches, strict=True):
        assert a.shape == b.shape and torch.equal(a, b), (a.shape, b.shape)
