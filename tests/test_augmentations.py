"""The operators and the difficulty ranking, each on its own."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amr.augment.boundary import fade_alpha, fade_alphas, stretched_lengths
from amr.augment.config import AugmentConfig, parse_weights
from amr.augment.difficulty import average_ranks, hardness_ranks, rank_difficulty
from amr.augment.negative import nearest_queries
from amr.augment.splice import fit_lengths, kept_lengths, place_segments, segment_clips
from amr.corpus.recipe import Paste, check_recipe, compose, identity_recipe
from amr.draws import Draws
from amr.errors import AmrError


def _uniforms(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).random(n)


@settings(max_examples=200)
@given(
    lengths=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    data=st.data(),
    seed=st.integers(0, 2**32 - 1),
)
def test_segment_clips_are_ordered_subsets_or_even_stretches(lengths, data, seed):
    lengths = np.asarray(lengths)
    sizes = np.asarray([data.draw(st.integers(1, 2 * n)) for n in lengths])
    positions = segment_clips(lengths, sizes, _uniforms(seed, int(lengths.sum())))
    assert len(positions) == sizes.sum()
    for segment, (length, size) in enumerate(zip(lengths, sizes, strict=True)):
        clips = positions[sizes[:segment].sum() : sizes[: segment + 1].sum()]
        assert clips.min() >= 0 and clips.max() < length
        if size <= length:  # a subset: distinct, in order
            assert np.all(np.diff(clips) > 0)
        else:  # stretched: in order, every clip used
            assert np.all(np.diff(clips) >= 0) and len(np.unique(clips)) == length


def test_kept_lengths_reach_one_and_the_full_window():
    lengths = np.full(2000, 7)
    kept = kept_lengths(lengths, _uniforms(0, 2000))
    assert kept.min() == 1 and kept.max() == 7


@settings(max_examples=200)
@given(
    groups=st.lists(
        st.tuples(st.lists(st.integers(1, 30), min_size=1, max_size=5), st.integers(0, 4)),
        min_size=1,
        max_size=6,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_segments_fit_in_order_without_overlap(groups, seed):
    lengths = np.concatenate([np.asarray(g) for g, _ in groups])
    counts = np.asarray([len(g) for g, _ in groups])
    gap = np.asarray([gap for _, gap in groups])
    # a region with room for at least one clip per segment
    rng = np.random.default_rng(seed)
    region = counts + (counts - 1) * gap + rng.integers(0, 40, len(groups))
    fitted = fit_lengths(lengths, counts, region - (counts - 1) * gap)
    assert np.all(fitted >= 1) and np.all(fitted <= lengths)
    starts = place_segments(fitted, counts, region, gap, _uniforms(seed, len(lengths)))
    offsets = np.concatenate([[0], np.cumsum(counts)])
    for g in range(len(groups)):
        s, e = starts[offsets[g] : offsets[g + 1]], (starts + fitted)[offsets[g] : offsets[g + 1]]
        assert s[0] >= 0 and e[-1] <= region[g]
        assert np.all(s[1:] >= e[:-1] + gap[g])
        total = fitted[offsets[g] : offsets[g + 1]].sum()
        if lengths[offsets[g] : offsets[g + 1]].sum() > total:  # shrunk: only as much as needed
            assert total == region[g] - (counts[g] - 1) * gap[g]


def test_fit_shrinks_the_longest_segments_first():
    fitted = fit_lengths(np.asarray([10, 2, 9]), np.asarray([3]), np.asarray([15]))
    assert fitted.tolist() == [7, 2, 6]


def test_placement_reaches_both_ends_of_the_video():
    n = 3000
    starts = place_segments(
        np.full(n, 3), np.ones(n, int), np.full(n, 10), np.ones(n, int), _uniforms(0, n)
    )
    assert starts.min() == 0 and starts.max() == 7


def test_draws_depend_only_on_seed_id_stream_and_index():
    draws = Draws(7)
    ids = np.arange(1000, 1100)
    together = draws.uniform(ids, 3, np.arange(100))
    alone = np.asarray([draws.uniform(np.asarray([i]), 3, k)[0] for k, i in enumerate(ids)])
    np.testing.assert_array_equal(together, alone)
    assert not np.array_equal(together, draws.uniform(ids, 4, np.arange(100)))
    assert not np.array_equal(together, Draws(8).uniform(ids, 3, np.arange(100)))
    many = draws.uniform(np.arange(100_000), 0)
    assert many.min() >= 0.0 and many.max() < 1.0 and abs(many.mean() - 0.5) < 0.01
    assert np.all(draws.integers(np.arange(1000), 1, 3) < 3)


def test_average_ranks_share_ties():
    np.testing.assert_array_equal(average_ranks(np.asarray([3.0, 1.0, 3.0, 2.0])), [3.5, 1, 3.5, 2])
    assert len(average_ranks(np.zeros(0))) == 0


@pytest.mark.parametrize("fade", [2, 4, 6])
def test_fade_is_half_way_exactly_at_the_labeled_boundaries(fade):
    alpha = fade_alpha(5, fade)
    half = fade // 2
    # The label covers positions half .. half + 5; the boundary sits between two clips whose
    # weights are symmetric around 0.5.
    assert alpha[half - 1] + alpha[half] == pytest.approx(1.0)
    assert alpha[half + 4] + alpha[half + 5] == pytest.approx(1.0)
    assert np.all(alpha[half : half + 5] > 0.5) and np.all(alpha[:half] < 0.5)


def test_stretched_lengths_stay_within_the_stretch_factor():
    lengths = np.full(1000, 10)
    stretched = stretched_lengths(lengths, _uniforms(0, 1000), 2.0)
    assert stretched.min() >= 5 and stretched.max() <= 20
    assert stretched.min() < 7 and stretched.max() > 15  # both ways


def test_fade_alphas_of_many_pastes_equal_each_paste_alone():
    pastes = [(1, 2), (5, 4), (9, 6), (3, 2)]
    extended = np.concatenate([np.full(n + f, n + f) for n, f in pastes])
    fade = np.concatenate([np.full(n + f, f) for n, f in pastes])
    position = np.concatenate([np.arange(n + f) for n, f in pastes])
    together = fade_alphas(extended, fade, position)
    np.testing.assert_array_equal(together, np.concatenate([fade_alpha(n, f) for n, f in pastes]))
    assert together.dtype == np.float32 and together.min() > 0 and together.max() <= 1


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
    with pytest.raises(AmrError, match="unknown kind crop"):
        AugmentConfig(kinds=("splice", "crop"))
    with pytest.raises(AmrError, match="even"):
        AugmentConfig(fade_clips=(3,))
    with pytest.raises(AmrError, match="unknown difficulty component"):
        parse_weights("brightness=2")
    assert parse_weights("length_ratio=2")["length_ratio"] == 2.0
    config = AugmentConfig(seed=4, kinds=("negative",))
    assert AugmentConfig.from_json(config.to_json()) == config
