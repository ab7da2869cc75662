import json
import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from amr.cli import cli
from amr.datasets import ImportConfig, Store, compute_fingerprint, import_dataset
from amr.errors import AmrError
from tests.conftest import l2, read_jsonl, write_jsonl, write_text_dir, write_video_dir

pytestmark = pytest.mark.slow  # features for every QVHighlights val and test video


@pytest.fixture(scope="module")
def qvh_features(tmp_path_factory, qvh_val, qvh_test):
    """Feature dirs for QVHighlights val and test, in both layouts, small dims."""
    root = tmp_path_factory.mktemp("qvh_features")
    rows = read_jsonl(qvh_val) + read_jsonl(qvh_test)
    vids = list(dict.fromkeys(r["vid"] for r in rows))
    # A few videos have one clip fewer in the second source: the importer cuts to the shortest.
    slowfast = write_video_dir(root / "slowfast", dict.fromkeys(vids, 75), 12, "npz", seed=0)
    short = {vid: 74 if i % 50 == 0 else 75 for i, vid in enumerate(vids)}
    clip = write_video_dir(root / "clip_k4", short, 16, "npy-k4", seed=1)
    text = write_text_dir(root / "text", {r["qid"]: 4 + r["qid"] % 9 for r in rows}, 8, "npz", 2)
    return root, slowfast, clip, text


def _config(root, out, pairs, **kw):
    return ImportConfig(
        dataset="qvhighlights",
        annotations=pairs,
        video_features=[root / "slowfast", root / "clip_k4"],
        text_features=root / "text",
        out=out,
        **kw,
    )


@pytest.fixture(scope="module")
def val_store(tmp_path_factory, qvh_features, qvh_val):
    root = qvh_features[0]
    out = tmp_path_factory.mktemp("stores") / "qvh"
    summary = import_dataset(_config(root, out, [("val", qvh_val)]), show_progress=False)
    return out, summary


def test_import_round_trips_features_within_float16(val_store, qvh_features, qvh_val):
    out, summary = val_store
    _, slowfast, clip, text = qvh_features
    store = Store.open(out)
    assert store.meta.video_dim == 12 + 16 and store.meta.text_dim == 8
    assert store.meta.splits["val"].queries == 1550 and summary.queries_read == 1550
    samples = store.samples("val").to_pylist()
    assert [r["qid"] for r in samples] == [r["qid"] for r in read_jsonl(qvh_val)]
    for row in samples[::37]:
        vid, qid = row["vid"], row["qid"]
        want_video = np.concatenate([l2(slowfast[vid])[: len(clip[vid])], l2(clip[vid])], axis=1)
        got_video = store.video_features(vid)
        assert got_video.dtype == np.float16 and got_video.shape == want_video.shape
        np.testing.assert_allclose(got_video, want_video, atol=2e-3)
        np.testing.assert_allclose(store.text_features(qid), l2(text[qid]), atol=2e-3)


def test_import_reports_clips_past_the_features(val_store):
    # Videos cut to 74 clips whose annotations reach clip 74 are counted, labels kept.
    _, summary = val_store
    assert summary.clips_past_features > 0


def test_only_referenced_videos_are_read(val_store, qvh_val):
    out, summary = val_store
    store = Store.open(out)
    vids = {r["vid"] for r in read_jsonl(qvh_val)}
    assert set(store.videos.keys()) == vids and summary.videos_read == len(vids)


def test_adding_a_split_keeps_the_fingerprint_honest(tmp_path, val_store, qvh_features, qvh_test):
    out = tmp_path / "qvh"
    shutil.copytree(val_store[0], out)
    before = Store.open(out).meta.fingerprint
    import_dataset(_config(qvh_features[0], out, [("test", qvh_test)]), show_progress=False)
    store = Store.open(out)
    assert store.splits == ["val", "test"]
    assert not store.meta.splits["test"].labeled and store.meta.splits["val"].labeled
    assert store.meta.fingerprint != before
    assert store.meta.fingerprint == compute_fingerprint(out) and store.verify_fingerprint()
    assert [entry["splits"] for entry in store.meta.sources["imports"]] == [["val"], ["test"]]
    assert store.samples("val").equals(Store.open(val_store[0]).samples("val"))
    test_row = store.samples("test").slice(0, 1).to_pylist()[0]
    assert store.text_features(test_row["qid"]).shape[1] == 8
    assert store.video_features(test_row["vid"]).shape[1] == 28


def test_failed_import_leaves_the_existing_store_untouched(tmp_path, val_store, qvh_features):
    out = tmp_path / "qvh"
    shutil.copytree(val_store[0], out)
    snapshot = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            {
                "qid": 900001,
                "query": "q",
                "vid": "no_such_video",
                "duration": 10,
                "relevant_windows": [[0, 2]],
            },
        ],
    )
    with pytest.raises(AmrError, match="no features for video 'no_such_video'"):
        import_dataset(_config(qvh_features[0], out, [("extra", bad)]), show_progress=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == snapshot
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_store_swap_killed_between_its_renames_loses_nothing(
    tmp_path, val_store, qvh_features, qvh_test, monkeypatch
):
    out = tmp_path / "qvh"
    shutil.copytree(val_store[0], out)
    snapshot = {p.name: p.read_bytes() for p in out.iterdir()}
    real_replace = os.replace

    def killed_before_the_new_store_moves_in(src, dst):
        if Path(src).name.startswith(".qvh.building-"):
            raise KeyboardInterrupt
        real_replace(src, dst)

    def import_cut_at_its_swap(split, annotations):
        with monkeypatch.context() as patch:
            patch.setattr(os, "replace", killed_before_the_new_store_moves_in)
            with pytest.raises(KeyboardInterrupt):
                config = _config(qvh_features[0], out, [(split, annotations)])
                import_dataset(config, show_progress=False)
        assert not out.exists()  # the old store waits in a retired folder beside it

    one = write_jsonl(tmp_path / "one.jsonl", read_jsonl(qvh_test)[:1])
    other = write_jsonl(tmp_path / "other.jsonl", read_jsonl(qvh_test)[1:2])
    import_cut_at_its_swap("extra", one)
    # Importing again adds to the old store, not to an empty path.
    import_dataset(_config(qvh_features[0], out, [("extra", one)]), show_progress=False)
    assert Store.open(out).splits == ["val", "extra"]
    assert (out / "samples-val.parquet").read_bytes() == snapshot["samples-val.parquet"]

    import_cut_at_its_swap("more", other)
    assert Store.open(out).splits == ["val", "extra"]  # opening it brings it back too
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_failed_import_into_a_new_path_writes_nothing(tmp_path, qvh_features):
    bad = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            {
                "qid": 1,
                "query": "q",
                "vid": "missing",
                "duration": 10,
                "relevant_windows": [[0, 2]],
            },
        ],
    )
    out = tmp_path / "new_store"
    with pytest.raises(AmrError):
        import_dataset(_config(qvh_features[0], out, [("val", bad)]), show_progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]


def test_duplicate_qid_across_splits_and_existing_split(tmp_path, val_store, qvh_features, qvh_val):
    with pytest.raises(AmrError, match=r"qid \d+ is also in split 'val'"):
        import_dataset(
            _config(qvh_features[0], tmp_path / "s", [("val", qvh_val), ("again", qvh_val)]),
            show_progress=False,
        )
    with pytest.raises(AmrError, match="split 'val' given twice or already in"):
        import_dataset(
            _config(qvh_features[0], val_store[0], [("val", qvh_val)]), show_progress=False
        )


def test_refuses_to_overwrite_a_directory_that_is_not_a_store(tmp_path, qvh_features, qvh_val):
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "notes.txt").write_text("keep me")
    with pytest.raises(AmrError, match="exists and is not a store"):
        import_dataset(
            _config(qvh_features[0], tmp_path / "precious", [("val", qvh_val)]), show_progress=False
        )
    assert (tmp_path / "precious" / "notes.txt").read_text() == "keep me"


def test_charades_import_uses_one_second_clips(tmp_path, charades_val):
    rows = read_jsonl(charades_val, limit=60)
    ann = write_jsonl(tmp_path / "charades.jsonl", rows)
    vids = {r["vid"]: int(np.ceil(r["duration"])) for r in rows}
    write_video_dir(tmp_path / "vid", vids, 8, "npz", seed=5)
    write_text_dir(tmp_path / "txt", {r["qid"]: 6 for r in rows}, 4, "npy", seed=6)
    config = ImportConfig(
        "charades", [("val", ann)], [tmp_path / "vid"], tmp_path / "txt", tmp_path / "store"
    )
    import_dataset(config, show_progress=False)
    store = Store.open(tmp_path / "store")
    assert store.meta.clip_length == 1.0
    first = store.samples("val").slice(0, 1).to_pylist()[0]
    assert first["relevant_clip_ids"] == list(range(24, 31))  # window [24.3, 30.4] at 1-s clips
    assert pq.read_table(tmp_path / "store" / "samples-val.parquet").num_rows == 60


def test_activitynet_captions_import_strips_and_counts_spaces_around_queries(tmp_path):
    """ActivityNet Captions as the field's trainers keep it: Moment-DETR-style lines, `v_…`
    video ids, float durations, sentences with spaces around them (stripped and counted)."""
    rows = [
        {"qid": 0, "query": " A man is seen speaking to the camera.", "duration": 82.73,
         "vid": "v_QOlSCBRmfWY", "relevant_windows": [[0.83, 19.86]]},
        {"qid": 1, "query": "He then holds up a knife. ", "duration": 82.73,
         "vid": "v_QOlSCBRmfWY", "relevant_windows": [[17.37, 60.81]]},
        {"qid": 2, "query": "A woman rides a camel.", "duration": 55.15,
         "vid": "v_ehGHCYKzyZ8", "relevant_windows": [[0.0, 56.2]]},  # 1.05 s past: clamped
    ]  # fmt: skip
    ann = write_jsonl(tmp_path / "anet_val.jsonl", rows)
    write_video_dir(tmp_path / "vid", {"v_QOlSCBRmfWY": 42, "v_ehGHCYKzyZ8": 28}, 8, "npz", 1)
    write_text_dir(tmp_path / "txt", {r["qid"]: 7 for r in rows}, 4, "npz", seed=2)
    args = ["datasets", "import", "activitynet", "--annotations", str(ann), "--split", "val",
            "--video-features", str(tmp_path / "vid"), "--text-features", str(tmp_path / "txt"),
            "--out", str(tmp_path / "store")]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "stripped the spaces around 2 queries" in result.output
    store = Store.open(tmp_path / "store")
    assert store.meta.clip_length == 2.0  # the dataset's default
    samples = store.samples("val").to_pylist()
    assert [s["query"] for s in samples] == [r["query"].strip() for r in rows]
    assert samples[2]["relevant_windows"] == [[0.0, pytest.approx(55.15)]]

    rows[2]["relevant_windows"] = [[0.0, 57.5]]  # 2.35 s past a 55.15 s video: not a rounding
    write_jsonl(ann, rows)
    refused = CliRunner().invoke(cli, [*args[:-1], str(tmp_path / "other")])
    assert refused.exit_code == 1
    assert (
        f"{ann}:3 (qid 2): window [0.0, 57.5] ends 2.35 s after the video's duration 55.15, "
        "more than one clip (2 s)" in refused.output
    )


def test_cli_import_and_its_one_line_errors(tmp_path, qvh_features, qvh_val):
    root = qvh_features[0]
    rows = read_jsonl(qvh_val, limit=20)
    ann = write_jsonl(tmp_path / "small.jsonl", rows)
    runner = CliRunner()
    args = [
        "datasets",
        "import",
        "qvhighlights",
        "--annotations",
        str(ann),
        "--split",
        "val",
        "--video-features",
        str(root / "slowfast"),
        "--text-features",
        str(root / "text"),
        "--out",
        str(tmp_path / "store"),
        "--quiet",
    ]
    result = runner.invoke(cli, args[:-1])  # without --quiet: the summary table
    assert result.exit_code == 0, result.output
    assert "imported into" in result.output and "20" in result.output
    result = runner.invoke(cli, [*args[:-2], str(tmp_path / "store-json"), "--json"])
    body = json.loads(result.stdout)
    assert body["files"]["val"]["queries"] == 20 and body["fingerprint"].startswith("sha256:")

    missing = write_jsonl(tmp_path / "missing.jsonl", [{**rows[0], "qid": 77777777, "vid": "zz"}])
    args[4] = str(missing)
    args[-2] = str(tmp_path / "store2")
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "'zz'" in lines[0]

    result = runner.invoke(cli, [*args[:7], "--split", "test", *args[7:]])
    assert result.exit_code == 2 and "one --split per --annotations" in result.output


def test_a_video_of_one_clip_is_refused_naming_it(tmp_path, qvh_features, qvh_val):
    root = tmp_path / "features"
    shutil.copytree(qvh_features[0], root)
    row = read_jsonl(qvh_val, limit=1)[0]
    for name in ("slowfast", "clip_k4"):  # the video is 1 clip (2 s) long in both sources
        path = next((root / name).glob(f"{row['vid']}.*"))
        if path.suffix == ".npz":
            np.savez(path, features=np.load(path)["features"][:1])
        else:
            np.save(path, np.load(path)[:1])
    one = write_jsonl(
        tmp_path / "one.jsonl", [{**row, "duration": 2, "relevant_windows": [[0, 2]]}]
    )
    with pytest.raises(
        AmrError,
        match=rf"video '{row['vid']}': 1 clip of features \(2 s\); a video needs at least 2 clips",
    ):
        import_dataset(_config(root, tmp_path / "s", [("val", one)]), show_progress=False)
    assert not (tmp_path / "s").exists()


def test_hdf5_features_import_as_the_same_store_as_npz_files(tmp_path, qvh_val):
    """UniVTG's whole-split caches (and MAD's frame files): an HDF5 file with an array per id,
    read one array at a time; the store is the one the same features as .npz files make."""
    import h5py

    rows = read_jsonl(qvh_val, limit=12)
    ann = write_jsonl(tmp_path / "val.jsonl", rows)
    videos = write_video_dir(tmp_path / "vid", {r["vid"]: 75 for r in rows}, 8, "npz", seed=3)
    texts = write_text_dir(tmp_path / "txt", {r["qid"]: 6 for r in rows}, 4, "npz", seed=4)
    with h5py.File(tmp_path / "clip_vid.hdf5", "w") as f:
        for vid, matrix in videos.items():
            f[vid] = matrix
    with h5py.File(tmp_path / "clip_txt.hdf5", "w") as f:
        for qid, matrix in texts.items():
            f[str(qid)] = matrix
    config = ImportConfig(
        "qvhighlights", [("val", ann)], [tmp_path / "vid"], tmp_path / "txt", tmp_path / "npz"
    )
    import_dataset(config, show_progress=False)
    args = ["datasets", "import", "qvhighlights", "--annotations", str(ann), "--split", "val",
            "--video-features", str(tmp_path / "clip_vid.hdf5"),
            "--text-features", str(tmp_path / "clip_txt.hdf5")]  # fmt: skip
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "h5"), "--quiet"])
    assert result.exit_code == 0, result.output
    npz, h5 = Store.open(tmp_path / "npz"), Store.open(tmp_path / "h5")
    for row in rows:
        assert np.array_equal(npz.video_features(row["vid"]), h5.video_features(row["vid"]))
        assert np.array_equal(npz.text_features(row["qid"]), h5.text_features(row["qid"]))
    assert h5.meta.video_sources[0].name == "clip_vid"

    with h5py.File(tmp_path / "clip_txt.hdf5", "a") as f:
        del f[str(rows[5]["qid"])]
    missing = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "h5b"), "--quiet"])
    assert missing.exit_code == 1 and len(missing.stderr.strip().splitlines()) == 1
    assert f"clip_txt.hdf5: no key for query {rows[5]['qid']}" in missing.stderr
    assert not (tmp_path / "h5b").exists()
