"""The operators and the difficulty ranking, each on its own."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amr.augment.boundary import fade_alpha, faded_paste, stretch_clips
from amr.augment.config import AugmentConfig, parse_weights
from amr.augment.difficulty import hardness_ranks, rank_difficulty
from amr.augment.negative import nearest_queries
from amr.augment.recipe import Paste, check_recipe, compose, identity_recipe
from amr.augment.splice import fit_lengths, place_segments, resample_clips
from amr.errors import AmrError


@given(length=st.integers(1, 80), seed=st.integers(0, 2**32 - 1))
def test_resample_keeps_an_ordered_subset_of_one_to_all_clips(length, seed):
    clips = resample_clips(np.random.default_rng(seed), length)
    assert 1 <= len(clips) <= length
    assert np.all(np.diff(clips) > 0) and clips.min() >= 0 and clips.max() < length


@settings(max_examples=200)
@given(
    lengths=st.lists(st.integers(1, 30), min_size=1, max_size=5),
    region=st.integers(1, 120),
    min_gap=st.integers(0, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_segments_fit_in_order_without_overlap(lengths, region, min_gap, seed):
    fitted = fit_lengths(np.asarray(lengths), region, min_gap)
    if len(lengths) + (len(lengths) - 1) * min_gap > region:
        assert fitted is None
        return
    assert fitted is not None and np.all(fitted >= 1) and np.all(fitted <= lengths)
    starts = place_segments(np.random.default_rng(seed), fitted, region, min_gap)
    ends = starts + fitted
    assert starts[0] >= 0 and ends[-1] <= region
    assert np.all(starts[1:] >= ends[:-1] + min_gap)


def test_placement_reaches_both_ends_of_the_video():
    rng = np.random.default_rng(0)
    starts = [place_segments(rng, np.asarray([3]), 10, 1)[0] for _ in range(300)]
    assert min(starts) == 0 and max(starts) == 7


@pytest.mark.parametrize("fade", [2, 4, 6])
def test_fade_is_half_way_exactly_at_the_labeled_boundaries(fade):
    alpha = fade_alpha(5, fade)
    half = fade // 2
    # The label covers positions half .. half + 5; the boundary sits between two clips whose
    # weights are symmetric around 0.5.
    assert alpha[half - 1] + alpha[half] == pytest.approx(1.0)
    assert alpha[half + 4] + alpha[half + 5] == pytest.approx(1.0)
    assert np.all(alpha[half : half + 5] > 0.5) and np.all(alpha[:half] < 0.5)


def test_faded_paste_is_cut_at_the_video_edges_and_blends():
    clips = np.arange(10, 14, dtype=np.int32)
    paste = faded_paste("v", clips, start=0, fade=4, n_clips=6)
    assert paste.target_start == 0 and paste.target_end <= 6
    assert paste.alpha is not None and len(paste.alpha) == len(paste.clips)
    host = np.zeros((6, 2), np.float32)
    donor = np.ones((20, 2), np.float32)
    out = compose(
        [Paste("h", np.arange(6, dtype=np.int32), 0), paste], 6, {"h": host, "v": donor}.__getitem__
    )
    # label [0, 4): inside the donor dominates, outside the host does
    assert out[0, 0] > 0.5 and out[3, 0] > 0.5 > out[4, 0] > out[5, 0]
    hard = faded_paste("v", clips, start=1, fade=0, n_clips=6)
    assert hard.alpha is None and hard.target_start == 1


@given(length=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_stretch_stays_in_order_within_the_window(length, seed):
    clips = stretch_clips(np.random.default_rng(seed), length, 2.0)
    assert np.all(np.diff(clips) >= 0) and clips.min() >= 0 and clips.max() < length
    assert round(length / 2) <= len(clips) <= round(length * 2) or len(clips) == 1


def test_compose_replays_pastes_in_order():
    sources = {
        "a": np.full((4, 3), 1.0, np.float32),
        "b": np.arange(15, dtype=np.float32).reshape(5, 3),
    }
    recipe = [*identity_recipe("a", 4), Paste("b", np.asarray([4, 2], np.int32), 1)]
    out = compose(recipe, 4, sources.__getitem__)
    np.testing.assert_array_equal(out[1], sources["b"][4])
    np.testing.assert_array_equal(out[2], sources["b"][2])
    np.testing.assert_array_equal(out[[0, 3]], sources["a"][[0, 3]])


def test_check_recipe_names_what_is_wrong():
    sizes = {"a": 4, "b": 5}.get
    good = [*identity_recipe("a", 4), Paste("b", np.asarray([4], np.int32), 3)]
    assert check_recipe(good, 4, sizes) == ""
    assert "not in the store" in check_recipe(
        [*good[:1], Paste("zz", np.asarray([0], np.int32), 0)], 4, sizes
    )
    assert "which has 5" in check_recipe(
        [*good[:1], Paste("b", np.asarray([5], np.int32), 0)], 4, sizes
    )
    assert "outside" in check_recipe(
        [*good[:1], Paste("b", np.asarray([0, 1], np.int32), 3)], 4, sizes
    )
    assert "whole canvas" in check_recipe(good[1:], 4, sizes)


def test_nearest_queries_match_brute_force_and_skip_paraphrases():
    rng = np.random.default_rng(0)
    pooled = rng.standard_normal((300, 16)).astype(np.float32)
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    queries = [f"q{i}" for i in range(300)]
    queries[7] = "Same text"
    queries[8] = "same   text"
    has_window = np.ones(300, bool)
    has_window[5] = False
    neighbours, sims = nearest_queries(
        pooled, queries, has_window, k=4, max_similarity=0.99, block_rows=64
    )
    full = pooled @ pooled.T
    np.fill_diagonal(full, -np.inf)
    full[:, 5] = -np.inf
    full[7, 8] = full[8, 7] = -np.inf
    expected = np.argsort(-full, axis=1, kind="stable")[:, :4]
    np.testing.assert_array_equal(neighbours, expected)
    np.testing.assert_allclose(sims, np.take_along_axis(full, expected, axis=1), rtol=1e-5)
    near = nearest_queries(pooled, queries, has_window, k=4, max_similarity=0.0)[1]
    assert np.all(near[np.isfinite(near)] <= 0.0)


def test_ranks_follow_each_components_direction():
    values = np.asarray([3.0, 1.0, 2.0, 2.0])
    np.testing.assert_allclose(hardness_ranks(values, "higher"), [1.0, 0.0, 0.5, 0.5])
    np.testing.assert_allclose(hardness_ranks(values, "lower"), [0.0, 1.0, 0.5, 0.5])
    np.testing.assert_array_equal(hardness_ranks(np.ones(3), "lower"), np.zeros(3))


def test_difficulty_is_a_weighted_mean_of_ranks_cut_into_equal_bins():
    n = 100
    rng = np.random.default_rng(1)
    components = {
        "length_ratio": rng.random(n),
        "compression": rng.random(n),
        "n_windows": rng.integers(1, 4, n).astype(float),
        "negative_similarity": rng.random(n),
        "boundary_contrast": rng.random(n),
    }
    only_length = dict.fromkeys(components, 0.0) | {"length_ratio": 1.0}
    ranking = rank_difficulty(components, only_length, bins=4)
    # with one component, the easiest sample is the one with the longest moment
    assert ranking.order[0] == np.argmax(components["length_ratio"])
    assert ranking.difficulty.min() == 0.0 and ranking.difficulty.max() == 1.0
    assert np.all(np.diff(ranking.difficulty[ranking.order]) >= 0)
    assert np.bincount(ranking.curriculum_bin).tolist() == [25, 25, 25, 25]
    assert np.all(np.diff(ranking.curriculum_bin[ranking.order]) >= 0)


def test_config_rejects_bad_values():
    with pytest.raises(AmrError, match="multiplier"):
        AugmentConfig(multiplier=0)
    with pytest.raises(AmrError, match="unknown op crop"):
        AugmentConfig(ops=("splice", "crop"))
    with pytest.raises(AmrError, match="even"):
        AugmentConfig(fade_clips=(3,))
    with pytest.raises(AmrError, match="unknown difficulty component"):
        parse_weights("brightness=2")
    assert parse_weights("length_ratio=2")["length_ratio"] == 2.0
    config = AugmentConfig(seed=4, ops=("negative",))
    assert AugmentConfig.from_json(config.to_json()) == config
