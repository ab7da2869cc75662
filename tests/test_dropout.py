"""Fast dropout (TrainConfig.fast_dropout): torch's dropout distribution from a quarter of the
random draws, seeded by torch's generator; and the training settings an older run lacks."""

from __future__ import annotations

import torch

from amr.train import ModelConfig, MomentDETR
from amr.train.config import LossConfig, TrainConfig
from amr.train.dropout import dropout, keep_mask, use_fast_dropout
from amr.train.model import Attention
from amr.train.spec import RunSpec, saved_spec_json


def test_every_lane_of_a_draw_keeps_at_the_asked_rate():
    torch.manual_seed(0)
    for p in (0.1, 0.5):
        kept = keep_mask((200_000, 4), p, torch.device("cpu")).float()
        # four masks come from each 64-bit draw: each of them (the top one included) at 1 - p
        assert torch.allclose(kept.mean(dim=0), torch.full((4,), 1 - p), atol=0.005)
    assert keep_mask((1000,), 0.0, torch.device("cpu")).all()


def test_masks_follow_the_seed():
    shape = (7, 33)  # not a multiple of the four lanes
    torch.manual_seed(3)
    first = keep_mask(shape, 0.3, torch.device("cpu"))
    torch.manual_seed(3)
    assert torch.equal(first, keep_mask(shape, 0.3, torch.device("cpu")))
    assert not torch.equal(first, keep_mask(shape, 0.3, torch.device("cpu")))


def test_fast_dropout_zeroes_or_scales_and_passes_the_gradient_through_the_mask():
    x = torch.randn(64, 50, requires_grad=True)
    out = dropout(x, 0.25, training=True, fast=True)
    kept = out != 0
    assert 0.65 < kept.float().mean() < 0.85
    assert torch.allclose(out[kept], x[kept] / 0.75)
    out.sum().backward()
    assert torch.allclose(x.grad, kept.float() / 0.75)
    assert dropout(x, 0.25, training=False, fast=True) is x


def test_attention_in_plain_ops_equals_scaled_dot_product_attention():
    """With fast dropout, training attends in plain ops; kept everywhere (p below 1/65,536),
    they give what scaled_dot_product_attention gives, padding masks included."""
    torch.manual_seed(0)
    fast = use_fast_dropout(Attention(32, 4, dropout=1e-7)).train()
    reference = Attention(32, 4, dropout=0.0).train()
    reference.load_state_dict(fast.state_dict())
    x, memory = torch.randn(3, 5, 32), torch.randn(3, 9, 32)
    mask = torch.ones(3, 9, dtype=torch.bool)
    mask[1, 6:] = False
    assert torch.allclose(fast(x, memory, memory, mask), reference(x, memory, memory, mask),
                          atol=1e-5)  # fmt: skip


def test_a_compiled_model_with_fast_dropout_is_one_graph():
    """--compile with --fast-dropout: the compiled graph draws its own masks, so dynamo traces
    the whole model as one graph (the fast masks' in-place draw broke it at every dropout)."""
    config = ModelConfig(video_dim=12, text_dim=8, hidden=32, heads=4, ffn=64)
    model = use_fast_dropout(MomentDETR(config)).train()
    video, text = torch.randn(2, 20, 12), torch.randn(2, 6, 8)
    masks = torch.ones(2, 20, dtype=torch.bool), torch.ones(2, 6, dtype=torch.bool)
    explained = torch._dynamo.explain(model)(video, masks[0], text, masks[1])
    assert (explained.graph_count, explained.graph_break_count) == (1, 0)


def test_a_model_with_fast_dropout_trains_and_predicts_as_without():
    config = ModelConfig(video_dim=12, text_dim=8, hidden=32, heads=4, ffn=64)
    torch.manual_seed(0)
    plain = MomentDETR(config)
    fast = use_fast_dropout(MomentDETR(config))
    fast.load_state_dict(plain.state_dict())
    video, text = torch.randn(2, 20, 12), torch.randn(2, 6, 8)
    masks = torch.ones(2, 20, dtype=torch.bool), torch.ones(2, 6, dtype=torch.bool)
    trained = fast.train()(video, masks[0], text, masks[1])
    trained.original.logits.sum().backward()
    assert all(p.grad is not None for p in fast.query_content.parameters())
    plain.eval(), fast.eval()
    with torch.no_grad():
        a = plain(video, masks[0], text, masks[1]).original.spans
        b = fast(video, masks[0], text, masks[1]).original.spans
    assert torch.equal(a, b)  # masks are drawn only in training


def test_a_run_saved_before_a_setting_existed_resumes_with_its_default():
    spec = RunSpec("baseline", "/store", "sha256:0", ModelConfig(video_dim=4, text_dim=4),
                   LossConfig(), TrainConfig(), split="train")  # fmt: skip
    older = spec.to_json()
    del older["train"]["fast_dropout"], older["train"]["fused_adamw"]
    assert saved_spec_json(older) == spec.to_json()
