import itertools
import json

import numpy as np
import pytest
from click.testing import CliRunner

from amr.cli import cli
from amr.datasets import Store, SynthConfig, default_annotations, read_annotations, synthesize
from amr.datasets.synthetic import make_world
from amr.datasets.synthetic.diagnostics import moment_contrast
from amr.datasets.synthetic.lexicon import tokenize
from amr.datasets.synthetic.world import Event, intensity_profile
from amr.errors import AmrError

SMALL = {"train_videos": 40, "val_videos": 12, "test_videos": 6}


def small(**kw) -> SynthConfig:
    return SynthConfig.from_preset("demo", **{**SMALL, **kw})


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "demo"
    synthesize(out, small(seed=3), show_progress=False)
    return out


def _parquet_bytes(root):
    return {p.name: p.read_bytes() for p in sorted(root.glob("*.parquet"))}


def test_same_seed_gives_byte_identical_parquet(tmp_path, demo_store):
    synthesize(tmp_path / "again", small(seed=3), show_progress=False)
    assert _parquet_bytes(tmp_path / "again") == _parquet_bytes(demo_store)
    assert (tmp_path / "again" / "store.json").read_bytes() == (
        demo_store / "store.json"
    ).read_bytes()
    synthesize(tmp_path / "other", small(seed=4), show_progress=False)
    assert (
        _parquet_bytes(tmp_path / "other")["video_features.parquet"]
        != _parquet_bytes(demo_store)["video_features.parquet"]
    )


def test_demo_labels_are_consistent(demo_store):
    store = Store.open(demo_store)
    assert store.splits == ["train", "val", "test"]
    assert (store.meta.video_dim, store.meta.text_dim) == (128, 64)
    qids = []
    for split in store.splits:
        for row in store.samples(split).to_pylist():
            qids.append(row["qid"])
            n_clips = store.n_clips(row["vid"])
            assert row["duration"] == n_clips * 2.0
            expected_ids = sorted(
                c for s, e in row["relevant_windows"] for c in range(int(s // 2), int(e // 2))
            )
            assert row["relevant_clip_ids"] == expected_ids and expected_ids[-1] < n_clips
            scores = np.asarray(row["saliency_scores"])
            assert scores.shape == (len(expected_ids), 3)
            assert scores.min() >= 0 and scores.max() <= 4
            windows = sorted(row["relevant_windows"])
            assert all(a[1] < b[0] for a, b in itertools.pairwise(windows))
            assert store.text_features(row["qid"]).shape == (len(tokenize(row["query"])), 64)
    assert len(set(qids)) == len(qids)


@pytest.mark.slow
def test_annotation_mode_keeps_real_labels(tmp_path, qvh_val):
    out = tmp_path / "qvh"
    synthesize(
        out,
        SynthConfig.from_preset("qvh", video_dim=32, text_dim=16, test_share=0.0),
        [("val", qvh_val)],
        show_progress=False,
    )
    store = Store.open(out)
    real, _ = read_annotations(qvh_val, 2.0)
    labels = [n for n in real.column_names if n != "wrong_spans"]  # those are mined
    assert store.samples("val").select(labels).equals(real.select(labels))
    assert store.meta.wrong_spans["val"]["method"] == "mined"
    assert store.meta.clip_length == 2.0
    row = real.slice(0, 1).to_pylist()[0]
    assert store.video_features(row["vid"]).shape == (75, 32)
    assert store.text_features(row["qid"]).shape == (len(tokenize(row["query"])), 16)
    assert store.meta.sources["annotations"][0]["file"] == qvh_val.name


def test_difficulty_knobs_change_the_features(tmp_path):
    def measure(name, **kw):
        synthesize(tmp_path / name, small(**kw), show_progress=False)
        return moment_contrast(Store.open(tmp_path / name), "train")

    base = measure("base", distractor_rate=0.0)
    distracted = measure("distractors", distractor_rate=1.0)
    noisy = measure("noisy", distractor_rate=0.0, feature_noise=1.5)
    # Sibling-verb twins make some out-of-window clips look like the moment.
    assert distracted.best_outside > base.best_outside + 0.05
    assert distracted.confusable > base.confusable
    # Semantic noise makes clips of one moment less alike.
    assert noisy.coherence < base.coherence - 0.1
    # And the moment stands out from the rest of its video: there is something to learn.
    assert base.coherence > base.best_outside


def test_sibling_verbs_are_closer_than_other_families():
    def similarity(closeness):
        world = make_world(small(family_closeness=closeness, feature_noise=0, drift=0))
        rng = np.random.default_rng(0)

        def clip(verb, obj):
            latent = world.phrase_latent(["man", verb, obj], [0.5, 1.0, 0.7])
            event = Event(latent, np.ones(1))
            return world.render_video(np.zeros((1, world.latent_dim)), [event], rng)[0]

        kick, throw, chop = clip("kick", "ball"), clip("throws", "ball"), clip("chop", "ball")
        cos = lambda a, b: float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))  # noqa: E731
        return cos(kick, throw), cos(kick, chop)

    siblings, strangers = similarity(0.8)
    assert siblings > strangers + 0.1
    assert similarity(0.95)[0] > siblings > similarity(0.3)[0]


def test_boundary_label_sits_at_the_middle_of_the_fade():
    hard = intensity_profile(10, 3, 6, softness=0.0)
    np.testing.assert_array_equal(hard, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0])
    soft = intensity_profile(10, 3, 6, softness=2.0)
    assert soft[2] == pytest.approx(0.25) and soft[3] == pytest.approx(0.75)
    assert soft[5] == pytest.approx(0.75) and soft[6] == pytest.approx(0.25)
    assert soft[0] == 0 and soft[9] == 0


def test_config_validation():
    with pytest.raises(ValueError, match="family_closeness"):
        SynthConfig(family_closeness=1.0)
    with pytest.raises(ValueError, match="unknown preset"):
        SynthConfig.from_preset("nope")
    with pytest.raises(ValueError, match="unknown synthetic option"):
        SynthConfig.from_preset("demo", colour="blue")


def test_cli_synth_protects_existing_output(tmp_path, demo_store, monkeypatch):
    runner = CliRunner()
    result = runner.invoke(cli, ["datasets", "synth", "--out", str(demo_store), "--quiet"])
    assert result.exit_code == 1 and "store exists; pass --overwrite" in result.output
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("x")
    result = runner.invoke(
        cli, ["datasets", "synth", "--out", str(tmp_path / "notes"), "--overwrite"]
    )
    assert result.exit_code == 1 and "is not a store" in result.output
    assert (tmp_path / "notes" / "a.txt").exists()
    result = runner.invoke(
        cli, ["datasets", "synth", "--out", str(tmp_path / "x"), "--family-closeness", "1.5"]
    )
    assert result.exit_code == 2 and "family_closeness" in result.output
    monkeypatch.setenv("AMR_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AmrError, match="preset 'qvh' needs annotation files"):
        default_annotations("qvh")


@pytest.mark.slow
def test_cli_synth_then_info(tmp_path):
    runner = CliRunner()
    out = tmp_path / "store"
    result = runner.invoke(
        cli,
        [
            "datasets",
            "synth",
            "--out",
            str(out),
            "--seed",
            "1",
            "--video-dim",
            "48",
            "--text-dim",
            "24",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["datasets", "info", "--store", str(out)])
    assert result.exit_code == 0
    assert "video dim 48" in result.output and "text dim 24" in result.output
    assert "train" in result.output and "val" in result.output
    result = runner.invoke(cli, ["datasets", "info", "--store", str(out), "--json"])
    summary = json.loads(result.output)
    assert [s["name"] for s in summary["splits"]] == ["train", "val", "test"]
    assert summary["splits"][0]["queries"] == Store.open(out).meta.splits["train"].queries


def test_a_world_shaped_after_an_activitynet_file(tmp_path):
    """`--preset activitynet`: the file's queries, durations and windows (minutes-long videos
    at 2 s clips), synthetic features; without a file it says what it needs."""
    rows = [
        {"qid": i, "query": f"a person does thing {i}", "duration": d, "vid": f"v_{i // 2}",
         "relevant_windows": [[s, e]]}
        for i, (d, s, e) in enumerate([(212.5, 10.0, 95.0), (212.5, 120.5, 200.0),
                                       (64.0, 0.0, 30.5), (64.0, 31.0, 64.0)])
    ]  # fmt: skip
    path = tmp_path / "anet_train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    runner = CliRunner()
    base = ["datasets", "synth", "--preset", "activitynet", "--video-dim", "16", "--text-dim", "8"]
    result = runner.invoke(cli, [*base, "--annotations", str(path), "--split", "train",
                                 "--out", str(tmp_path / "anet"), "--quiet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    store = Store.open(tmp_path / "anet")
    assert store.meta.clip_length == 2.0
    samples = store.samples("train").to_pylist()
    assert [s["relevant_windows"] for s in samples] == [r["relevant_windows"] for r in rows]
    assert store.video_features("v_0").shape == (107, 16)  # 212.5 s: 107 clips of 2 s
    bare = runner.invoke(cli, [*base, "--out", str(tmp_path / "none")])
    assert bare.exit_code == 1 and "pass --annotations FILE --split NAME" in bare.output
