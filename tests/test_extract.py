"""`amr features extract`: mp4 files and annotations → a store, through a tiny random CLIP
(nothing downloaded); resume per video; one-line errors; the store trains, predicts and
evaluates; Predictor.predict_video uses the same extractor."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from amr import Predictor
from amr.cli import cli
from amr.datasets import Store
from amr.features.tiny import write_tiny_world

pytestmark = pytest.mark.slow  # trains models or runs real processes


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return write_tiny_world(tmp_path_factory.mktemp("videos") / "world", n_videos=6)


def _extract(world, out, *extra: str):
    args = ["features", "extract", "--videos", str(world / "videos"), "--annotations",
            str(world / "train.jsonl"), "--split", "train", "--annotations",
            str(world / "val.jsonl"), "--split", "val", "--model", str(world / "clip"),
            "--out", str(out), "--frames-per-clip", "2", "--quiet", *extra]  # fmt: skip
    return CliRunner().invoke(cli, args, prog_name="amr")


@pytest.fixture(scope="module")
def extracted(world, tmp_path_factory):
    root = tmp_path_factory.mktemp("extracted")
    result = _extract(world, root / "store", "--also-npz", str(root / "npz"))
    assert result.exit_code == 0, result.output
    return root


def test_extract_writes_a_store_and_the_moment_detr_layout(world, extracted):
    store = Store.open(extracted / "store")
    assert (store.meta.video_dim, store.meta.text_dim) == (24, 32)  # the tiny CLIP's dims
    assert set(store.meta.splits) == {"train", "val"}
    for vid in ("video000", "video005"):
        features = store.video_features(vid)
        assert features.shape == (6, 24)  # 12 s at 2 s a clip
        assert np.allclose(np.linalg.norm(features.astype(np.float32), axis=1), 1, atol=1e-2)
        saved = np.load(extracted / "npz" / "video" / f"{vid}.npz")["features"]
        assert np.allclose(saved, features.astype(np.float32), atol=2e-3)
    words = store.text_features(0)
    assert words.shape[1] == 32 and len(words) == len("aredsquareappears") + 2  # letters, bos, eos
    # the square's clips look different from the background's
    features = store.video_features("video000").astype(np.float32)
    start, end = (int(t // 2) for t in json.loads((world / "train.jsonl").read_text().splitlines()[
        0])["relevant_windows"][0])  # fmt: skip
    inside, outside = features[start:end].mean(0), np.delete(features, range(start, end), 0)
    assert np.linalg.norm(inside - outside.mean(0)) > np.linalg.norm(outside.std(0)) / 4


def test_resume_keeps_finished_videos_and_gives_the_same_store(world, extracted, tmp_path):
    npz = tmp_path / "npz"
    shutil.copytree(extracted / "npz", npz)
    (npz / "video" / "video003.npz").unlink()
    kept = (npz / "video" / "video001.npz").stat().st_mtime_ns
    assert _extract(world, tmp_path / "again", "--also-npz", str(npz)).exit_code == 1  # no --resume
    result = _extract(world, tmp_path / "again", "--also-npz", str(npz), "--resume")
    assert result.exit_code == 0, result.output
    assert (npz / "video" / "video001.npz").stat().st_mtime_ns == kept  # not encoded again
    again, first = Store.open(tmp_path / "again"), Store.open(extracted / "store")
    assert again.meta.fingerprint == first.meta.fingerprint
    result = _extract(world, tmp_path / "again", "--also-npz", str(npz), "--resume", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["videos"] == 0  # finished: a no-op
    assert Store.open(tmp_path / "again").meta.fingerprint == first.meta.fingerprint


def test_bad_inputs_are_one_line_errors_and_keep_other_videos(world, tmp_path):
    broken = tmp_path / "world"
    shutil.copytree(world, broken)
    (broken / "videos" / "video004.mp4").write_bytes(b"not a video at all")
    npz = tmp_path / "npz"
    result = _extract(broken, tmp_path / "s1", "--also-npz", str(npz))
    assert result.exit_code == 1 and result.stderr.startswith("error: ")
    assert "video004.mp4: unreadable video" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (npz / "video" / "video000.npz").is_file()  # the videos before it are kept
    assert not (tmp_path / "s1").exists()

    (broken / "videos" / "video004.mp4").write_bytes(b"")
    result = _extract(broken, tmp_path / "s1", "--also-npz", str(npz), "--resume")
    assert result.exit_code == 1 and "video004.mp4: missing or empty video file" in result.stderr
    (broken / "videos" / "video004.mp4").unlink()
    result = _extract(broken, tmp_path / "s2")
    assert result.exit_code == 1 and "no video for vid 'video004'" in result.stderr

    from amr.features.tiny import write_videos

    write_videos(broken / "short", n_videos=1, seconds=1.0)
    with pytest.raises(Exception, match=r"1\.00 s is shorter than one clip \(2 s\)"):
        from amr.features.video import read_clip_frames

        read_clip_frames(broken / "short" / "video000.mp4", 2.0, 1, 32)

    not_clip = tmp_path / "bert"
    not_clip.mkdir()
    (not_clip / "config.json").write_text(json.dumps({"model_type": "bert"}))
    shutil.copytree(world / "videos", broken / "videos", dirs_exist_ok=True)
    result = CliRunner().invoke(cli, ["features", "extract", "--videos", str(broken / "videos"),
                                      "--annotations", str(broken / "train.jsonl"), "--split",
                                      "train", "--model", str(not_clip), "--out",
                                      str(tmp_path / "s3"), "--quiet"])  # fmt: skip
    assert result.exit_code == 1 and "not a CLIP model (model_type 'bert')" in result.stderr
    result = CliRunner().invoke(cli, ["features", "extract", "--videos", str(broken / "videos"),
                                      "--annotations", str(broken / "train.jsonl"), "--split",
                                      "train", "--model", "nobody/no-such-clip", "--out",
                                      str(tmp_path / "s4"), "--quiet"])  # fmt: skip
    assert result.exit_code == 1 and "huggingface-cli download nobody/no-such-clip" in result.stderr


def test_an_out_that_is_a_file_is_refused_before_any_video_is_read(world, tmp_path):
    out = tmp_path / "store"
    out.write_text("notes")
    result = _extract(world, out, "--also-npz", str(tmp_path / "npz"))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {out}: is a file; --out takes a directory"
    assert out.read_text() == "notes" and not (tmp_path / "npz").exists()  # nothing extracted


def test_features_tiny_replaces_only_its_own_world(tmp_path):
    mine = tmp_path / "tiny"
    run = ["features", "tiny", "--videos", "2", "--quiet", "--out"]
    assert CliRunner().invoke(cli, [*run, str(mine)]).exit_code == 0
    assert CliRunner().invoke(cli, [*run, str(mine)]).exit_code == 0  # amr's own: redrawn
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "train.jsonl").write_text("my annotations\n")
    result = CliRunner().invoke(cli, [*run, str(theirs)])
    assert result.exit_code == 1 and "is not a tiny world amr wrote" in result.stderr
    assert [p.name for p in theirs.iterdir()] == ["train.jsonl"]
    assert (theirs / "train.jsonl").read_text() == "my annotations\n"


def test_the_extracted_store_trains_predicts_and_evaluates(world, extracted, tmp_path):
    from test_distill import ONE, TINY

    from amr.train.stages import baseline

    store = extracted / "store"
    baseline(store, "train", tmp_path / "run", ONE, TINY, show_progress=False)
    runner = CliRunner()
    preds = tmp_path / "val_preds.jsonl"
    args = ["predict", "--checkpoint", str(tmp_path / "run"), "--store", str(store)]
    result = runner.invoke(cli, [*args, "--split", "val", "--out", str(preds), "--quiet"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["eval", "--predictions", str(preds), "--store", str(store),
                                 "--split", "val", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "MR-full-R1@0.5" in json.loads(result.stdout)["brief"]  # no saliency: Charades-style

    predictor = Predictor.from_checkpoint(tmp_path / "run", device="cpu", encoder=world / "clip")
    # The store records how its features were made; predict_video makes them the same way.
    assert predictor.extractor == {"model": str(world / "clip"), "frames_per_clip": 2}
    row = json.loads((world / "val.jsonl").read_text().splitlines()[0])
    path = world / "videos" / f"{row['vid']}.mp4"
    from_video = predictor.predict_video(path, row["query"], top_k=3)
    one_frame = predictor.predict_video(path, row["query"], top_k=3, frames_per_clip=1)
    assert not np.allclose(one_frame.saliency, from_video.saliency, atol=1e-3)
    opened = Store.open(store)
    video, words = opened.video_features(row["vid"]), opened.text_features(row["qid"])
    from_store = predictor.predict(video, words, row["duration"], top_k=3)
    assert [(m.start, m.end) for m in from_video.moments] == [
        (m.start, m.end) for m in from_store.moments
    ]
    assert np.allclose(from_video.saliency, from_store.saliency, atol=1e-2)
    with pytest.raises(Exception, match=r"needs Predictor\.from_checkpoint.*came from .*clip"):
        Predictor.from_checkpoint(tmp_path / "run", device="cpu").predict_video("x.mp4", "q")
