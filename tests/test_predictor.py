"""`amr.Predictor`: features in memory in, ranked moments and saliency out, the same numbers as
`amr predict` writes for every sample of a split, for baseline, cold-start and distill models."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from test_distill import ONE, TINY  # the same tiny model and one-epoch schedule

from amr import AmrError, Moment, Predictor
from amr.augment import AugmentConfig, augment
from amr.cli import cli
from amr.datasets import Store
from amr.train.config import DistillConfig
from amr.train.stages import baseline, cold_start, distill
from amr.train.text import MAX_WORDS

pytestmark = pytest.mark.slow  # trains models or runs real processes


@pytest.fixture(scope="module")
def runs(small_store, tmp_path_factory):
    """One tiny run of each stage."""
    root = tmp_path_factory.mktemp("predictor")
    corpus = root / "corpus"
    config = AugmentConfig(multiplier=1, seed=3, part_rows=64, row_group_rows=16)
    augment(small_store, "train", corpus, config, show_progress=False)
    baseline(small_store, "train", root / "baseline", ONE, TINY, show_progress=False)
    cold_start(corpus, small_store, root / "cold-start", ONE, TINY, show_progress=False)
    distill(root / "cold-start", corpus, small_store, root / "distill", ONE,
            DistillConfig(active_queries=3), show_progress=False)  # fmt: skip
    return root


def _split_arrays(store: Store, split: str):
    """Each query of the split in file order: its sample, video features and text features."""
    samples = store.samples(split).to_pylist()
    videos = [store.video_features(s["vid"]) for s in samples]
    return samples, videos, [store.text_features(s["qid"]) for s in samples]


@pytest.mark.parametrize("stage", ["baseline", "cold-start", "distill"])
def test_predictor_equals_amr_predict_on_every_sample(runs, small_store, tmp_path, stage):
    out = tmp_path / "preds.jsonl"
    result = CliRunner().invoke(cli, ["predict", "--checkpoint", str(runs / stage), "--store",
                                      str(small_store), "--split", "val", "--out", str(out),
                                      "--quiet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    written = [json.loads(line) for line in out.read_text().splitlines()]

    store = Store.open(small_store)
    samples, videos, texts = _split_arrays(store, "val")
    predictor = Predictor.from_checkpoint(runs / stage, device="cpu")
    assert predictor.clip_length == store.meta.clip_length  # from the run, not given
    durations = [s["duration"] for s in samples]
    predictions = predictor.predict_many(videos, texts, durations, top_k=None)
    records = [
        p.to_record(s["qid"], s["query"], s["vid"])
        for p, s in zip(predictions, samples, strict=True)
    ]
    assert records == written
    expected_sets = TINY["num_queries"] + (3 if stage == "distill" else 0)
    assert len(records[0]["pred_relevant_windows"]) == expected_sets

    one = predictor.predict(videos[2], texts[2], durations[2], top_k=3)  # alone, not batched
    assert len(one.moments) == 3 and all(isinstance(m, Moment) for m in one.moments)
    assert [m.score for m in one.moments] == sorted((m.score for m in one.moments), reverse=True)
    best = written[2]["pred_relevant_windows"][0]
    assert (one.moments[0].start, one.moments[0].end) == (best[0], best[1])
    assert abs(one.moments[0].score - best[2]) <= 1e-3
    assert one.saliency.shape == (len(videos[2]),)
    assert np.allclose(one.saliency, written[2]["pred_saliency_scores"], atol=1e-3)


def test_inputs_are_checked(runs):
    predictor = Predictor.from_checkpoint(runs / "baseline", device="cpu")
    video = np.zeros((20, predictor.video_dim), np.float32)
    text = np.zeros((6, predictor.text_dim), np.float32)
    assert predictor.predict(video, text).moments  # a valid pair works
    long_query = np.ones((MAX_WORDS + 9, predictor.text_dim), np.float32)
    assert predictor.predict(video, long_query).saliency.shape == (20,)
    cases = [
        (np.zeros((20, predictor.video_dim + 1)), text, r"video 0: features must be \(n, \d+\)"),
        (video, np.zeros((6, 7)), r"query 0: features must be \(n, \d+\), got \(6, 7\)"),
        (video[:0], text, "video 0: no features"),
        (video[:1], text, "video 0: 1 clip; a video needs at least 2 clips"),
        (np.full_like(video, np.nan), text, "video 0: features hold NaN"),
        (video, np.full_like(text, 1e6), "query 0: features hold NaN or infinite"),
    ]
    for bad_video, bad_text, message in cases:
        with pytest.raises(AmrError, match=message):
            predictor.predict(bad_video, bad_text)
    with pytest.raises(AmrError, match="2 videos but 1 queries"):
        predictor.predict_many([video, video], [text])
    for top_k in (0, -1, 2.5, True):
        with pytest.raises(AmrError, match="top_k must be a whole number of at least 1"):
            predictor.predict(video, text, top_k=top_k)
    for duration in (-40.0, 0, float("nan"), float("inf"), "40"):
        with pytest.raises(AmrError, match="video 0: duration must be a positive number"):
            predictor.predict(video, text, duration=duration)
    assert len(predictor.predict(video, text, top_k=1).moments) == 1
    with pytest.raises(AmrError, match="--nms must be an IoU"):
        Predictor(predictor.model, 2.0, nms_threshold=1.5)
