import ast
import threading
import time

import numpy as np
import pytest

from amr.datasets.features import FeatureDirectory, load_video
from amr.datasets.importer import ordered_map
from amr.errors import AmrError
from tests.conftest import l2, write_text_dir, write_video_dir


def test_moment_detr_npz_is_read_and_normalised(tmp_path):
    arrays = write_video_dir(tmp_path / "slowfast", {"v1": 10}, 24, "npz", seed=0)
    got = FeatureDirectory(tmp_path / "slowfast", "video").load("v1")
    np.testing.assert_allclose(got, l2(arrays["v1"]), rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-6)


def test_amr_npy_with_k_axis_is_flattened_per_clip(tmp_path):
    arrays = write_video_dir(tmp_path / "clip_k4", {"v1": 7}, 32, "npy-k4", seed=1)
    got = FeatureDirectory(tmp_path / "clip_k4", "video").load("v1")
    assert got.shape == (7, 32)
    np.testing.assert_allclose(got, l2(arrays["v1"]), rtol=1e-6)


def test_sources_are_cut_to_the_shortest_and_concatenated(tmp_path):
    a = write_video_dir(tmp_path / "a", {"v": 12}, 8, "npz", seed=2)["v"]
    b = write_video_dir(tmp_path / "b", {"v": 10}, 16, "npy-k4", seed=3)["v"]
    dirs = [FeatureDirectory(tmp_path / "a", "video"), FeatureDirectory(tmp_path / "b", "video")]
    got = load_video(dirs, "v")
    assert got.shape == (10, 24)
    np.testing.assert_allclose(got[:, :8], l2(a)[:10], rtol=1e-6)
    np.testing.assert_allclose(got[:, 8:], l2(b), rtol=1e-6)


@pytest.mark.parametrize("layout", ["npz", "npy"])
def test_text_layouts(tmp_path, layout):
    arrays = write_text_dir(tmp_path / "txt", {42: 5}, 16, layout, seed=4)
    got = FeatureDirectory(tmp_path / "txt", "text").load(42)
    np.testing.assert_allclose(got, l2(arrays[42]), rtol=1e-6)


def test_threaded_loads_never_parse_two_headers_at_once(tmp_path, monkeypatch):
    # np.load parses headers with ast.literal_eval, which CPython 3.11.0-3.11.7 can fail in two
    # threads at once (gh-106905): the importer's thread pool must take turns there.
    arrays = write_text_dir(tmp_path / "txt", {q: 3 for q in range(24)}, 8, "npz", seed=6)
    real_literal_eval, guard = ast.literal_eval, threading.Lock()
    inside, most_inside = 0, 0

    def slow_literal_eval(text):
        nonlocal inside, most_inside
        with guard:
            inside += 1
            most_inside = max(most_inside, inside)
        time.sleep(0.002)  # widens the window two unguarded threads would share
        with guard:
            inside -= 1
        return real_literal_eval(text)

    monkeypatch.setattr(ast, "literal_eval", slow_literal_eval)
    texts = FeatureDirectory(tmp_path / "txt", "text")
    loaded = dict(ordered_map(lambda q: (q, texts.load(q)), range(24), workers=4, window=8))
    assert most_inside == 1
    for q, matrix in loaded.items():
        np.testing.assert_allclose(matrix, l2(arrays[q]), rtol=1e-6)


def test_missing_file_names_the_id_and_directory(tmp_path):
    write_video_dir(tmp_path / "feat", {"v1": 3}, 8, "npz", seed=0)
    with pytest.raises(AmrError, match=r"feat: no features for video 'v2' \(looked for v2.npz"):
        FeatureDirectory(tmp_path / "feat", "video").load("v2")
    with pytest.raises(AmrError, match="no features for query 9"):
        FeatureDirectory(tmp_path / "feat", "text").load(9)


def test_missing_directory(tmp_path):
    with pytest.raises(AmrError, match="video feature directory not found"):
        FeatureDirectory(tmp_path / "nowhere", "video")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_are_refused(tmp_path, bad):
    x = np.ones((4, 8), np.float32)
    x[2, 3] = bad
    np.savez(tmp_path / "v.npz", features=x)
    with pytest.raises(AmrError, match=r"v.npz: features contain NaN or Inf"):
        FeatureDirectory(tmp_path, "video").load("v")


def test_dims_must_agree_within_a_directory(tmp_path):
    np.savez(tmp_path / "a.npz", features=np.ones((4, 8), np.float32))
    np.savez(tmp_path / "b.npz", features=np.ones((4, 6), np.float32))
    source = FeatureDirectory(tmp_path, "video")
    source.load("a")
    with pytest.raises(AmrError, match=r"b.npz: feature dim 6 differs from 8 of a.npz"):
        source.load("b")


def test_pickled_and_wrong_files_are_refused(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"x": 1}], dtype=object))
    with pytest.raises(AmrError, match="unreadable feature file"):
        FeatureDirectory(tmp_path, "video").load("obj")
    np.savez(tmp_path / "nokey.npz", other=np.ones((2, 2)))
    with pytest.raises(AmrError, match="no 'features' in archive"):
        FeatureDirectory(tmp_path, "video").load("nokey")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(AmrError, match="unreadable feature file"):
        FeatureDirectory(tmp_path, "video").load("junk")
    np.save(tmp_path / "ints.npy", np.ones((3, 4), np.int64))
    with pytest.raises(AmrError, match="must be floating point"):
        FeatureDirectory(tmp_path, "video").load("ints")
