"""The synthetic world's realism (background activity, shot cuts, annotation noise), its test
split and control preset, true extents and `amr eval --truth`, and `amr datasets subset`."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from amr.cli import cli
from amr.datasets import Store, SynthConfig, read_annotations, synthesize
from amr.datasets.subset import subset_store
from amr.datasets.synthetic import make_world
from amr.datasets.synthetic.activity import background_events, families_of, jittered
from amr.datasets.truth import queries_with_twin, read_truth
from amr.errors import AmrError

SMALL = {"train_videos": 40, "val_videos": 12, "test_videos": 10, "video_dim": 48, "text_dim": 24}


@pytest.fixture(scope="module")
def v2_store(tmp_path_factory):
    out = tmp_path_factory.mktemp("v2") / "demo"
    synthesize(out, SynthConfig.from_preset("demo", seed=2, **SMALL), show_progress=False)
    return out


def _truth_by_qid(store, split):
    table = read_truth(store, split)
    return dict(zip(table["qid"].to_pylist(), table.to_pylist(), strict=True))


def test_labels_are_the_true_extents_moved_by_at_most_the_jitter(v2_store):
    store = Store.open(v2_store)
    moved = 0
    for split in ("train", "val", "test"):
        truth = _truth_by_qid(v2_store, split)
        for row in store.samples(split).to_pylist():
            true = truth[row["qid"]]["true_windows"]
            assert true, row["qid"]
            if len(true) != len(row["relevant_windows"]):
                continue  # two windows that met after the jitter were merged
            for label, event in zip(row["relevant_windows"], true, strict=True):
                assert abs(label[0] - event[0]) <= 2.0 and abs(label[1] - event[1]) <= 2.0
                moved += label != event
    assert moved > 0  # label_jitter = 1 clip by default: some labels miss the truth


def test_control_world_has_none_of_the_problems(tmp_path):
    config = SynthConfig.from_preset("control", **SMALL)
    synthesize(tmp_path / "c", config, show_progress=False)
    store = Store.open(tmp_path / "c")
    for split in store.splits:
        truth = _truth_by_qid(tmp_path / "c", split)
        samples = store.samples(split)
        assert len(set(samples["vid"].to_pylist())) == samples.num_rows  # one event a video
        for row in samples.to_pylist():
            assert truth[row["qid"]]["true_windows"] == row["relevant_windows"]
            assert truth[row["qid"]]["twin_windows"] == []
    assert queries_with_twin(tmp_path / "c", "val") == set()


def test_background_events_fill_free_clips_with_other_activities():
    config = SynthConfig.from_preset("demo", background_fill=0.7)
    world, rng = make_world(config), np.random.default_rng(0)
    occupied = np.zeros(75, bool)
    occupied[10:20] = True
    events = background_events(world, config, rng, occupied, families_of(["kicks"]))
    covered = (np.sum([e.intensity for e in events], axis=0) > 0.5).sum()
    assert covered >= 0.5 * 65 and occupied[10:20].all()
    assert background_events(world, SynthConfig(background_fill=0.0), rng, occupied, set()) == []
    query = world.phrase_latent(["man", "kick", "ball"], [0.5, 1.0, 0.7])
    assert max(float(e.latent @ query) for e in events) < 0.8  # never a look-alike of "kick"


def test_shot_cuts_make_the_background_jump():
    world = make_world(SynthConfig())
    scene = world.scene_vector("x")

    def adjacent_cosines(chance):
        back = world.background(scene, 200, np.random.default_rng(0), chance, cut_jump=0.9)
        return np.sum(back[1:] * back[:-1], axis=1)

    assert adjacent_cosines(0.0).min() > 0.9
    assert np.quantile(adjacent_cosines(0.5), 0.25) < 0.7


def test_jitter_keeps_windows_inside_the_video_and_merges_overlaps():
    rng = np.random.default_rng(0)
    for _ in range(200):
        for start, end in jittered([(0, 1), (2, 3), (9, 10)], 10, 2, rng):
            assert 0 <= start < end <= 10
    assert jittered([(3, 5)], 10, 0, rng) == [(3, 5)]


@pytest.mark.slow
def test_qvh_world_carves_a_test_split_from_val_by_video(tmp_path, qvh_val):
    out = tmp_path / "qvh"
    config = SynthConfig.from_preset("qvh", video_dim=16, text_dim=8, background_fill=0.0)
    synthesize(out, config, [("val", qvh_val)], show_progress=False)
    store = Store.open(out)
    val, test = store.samples("val"), store.samples("test")
    assert not set(val["vid"].to_pylist()) & set(test["vid"].to_pylist())
    real, _ = read_annotations(qvh_val, 2.0)
    assert sorted(val["qid"].to_pylist() + test["qid"].to_pylist()) == sorted(
        real["qid"].to_pylist()
    )
    assert 0.4 < test.num_rows / real.num_rows < 0.6
    assert store.meta.splits["test"].labeled


def test_eval_truth_scores_against_the_true_extents(v2_store, tmp_path):
    truth = _truth_by_qid(v2_store, "val")
    preds = tmp_path / "preds.jsonl"
    with preds.open("w") as f:
        for qid, row in truth.items():
            windows = [[s, e, 1.0 - 0.01 * i] for i, (s, e) in enumerate(row["true_windows"])]
            f.write(json.dumps({"qid": qid, "pred_relevant_windows": windows}) + "\n")
    runner = CliRunner()
    base = ["eval", "--predictions", str(preds), "--store", str(v2_store), "--split", "val"]
    result = runner.invoke(cli, [*base, "--truth", "--out", str(tmp_path / "t.json")])
    assert result.exit_code == 0, result.output
    exact = json.loads((tmp_path / "t.json").read_text())["brief"]
    result = runner.invoke(cli, [*base, "--out", str(tmp_path / "l.json")])
    labels = json.loads((tmp_path / "l.json").read_text())["brief"]
    assert exact["MR-full-R1@0.7"] == 100.0 > labels["MR-full-R1@0.7"]


def test_subsets_are_nested_and_keep_the_other_splits(v2_store, tmp_path):
    small = subset_store(v2_store, "train", 0.25, seed=1, out=tmp_path / "s25")
    subset_store(v2_store, "train", 0.5, seed=1, out=tmp_path / "s50")
    source = Store.open(v2_store)
    total = source.meta.splits["train"].queries
    a, b = (
        set(Store.open(tmp_path / name).samples("train")["qid"].to_pylist())
        for name in ("s25", "s50")
    )
    assert a < b and 0.25 * total <= len(a) < 0.5 * total <= len(b)
    assert small.sources["subset"]["fraction"] == 0.25
    assert Store.open(tmp_path / "s25").samples("val").equals(source.samples("val"))
    assert pq.read_table(tmp_path / "s25" / "truth.parquet").equals(
        pq.read_table(v2_store / "truth.parquet")
    )
    other = subset_store(v2_store, "train", 0.25, seed=2, out=tmp_path / "other")
    assert other.fingerprint != small.fingerprint
    with pytest.raises(AmrError, match="fraction"):
        subset_store(v2_store, "train", 1.5, seed=1, out=tmp_path / "bad")
    with pytest.raises(AmrError, match="store exists"):
        subset_store(v2_store, "train", 0.25, seed=1, out=tmp_path / "s25")
    result = CliRunner().invoke(
        cli,
        [
            "datasets",
            "subset",
            "--store",
            str(v2_store),
            "--fraction",
            "0.1",
            "--out",
            str(tmp_path / "c"),
        ],
    )
    expected = f"train: {-(-total // 10)} of {total} queries"  # ceil: whole videos
    assert result.exit_code == 0 and expected in result.output
