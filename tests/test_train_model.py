"""The model's building blocks: matcher against brute force, losses on hand-made inputs, and
the model's shapes, masking and gradients."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from amr.errors import AmrError
from amr.train import Criterion, LossConfig, MatchCosts, ModelConfig, MomentDETR, hungarian_match
from amr.train.losses import focal_loss, saliency_margin_loss, saliency_rank_loss
from amr.train.matcher import match_cost, match_layers
from amr.train.spans import cw_to_se, paired_giou, pairwise_giou, se_to_cw
from tests.conftest import loss_batch

# -- matching ------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.integers(0, 4), st.integers(0, 2**31 - 1))
def test_hungarian_matching_is_the_cheapest_assignment(n_queries, n_targets, seed):
    n_targets = min(n_targets, n_queries)
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(1, n_queries, generator=g)
    spans = torch.rand(1, n_queries, 2, generator=g) * 0.5 + 0.1
    targets = [torch.rand(n_targets, 2, generator=g) * 0.5 + 0.1]
    ((rows, cols),) = hungarian_match(logits, spans, targets)
    assert len(rows) == n_targets and len(set(rows)) == n_targets
    if n_targets == 0:
        return
    cost = match_cost(logits[0], spans[0], targets[0], MatchCosts()).numpy()
    best = min(
        sum(cost[q, t] for t, q in enumerate(chosen))
        for chosen in itertools.permutations(range(n_queries), n_targets)
    )
    assert cost[rows, cols].sum() == pytest.approx(best, rel=1e-5, abs=1e-5)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**31 - 1), st.booleans())
def test_matching_every_layer_at_once_assigns_as_scipy_does(n_queries, seed, ties):
    """Samples with one or two moments are assigned without scipy: every assignment, ties
    (repeated queries) and more moments than queries included, must be scipy's, index for
    index."""
    from scipy.optimize import linear_sum_assignment

    g = torch.Generator().manual_seed(seed)
    layers, batch = 3, 6
    logits = torch.randn(layers, batch, n_queries, generator=g)
    spans = torch.rand(layers, batch, n_queries, 2, generator=g) * 0.5 + 0.1
    if ties:  # every query repeats the first one, or a query of another layer
        logits[0], spans[0] = logits[0, :, :1], spans[0, :, :1]
        logits[1, :, -1], spans[1, :, -1] = logits[1, :, 0], spans[1, :, 0]
    counts = torch.randint(0, 4, (batch,), generator=g).tolist()
    targets = [torch.rand(n, 2, generator=g) * 0.5 + 0.1 for n in counts]
    if ties:
        targets[0] = targets[0][:1].repeat(len(targets[0]), 1)  # the same moment twice
    found = match_layers(logits, spans, targets)
    for layer in range(layers):
        for b, target in enumerate(targets):
            cost = match_cost(logits[layer, b], spans[layer, b], target, MatchCosts()).numpy()
            rows, cols = linear_sum_assignment(cost) if len(target) else ([], [])
            assert found[layer][b][0].tolist() == list(rows), (layer, b)
            assert found[layer][b][1].tolist() == list(cols), (layer, b)


def test_a_query_on_the_moment_is_matched_to_it():
    spans = torch.tensor([[[0.2, 0.1], [0.7, 0.2], [0.5, 0.9]]])
    logits = torch.zeros(1, 3)
    targets = [torch.tensor([[0.7, 0.2], [0.2, 0.1]])]
    ((rows, cols),) = hungarian_match(logits, spans, targets)
    assert dict(zip(cols.tolist(), rows.tolist(), strict=True)) == {0: 1, 1: 0}


# -- spans and losses ----------------------------------------------------------------------------


def test_span_conversions_and_giou_by_hand():
    se = torch.tensor([[0.1, 0.3], [0.5, 0.9]])
    assert torch.allclose(cw_to_se(se_to_cw(se)), se)
    a, b = torch.tensor([[0.0, 0.4]]), torch.tensor([[0.6, 1.0]])
    # Disjoint: IoU 0, the hull (1.0) has 0.2 that neither covers → gIoU = -0.2.
    assert paired_giou(a, b).item() == pytest.approx(-0.2)
    assert pairwise_giou(a, a).item() == pytest.approx(1.0)
    c = torch.tensor([[0.2, 0.6]])  # IoU with a: 0.2 / 0.6
    assert paired_giou(a, c).item() == pytest.approx(1 / 3)


def test_focal_loss_by_hand():
    logits, targets = torch.tensor([0.0, 2.0]), torch.tensor([1.0, 0.0])
    p = torch.sigmoid(torch.tensor(2.0)).item()
    expected = 0.25 * 0.5**2 * np.log(2) + 0.75 * p**2 * -np.log(1 - p)
    assert focal_loss(logits, targets, 0.25, 2.0).item() == pytest.approx(expected, rel=1e-5)


def test_saliency_losses_by_hand():
    saliency = torch.tensor([[2.0, 0.0, 1.0, 0.5]])
    pos, neg = torch.tensor([[0, 2]]), torch.tensor([[1, 3]])
    assert saliency_margin_loss(saliency, pos, neg, 0.2).item() == 0.0  # 2 > 0.2, 1 - 0.5 > 0.2
    assert saliency_margin_loss(saliency, neg, pos, 0.2).item() == pytest.approx(
        ((0.2 + 2.0) + (0.2 + 0.5)) / 2
    )
    assert saliency_margin_loss(saliency, torch.tensor([[-1]]), torch.tensor([[1]]), 0.2) == 0.0
    mask = torch.ones(1, 4, dtype=torch.bool)
    levels = torch.tensor([[2, 0, 1, 0]])
    ordered = saliency_rank_loss(torch.tensor([[3.0, 0.0, 2.0, 0.0]]), levels, mask, 0.5)
    reversed_ = saliency_rank_loss(torch.tensor([[0.0, 3.0, 0.0, 2.0]]), levels, mask, 0.5)
    assert ordered < reversed_
    # Level 1: clips {0, 2}; level 2: clip {0}. By hand with uniform scores (log 1/4 each).
    flat = saliency_rank_loss(torch.zeros(1, 4), levels, mask, 0.5)
    assert flat.item() == pytest.approx(np.log(4))


# -- the model -----------------------------------------------------------------------------------

SMALL = ModelConfig(video_dim=12, text_dim=8, hidden=32, heads=4, ffn=64, num_queries=5)


def _inputs(lengths, words, seed=0):
    g = torch.Generator().manual_seed(seed)
    video = torch.randn(len(lengths), max(lengths), SMALL.video_dim, generator=g)
    text = torch.randn(len(words), max(words), SMALL.text_dim, generator=g)
    video_mask = torch.arange(max(lengths))[None] < torch.tensor(lengths)[:, None]
    text_mask = torch.arange(max(words))[None] < torch.tensor(words)[:, None]
    return video, video_mask, text, text_mask


def test_model_output_shapes_and_ranges():
    torch.manual_seed(0)
    model = MomentDETR(SMALL).eval()
    out = model(*_inputs([7, 4], [3, 5]))
    (original,) = out.query_sets
    assert original.logits.shape == (2, 5) and original.spans.shape == (2, 5, 2)
    assert out.saliency.shape == (2, 7) and torch.isinf(out.saliency[1, 4:]).all()
    assert ((original.spans > 0) & (original.spans < 1)).all()
    assert len(original.aux) == SMALL.decoder_layers - 1


def test_padding_does_not_change_a_samples_outputs():
    torch.manual_seed(0)
    model = MomentDETR(SMALL).eval()
    video, video_mask, text, text_mask = _inputs([9, 4], [6, 3])
    batched = model(video, video_mask, text, text_mask)
    alone = model(video[1:, :4], video_mask[1:, :4], text[1:, :3], text_mask[1:, :3])
    assert torch.allclose(batched.original.spans[1], alone.original.spans[0], atol=1e-5)
    assert torch.allclose(batched.saliency[1, :4], alone.saliency[0], atol=1e-5)


def test_every_parameter_gets_a_gradient_from_the_losses():
    torch.manual_seed(0)
    model = MomentDETR(SMALL)
    for head in model.span_heads:  # zero-initialised, which holds the layers before it at 0
        torch.nn.init.normal_(head[-1].weight, std=0.01)
    video, video_mask, text, text_mask = _inputs([8, 6], [4, 4])
    targets = [torch.tensor([[0.3, 0.2]]), torch.tensor([[0.5, 0.3], [0.8, 0.1]])]
    levels = torch.tensor([[0, 0, 3, 2, 0, 0, 0, 0], [0, 0, 1, 4, 0, 0, 0, 0]])
    pos, neg = torch.tensor([[2], [3]]), torch.tensor([[6], [0]])
    batch = loss_batch(video_mask, text_mask, targets, pos, neg, levels)
    total, terms = Criterion(LossConfig())(model(video, video_mask, text, text_mask), batch)
    total.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert missing == []
    expected = {"label", "span_l1", "span_giou", "label_0", "saliency_margin", "saliency_rank"}
    assert expected | {"iou_score", "iou_score_0", "vtc", "ctc"} <= set(terms)


def test_bad_model_configs_are_clear_errors():
    with pytest.raises(AmrError, match="not a multiple of heads"):
        ModelConfig(video_dim=4, text_dim=4, hidden=30, heads=8)
    with pytest.raises(AmrError, match=r"ModelConfig: unknown field 'hiden'"):
        ModelConfig.from_json({"video_dim": 4, "text_dim": 4, "hiden": 3})


def test_active_queries_leave_the_original_set_unchanged_and_learn():
    """Stage 2 adds a second query set; with the stage-1 weights loaded, the original set
    computes exactly what the stage-1 model computes (the teacher's Base Queries)."""
    from dataclasses import replace

    torch.manual_seed(0)
    teacher = MomentDETR(SMALL).eval()
    student = MomentDETR(replace(SMALL, active_queries=3)).eval()
    missing, unexpected = student.load_state_dict(teacher.state_dict(), strict=False)
    assert unexpected == [] and missing and all("active" in name for name in missing)
    inputs = _inputs([7, 4], [3, 5])
    base, both = teacher(*inputs), student(*inputs)
    assert torch.allclose(base.original.spans, both.original.spans, atol=1e-6)
    assert torch.allclose(base.original.logits, both.original.logits, atol=1e-6)
    original, active = both.query_sets
    assert (original.name, active.name) == ("original", "active")
    assert active.spans.shape == (2, 3, 2) and active.logits.shape == (2, 3)
    assert [len(s.aux) for s in both.query_sets] == [SMALL.decoder_layers - 1] * 2
    assert all(layer.spans.shape == (2, 3, 2) for layer in active.aux)
    student.train()
    active = student(*inputs).query_sets[1]
    (active.spans.sum() + active.logits.sum()).backward()
    active = [p for n, p in student.named_parameters() if "active" in n]
    assert active and all(p.grad is not None and p.grad.abs().sum() > 0 for p in active)


def test_matching_every_layer_at_once_is_matching_each_layer():
    generator = torch.Generator().manual_seed(4)
    logits, spans = (
        torch.randn(3, 4, 6, generator=generator),
        torch.rand(3, 4, 6, 2, generator=generator),
    )
    targets = [torch.rand(n, 2, generator=generator) for n in (2, 0, 1, 3)]
    together = match_layers(logits, spans, targets)
    for layer in range(3):
        alone = hungarian_match(logits[layer], spans[layer], targets)
        for (rows, cols), (rows_alone, cols_alone) in zip(together[layer], alone, strict=True):
            assert rows.tolist() == rows_alone.tolist() and cols.tolist() == cols_alone.tolist()


@pytest.mark.parametrize(
    ("counts", "queries"), [((1,) * 7, 10), ((2, 0, 7, 1, 1), 5), ((0, 0, 0), 4)]
)
def test_every_layers_losses_are_what_the_layer_gives_alone(counts, queries):
    """The set losses of all decoder layers are computed in one batched pass: each layer's
    terms, and their gradients, must be to the bit those the layer gives when it is matched
    and scored alone (sizes that are no multiple of a vector's lanes, more moments than
    queries, none at all)."""
    from amr.train.outputs import QuerySet

    generator = torch.Generator().manual_seed(len(counts) * queries)
    batch, n_layers = len(counts), 3

    def leaf(*shape, scale=1.0, shift=0.0):
        return (torch.rand(*shape, generator=generator) * scale + shift).requires_grad_()

    layers = [
        QuerySet("original", leaf(batch, queries, scale=6, shift=-3),
                 leaf(batch, queries, 2, scale=0.5, shift=0.1), torch.zeros(batch, queries, 1),
                 leaf(batch, queries, scale=6, shift=-3))
        for _ in range(n_layers)
    ]  # fmt: skip
    targets = [torch.rand(n, 2, generator=generator) * 0.4 + 0.1 for n in counts]
    last, *earlier = layers
    last.aux = earlier
    total, together = Criterion(LossConfig()).matched(last, targets)
    alone = Criterion(LossConfig(aux=False))
    for i, layer in enumerate(layers):
        single = QuerySet(layer.name, layer.logits, layer.spans, layer.hidden, layer.iou)
        layer_total, terms = alone.matched(single, targets)
        assert set(terms) == {"label", "span_l1", "span_giou", "iou_score"}
        suffix = "" if i == 0 else f"_{i - 1}"
        for name, value in terms.items():
            assert torch.equal(together[name + suffix], value), (i, name)
        # a layer's gradients come from its own terms only
        wrt = (layer.logits, layer.spans, layer.iou)
        expected = torch.autograd.grad(layer_total, wrt)
        got = torch.autograd.grad(total, wrt, retain_graph=True)
        for a, b, what in zip(expected, got, ("logits", "spans", "iou"), strict=True):
            assert torch.equal(a, b), (i, what)
    assert len(together) == 4 * n_layers
