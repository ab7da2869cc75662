"""Curriculum plans and training batches: pools grow as specified, plans are deterministic and
resumable, batches hold exactly the corpus's rows, features and labels."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from amr.augment import AugmentConfig, augment
from amr.corpus import Corpus, features_from_arrow
from amr.errors import AmrError
from amr.train.curriculum import Pacing, plan_epoch
from amr.train.data import CorpusSource, LoaderConfig, iterate_batches

STAGE1 = {"splice", "boundary", "negative"}

# -- pacing and plans ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("linear", [0.2, 0.36, 0.52, 0.68, 0.84, 1.0, 1.0]),
        (
            "root",
            [0.2, (0.04 + 0.96 * 0.2) ** 0.5, (0.04 + 0.96 * 0.4) ** 0.5, None, None, 1.0, 1.0],
        ),
        ("step", [0.2, 0.2, 0.2, 0.6, 0.6, 1.0, 1.0]),  # halves: t < 0.5, t < 1, t = 1
    ],
)
def test_pacing_functions(kind, expected):
    pacing = Pacing(kind=kind, start=0.2, epochs_to_full=5, steps=2)
    values = [pacing.fraction(e) for e in range(7)]
    for got, want in zip(values, expected, strict=True):
        if want is not None:
            assert got == pytest.approx(want)
    assert values == sorted(values)  # never shrinks


def test_bad_pacing_is_a_clear_error():
    with pytest.raises(AmrError, match="unknown pacing 'cosine'"):
        Pacing(kind="cosine")
    with pytest.raises(AmrError, match=r"start must be in \(0, 1\]"):
        Pacing(start=0.0)


def test_epoch_pools_are_the_easiest_prefix_and_grow():
    eligible = np.array([10, 0, 10, 10, 10, 10, 10, 10, 10, 10])  # group 1 has no rows
    pacing = Pacing(kind="linear", start=0.3, epochs_to_full=4)
    sizes = []
    for epoch in range(6):
        plan = plan_epoch(eligible, epoch, seed=3, pacing=pacing, window_rows=20)
        groups = np.sort(np.concatenate(plan.windows))
        expected_rows = pacing.fraction(epoch) * eligible.sum()
        assert eligible[groups].sum() >= expected_rows - 1e-9  # at least the fraction asked
        assert (
            1 not in groups and groups.tolist() == [g for g in range(10) if g != 1][: len(groups)]
        )
        assert all(eligible[w].sum() >= 20 for w in plan.windows[:-1])
        sizes.append(len(groups))
    assert sizes == sorted(sizes) and sizes[-1] == 9
    no_curriculum = plan_epoch(eligible, 0, seed=3, pacing=None, window_rows=20)
    assert len(np.concatenate(no_curriculum.windows)) == 9


def test_plans_depend_only_on_seed_epoch_and_rank():
    eligible = np.full(40, 16)
    a = plan_epoch(eligible, 2, seed=1, pacing=Pacing(), window_rows=32)
    b = plan_epoch(eligible, 2, seed=1, pacing=Pacing(), window_rows=32)
    assert all(np.array_equal(x, y) for x, y in zip(a.windows, b.windows, strict=True))
    other = plan_epoch(eligible, 3, seed=1, pacing=Pacing(), window_rows=32)
    assert not np.array_equal(
        np.concatenate(a.windows), np.concatenate(other.windows)[: len(np.concatenate(a.windows))]
    )
    ranks = [plan_epoch(eligible, 2, 1, Pacing(), 32, rank=r, world=3) for r in range(3)]
    assert len({len(p.windows) for p in ranks}) == 1  # lockstep
    covered = {int(g) for p in ranks for w in p.windows for g in w}
    assert covered == {int(g) for w in a.windows for g in w}


# -- batches -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stage_corpus(small_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("train") / "corpus"
    augment(
        small_store,
        "train",
        out,
        AugmentConfig(multiplier=2, seed=1, part_rows=64, row_group_rows=16),
        show_progress=False,
    )
    return out


def _epoch(source, plan, start=(0, 0)):
    return list(iterate_batches(source, plan, start))


def test_an_epoch_yields_every_stage_row_once_with_its_features(stage_corpus, small_store):
    config = LoaderConfig(batch_size=8, window_rows=40, max_clips=200, workers=2)
    source = CorpusSource(stage_corpus, small_store, STAGE1, config, seed=0)
    plan = plan_epoch(source.eligible, 0, 0, None, config.window_rows)
    rows = {}
    corpus = Corpus.open(stage_corpus)
    for _, table in corpus.iter_tables():
        flat, offsets = features_from_arrow(table.column("features"), corpus.video_dim)
        for i, row in enumerate(
            table.select(["sample_id", "kind", "duration", "relevant_windows"]).to_pylist()
        ):
            rows[row["sample_id"]] = (row, flat[offsets[i] : offsets[i + 1]])
    seen = []
    for _, batch in _epoch(source, plan):
        assert batch.video.dtype == torch.float16 and batch.video.shape[0] <= 8
        spans = torch.split(batch.spans, batch.span_counts.tolist())
        for i, sample_id in enumerate(batch.sample_id.tolist()):
            row, features = rows[sample_id]
            seen.append(sample_id)
            n = len(features)
            assert batch.video_mask[i].sum() == n
            assert torch.equal(batch.video[i, :n], torch.from_numpy(features))
            assert not batch.video[i, n:].any()
            se = np.asarray(row["relevant_windows"]) / row["duration"]
            cw = np.stack([se.mean(axis=1), se[:, 1] - se[:, 0]], axis=1)
            np.testing.assert_allclose(spans[i].numpy(), cw, atol=1e-6)
            levels = batch.saliency_levels[i]
            assert (levels[batch.saliency_pos[i]] > 0).all()
            assert (levels[batch.saliency_neg[i]] == 0).all()
    expected = [s for s, (r, _) in rows.items() if r["kind"] != "original"]
    assert sorted(seen) == sorted(expected)


def test_batches_do_not_depend_on_threads_and_resume_mid_epoch(stage_corpus, small_store):
    batches = {}
    for workers in (1, 3):
        config = LoaderConfig(batch_size=8, window_rows=40, workers=workers)
        source = CorpusSource(stage_corpus, small_store, STAGE1, config, seed=5)
        plan = plan_epoch(source.eligible, 1, 5, Pacing(start=0.5), config.window_rows)
        batches[workers] = _epoch(source, plan)
    one, three = batches[1], batches[3]
    assert [k for k, _ in one] == [k for k, _ in three]
    assert all(
        torch.equal(a.video, b.video) and torch.equal(a.sample_id, b.sample_id)
        for (_, a), (_, b) in zip(one, three, strict=True)
    )
    middle = len(one) // 2
    resumed = _epoch(source, plan, start=one[middle][0])
    assert [k for k, _ in resumed] == [k for k, _ in one[middle:]]
    assert all(
        torch.equal(a.saliency_pos, b.saliency_pos)
        for (_, a), (_, b) in zip(resumed, one[middle:], strict=True)
    )


def test_bad_training_inputs_are_clear_errors(stage_corpus, small_store, tmp_path):
    recipes = tmp_path / "recipes"
    augment(
        small_store,
        "train",
        recipes,
        AugmentConfig(multiplier=1, recipes_only=True),
        show_progress=False,
    )
    with pytest.raises(AmrError, match="recipes-only corpus has no features"):
        CorpusSource(recipes, small_store, STAGE1, LoaderConfig(), seed=0)
    from amr.datasets import SynthConfig, synthesize

    other = tmp_path / "other"
    synthesize(
        other,
        SynthConfig.from_preset("demo", train_videos=4, val_videos=2, test_videos=0, video_dim=24),
        show_progress=False,
    )
    with pytest.raises(AmrError, match=r"video features are 48-d but store .* has 24-d"):
        CorpusSource(stage_corpus, other, STAGE1, LoaderConfig(), seed=0)


def test_replay_mixes_a_fresh_share_of_augmented_rows_into_each_epoch(stage_corpus, small_store):
    config = LoaderConfig(batch_size=8, window_rows=40, workers=2)
    augmented = frozenset(STAGE1)
    source = CorpusSource(stage_corpus, small_store, {"original"}, config, seed=4, replay=0.5,
                          replay_kinds=augmented)  # fmt: skip
    plain = CorpusSource(stage_corpus, small_store, {"original"}, config, seed=4)
    corpus = Corpus.open(stage_corpus)
    kind_of = {}
    for _, table in corpus.iter_tables(["sample_id", "kind"]):
        kind_of.update(zip(table.column("sample_id").to_pylist(), table.column("kind").to_pylist(),
                           strict=True))  # fmt: skip
    picked = []
    for epoch in (0, 1):
        eligible = source.eligible_at(epoch)
        plan = plan_epoch(eligible, epoch, 4, None, config.window_rows)
        ids = [i for _, b in iterate_batches(source, plan) for i in b.sample_id.tolist()]
        assert len(ids) == eligible.sum()  # the plan's counts are what the loader yields
        replayed = [i for i in ids if kind_of[i] != "original"]
        originals = [i for i in ids if kind_of[i] == "original"]
        assert len(originals) == plain.eligible.sum()
        assert 0.35 < len(replayed) / len(ids) < 0.65  # about half, as asked
        picked.append(set(replayed))
    assert picked[0] != picked[1]  # drawn anew each epoch
    again = CorpusSource(stage_corpus, small_store, {"original"}, config, seed=4, replay=0.5,
                         replay_kinds=augmented)  # fmt: skip
    assert np.array_equal(again.eligible_at(1), source.eligible_at(1))  # from the seed alone


def test_static_shapes_pad_every_batch_to_the_models_maximum(stage_corpus, small_store):
    """LoaderConfig.static_shapes (for --compile): one shape for every batch; what is real in
    each is the same as in the batches padded to their longest video and query."""
    plain = LoaderConfig(batch_size=8, window_rows=40, max_clips=60, workers=1)
    static = replace(plain, static_shapes=True)
    epochs = []
    for config in (plain, static):
        source = CorpusSource(stage_corpus, small_store, STAGE1, config, seed=0)
        epochs.append(_epoch(source, plan_epoch(source.eligible, 0, 0, None, config.window_rows)))
    assert len(epochs[0]) == len(epochs[1])
    for (_, a), (_, b) in zip(*epochs, strict=True):
        assert b.video.shape[1:] == (60, a.video.shape[2])
        assert b.text.shape[1] == static.max_words
        length, words = a.video.shape[1], a.text.shape[1]
        assert torch.equal(b.video[:, :length], a.video) and not b.video[:, length:].any()
        assert torch.equal(b.video_mask[:, :length], a.video_mask)
        assert not b.video_mask[:, length:].any() and not b.text_mask[:, words:].any()
        assert torch.equal(b.text[:, :words], a.text)
        assert torch.equal(b.saliency_levels[:, :length], a.saliency_levels)
        assert torch.equal(b.spans, a.spans) and torch.equal(b.saliency_pos, a.saliency_pos)
