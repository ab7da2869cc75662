"""Videos longer than the model (75 clips): training crops a window that holds the moment and
labels it in that window's time; inference slides windows over the whole video and finds a
moment far past the first window where it is. Nothing is rescaled."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest
import torch

from amr.datasets import Store, StoreMeta
from amr.datasets.schema import SAMPLES_SCHEMA
from amr.datasets.store import create_store
from amr.eval.submission import postprocess
from amr.predict.predictor import Predictor
from amr.predict.split import predict_split
from amr.train.config import ModelConfig
from amr.train.curriculum import plan_epoch
from amr.train.data import LoaderConfig, StoreSource, iterate_batches
from amr.train.model import MomentDETR
from amr.train.windows import crop_offsets, plan_windows

CLIP = 2.0
DIM, TEXT_DIM = 8, 4
# (clips, [moments in seconds]): long videos with moments far past clip 75, and a short one.
VIDEOS = {
    "long-a": (200, [[300.0, 320.0]]),
    "long-b": (600, [[1000.0, 1040.0]]),
    "long-c": (400, [[40.0, 60.0], [700.0, 720.0]]),  # too far apart for one window
    "long-d": (160, [[20.0, 24.0], [120.0, 130.0]]),  # fit together in one window
    "short": (60, [[30.0, 50.0]]),
}


def _features(n_clips: int, moments: list[list[float]], seed: int) -> np.ndarray:
    """Noise, with channel 0 set to 1 on the moments' clips (what the oracle below looks for)
    and channel 1 the clip's index (to see which clips a window holds)."""
    x = np.random.default_rng(seed).uniform(-0.1, 0.1, (n_clips, DIM)).astype(np.float32)
    x[:, 0] = 0.0
    for start, end in moments:
        x[int(start / CLIP) : int(end / CLIP), 0] = 1.0
    x[:, 1] = np.arange(n_clips)
    return x.astype(np.float16)


@pytest.fixture(scope="module")
def long_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("long") / "store"
    meta = StoreMeta(name="long", clip_length=CLIP, video_dim=DIM, text_dim=TEXT_DIM)
    rows = []
    with create_store(root, meta) as writer:
        for i, (vid, (n_clips, moments)) in enumerate(VIDEOS.items()):
            writer.videos.add(vid, _features(n_clips, moments, i))
            writer.texts.add(i + 1, np.ones((3, TEXT_DIM), np.float16))
            clips = sorted({c for s, e in moments for c in range(int(s / CLIP), int(e / CLIP))})
            rows.append(
                {
                    "qid": i + 1,
                    "query": f"query {i}",
                    "vid": vid,
                    "duration": n_clips * CLIP,
                    "relevant_windows": moments,
                    "relevant_clip_ids": clips,
                    "saliency_scores": [[1, 2, 3]] * len(clips),
                    "wrong_spans": [[8.0, 12.0], [n_clips * CLIP - 20, n_clips * CLIP - 10]],
                }
            )
        writer.write_samples("train", pa.Table.from_pylist(rows, SAMPLES_SCHEMA))
    return root


def _batches(store, seed=0, epoch=0):
    config = LoaderConfig(batch_size=len(VIDEOS), max_clips=75, workers=1)
    source = StoreSource(store, "train", config, seed=seed, group_rows=len(VIDEOS))
    plan = plan_epoch(source.eligible, epoch, seed, None, config.window_rows)
    return source, [batch for _, batch in iterate_batches(source, plan)]


def test_every_training_target_lies_inside_the_features_the_model_sees(long_store):
    store = Store.open(long_store)
    source, batches = _batches(long_store)
    (batch,) = batches
    vids = source.vids
    spans = torch.split(batch.spans, batch.span_counts.tolist())
    for i, sample in enumerate(batch.sample_id.tolist()):
        vid = vids[sample]
        n_clips, moments = VIDEOS[vid]
        first = int(batch.first_clip[i])
        seen = int(batch.video_mask[i].sum())
        assert seen == min(n_clips, 75)
        whole = store.video_features(vid)
        assert np.array_equal(batch.video[i, :seen].numpy(), whole[first : first + seen])
        window = seen * CLIP if n_clips > 75 else n_clips * CLIP
        assert float(batch.duration[i]) == window
        # The targets, back in video seconds, are the moments inside the window, unscaled.
        cw = spans[i].double().numpy()
        got = np.stack([cw[:, 0] - cw[:, 1] / 2, cw[:, 0] + cw[:, 1] / 2], 1) * window
        got += first * CLIP
        inside = [m for m in moments if m[1] > first * CLIP and m[0] < (first + seen) * CLIP]
        assert len(inside) >= 1
        np.testing.assert_allclose(got, inside, atol=1e-4)
        assert (cw[:, 1] > 0).all() and (cw[:, 0] - cw[:, 1] / 2 >= -1e-6).all()
        # Saliency marks the moment's clips as the window numbers them, and nothing else.
        marked = np.flatnonzero(batch.saliency_levels[i].numpy() > 0)
        planted = np.flatnonzero(batch.video[i, :seen, 0].numpy() == 1.0)
        assert marked.tolist() == planted.tolist() and len(marked) > 0
    assert any(int(f) > 75 for f in batch.first_clip)  # windows past the first 150 s


def test_crops_hold_the_moments_and_are_drawn_from_seed_sample_and_epoch(long_store):
    windows = pa.array([m for _, m in VIDEOS.values()], pa.list_(pa.list_(pa.float32())))
    n_clips = np.array([n for n, _ in VIDEOS.values()])
    rows, ids = np.arange(len(VIDEOS)), np.arange(len(VIDEOS))

    def crops(seed, epoch):
        return crop_offsets(windows, rows, n_clips, 75, CLIP, ids, seed, epoch)

    draws = np.stack([crops(seed, epoch) for seed in range(4) for epoch in range(8)])
    assert np.array_equal(crops(1, 2), crops(1, 2))
    for column, (n, moments) in zip(draws.T, VIDEOS.values(), strict=True):
        if n <= 75:
            assert (column == 0).all()
            continue
        assert ((column >= 0) & (column + 75 <= n)).all()
        together = max(e for _, e in moments) - min(s for s, _ in moments) <= 75 * CLIP
        for s, e in moments if together else moments[:1]:
            assert ((column <= s / CLIP) & (column + 75 >= e / CLIP)).all()
        assert len(np.unique(column)) > 1  # the crop moves between epochs: augmentation


def test_windows_cover_the_video_and_overlap():
    plan = plan_windows(np.array([10, 75, 76, 600]), 75)
    assert plan.owner.tolist()[:3] == [0, 1, 2]
    assert plan.offset[plan.owner == 0].tolist() == [0] and plan.count[0] == 10
    assert plan.offset[plan.owner == 2].tolist() == [0, 1]
    offsets = plan.offset[plan.owner == 3]
    assert offsets[0] == 0 and offsets[-1] == 600 - 75 and (np.diff(offsets) <= 38).all()
    assert (plan.count[plan.owner == 3] == 75).all()


class Oracle(torch.nn.Module):
    """A stand-in model that sees what a perfect one would: the window's clips whose channel 0
    is set. It predicts their first run (scored lower when it touches the window's edge, where
    it may be cut) and one wrong span, so the test checks windowing, mapping and merging alone."""

    def __init__(self):
        super().__init__()
        self.config = SimpleNamespace(
            max_clips=75, rank_by_iou=False, video_dim=DIM, text_dim=TEXT_DIM
        )

    def forward(self, video, video_mask, text, text_mask):
        lengths = video_mask.sum(1).float()
        marked = (video[..., 0] > 0.5) & video_mask
        index = torch.arange(video.shape[1]).float()
        first = torch.where(marked, index, torch.inf).amin(1)
        after = ~marked & (index > first[:, None])
        last = torch.where(after, index, torch.inf).amin(1).minimum(lengths)
        found = marked.any(1)
        edge = (first == 0) | (last == lengths)
        score = torch.where(found, torch.where(edge, 0.5, 0.9), 0.01)
        start, end = torch.where(found, first, 0.0) / lengths, torch.where(found, last, 1) / lengths
        spans = torch.stack([torch.stack([(start + end) / 2, end - start], -1)] * 2, 1)
        spans[:, 1] = torch.tensor([0.1, 0.05])  # a wrong span near the window's start
        scores = torch.stack([score, torch.full_like(score, 0.02)], 1)
        outputs = SimpleNamespace(saliency=video[..., 0].float())
        outputs.ranked_candidates = lambda by_iou: (scores, spans)
        return outputs


def test_a_moment_far_past_the_first_window_is_predicted_there(long_store):
    store = Store.open(long_store)
    predictor = Predictor(Oracle(), CLIP)  # type: ignore[arg-type]
    for vid, (n_clips, moments) in VIDEOS.items():
        features = store.video_features(vid)
        result = predictor.predict(features, np.ones((3, TEXT_DIM), np.float16))
        best = result.moments[0]
        assert [best.start, best.end] in moments, (vid, best)
        assert len(result.saliency) == n_clips
        assert np.array_equal(result.saliency > 0.5, features[:, 0] > 0.5)
        assert all(0 <= m.start < m.end <= n_clips * CLIP for m in result.moments)
    records = predict_split(predictor, store, "train")
    for record, (n_clips, moments) in zip(records, VIDEOS.values(), strict=True):
        assert record["pred_relevant_windows"][0][:2] in moments
        assert len(record["pred_saliency_scores"]) == n_clips


def test_windowed_and_unwindowed_predictions_agree_on_a_video_that_fits():
    torch.manual_seed(0)
    model = MomentDETR(ModelConfig(video_dim=DIM, text_dim=TEXT_DIM, hidden=32, heads=4, ffn=64))
    predictor = Predictor(model, CLIP)
    rng = np.random.default_rng(0)
    video = rng.standard_normal((75, DIM)).astype(np.float16)
    text = rng.standard_normal((5, TEXT_DIM)).astype(np.float16)
    whole = predictor.predict(video, text, top_k=None)
    scores, spans, saliency = predictor._forward(
        video[None], np.ones((1, 75), bool), text[None], np.ones((1, 5), bool)
    )
    windows, ranked, keep = postprocess(spans * 150.0, scores, np.array([150.0]), CLIP)
    unwindowed = [
        [s, e, p] for (s, e), p in zip(windows[0][keep[0]], ranked[0][keep[0]], strict=True)
    ]
    assert [[m.start, m.end, m.score] for m in whole.moments] == unwindowed
    np.testing.assert_array_equal(whole.saliency, saliency[0])
    longer = predictor.predict(np.concatenate([video, video]), text, top_k=None)
    assert len(longer.saliency) == 150 and len(longer.moments) >= 1
