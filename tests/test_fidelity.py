"""The defaults that follow the reference implementation (docs/train.md, "Fidelity"), one test
each: stage 2 reads every real row from its first epoch, the pacing reaches the whole data
within any run, --init starts from the last epoch, best.pt is chosen by MR-full-mAP, and the
Active Queries' feed-forward networks start as the cold start's."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from amr.augment import AugmentConfig, augment
from amr.corpus import Corpus
from amr.train.checkpoint import load_checkpoint, model_from_checkpoint
from amr.train.config import DistillConfig, TrainConfig
from amr.train.curriculum import Pacing, plan_epoch
from amr.train.distill import init_student
from amr.train.model import MomentDETR
from amr.train.rundir import read_metrics
from amr.train.stages import DISTILL, cold_start, distill
from tests.conftest import loss_batch

TINY = {"hidden": 32, "heads": 4, "ffn": 64, "num_queries": 5, "encoder_layers": 1,
        "decoder_layers": 2}  # fmt: skip


@pytest.fixture(scope="module")
def cold(small_store, tmp_path_factory):
    root = tmp_path_factory.mktemp("fidelity")
    corpus = root / "corpus"
    config = AugmentConfig(multiplier=1, seed=4, part_rows=64, row_group_rows=16)
    augment(small_store, "train", corpus, config, show_progress=False)
    two = TrainConfig(epochs=2, batch_size=16, window_rows=48, checkpoint_every=0)
    cold_start(corpus, small_store, root / "cold", two, TINY, show_progress=False)
    return corpus, root / "cold"


def test_the_pacing_reaches_all_rows_within_the_run_whatever_the_epochs():
    for epochs in (1, 2, 6, 30):
        pacing = TrainConfig(epochs=epochs, epochs_to_full=10).pacing_schedule()
        assert pacing.fraction(epochs - 1) == 1.0
    assert TrainConfig(epochs=30, epochs_to_full=10).pacing_schedule().fraction(5) < 1.0


def test_ordered_pacing_reads_every_group_easiest_first():
    eligible = np.full(40, 8)
    plan = plan_epoch(eligible, 0, seed=3, pacing=Pacing("ordered", blocks=4), window_rows=8)
    order = np.concatenate(plan.windows)
    assert sorted(order) == list(range(40))  # nothing withheld in the first epoch
    blocks = order.reshape(4, 10)
    assert all(blocks[i].max() < blocks[i + 1].min() for i in range(3))  # easy to hard
    assert not (order == np.arange(40)).all()  # shuffled inside the blocks


def test_stage_2_reads_every_real_row_in_its_first_epoch(cold, small_store, tmp_path):
    corpus, run = cold
    one = DISTILL.train_config(epochs=1, batch_size=16, window_rows=48, val_split=None,
                               checkpoint_every=0)  # fmt: skip
    distill(run, corpus, small_store, tmp_path / "d", one, DistillConfig(active_queries=2),
            show_progress=False)  # fmt: skip
    (line,) = read_metrics(tmp_path / "d")
    assert line["samples"] == Corpus.open(corpus).manifest["kinds"]["original"]


def test_init_is_the_cold_starts_last_epoch(cold, small_store, tmp_path):
    corpus, run = cold
    one = TrainConfig(epochs=1, batch_size=16, window_rows=48, val_split=None, checkpoint_every=0)
    distill(run, corpus, small_store, tmp_path / "d", one, show_progress=False)
    spec = json.loads((tmp_path / "d" / "config.json").read_text())
    assert spec["init"] == str((run / "last.pt").resolve())


def test_best_checkpoint_is_the_epoch_with_the_best_mr_map(cold):
    _, run = cold
    lines = read_metrics(run)
    maps = [line["val"]["MR-full-mAP"] for line in lines]
    best = load_checkpoint(run / "best.pt")
    assert best["best"] == max(maps)
    assert best["cursor"] == [int(np.argmax(maps)) + 1, 0]


def test_active_feed_forward_starts_as_the_cold_starts(cold):
    _, run = cold
    teacher = model_from_checkpoint(load_checkpoint(run / "last.pt"))
    student = MomentDETR(replace(teacher.config, active_queries=3))
    init_student(student, teacher, original_randomly=False)
    for s, t in zip(student.decoder, teacher.decoder, strict=True):
        for a, b in zip(s.active_ffn.parameters(), t.ffn.parameters(), strict=True):
            assert torch.equal(a, b)
        assert torch.equal(s.active_norm.weight, t.norm_ffn.weight)
    fresh = MomentDETR(replace(teacher.config, active_queries=3))
    init_student(fresh, teacher, original_randomly=False, active_ffn_from_teacher=False)
    assert not torch.equal(fresh.decoder[0].active_ffn[0].weight, teacher.decoder[0].ffn[0].weight)


def _batch_inputs(config, lengths=(7, 5), words=(4, 3)):
    g = torch.Generator().manual_seed(1)
    video = torch.randn(len(lengths), max(lengths), config.video_dim, generator=g)
    text = torch.randn(len(words), max(words), config.text_dim, generator=g)
    video_mask = torch.arange(max(lengths))[None] < torch.tensor(lengths)[:, None]
    text_mask = torch.arange(max(words))[None] < torch.tensor(words)[:, None]
    return video, video_mask, text, text_mask


def test_joint_matching_gives_each_moment_one_query_of_both_sets():
    from amr.train.config import LossConfig, ModelConfig
    from amr.train.losses import Criterion
    from amr.train.matcher import MatchCosts, hungarian_match
    from amr.train.outputs import join

    torch.manual_seed(0)
    config = ModelConfig(video_dim=6, text_dim=5, hidden=16, heads=2, ffn=32, num_queries=4,
                         active_queries=3, decoder_layers=2)  # fmt: skip
    inputs = _batch_inputs(config)
    outputs = MomentDETR(config)(*inputs)
    targets = [torch.tensor([[0.3, 0.2], [0.7, 0.1]]), torch.tensor([[0.5, 0.4]])]
    joined = join(outputs.query_sets)
    assert joined.logits.shape == (2, 7) and len(joined.aux) == 1
    for (queries, moments), target in zip(
        hungarian_match(joined.logits, joined.spans, targets, MatchCosts()), targets, strict=True
    ):
        assert sorted(moments) == list(range(len(target)))  # every moment exactly once
        assert len(set(queries)) == len(queries) and max(queries) < 7
    levels = torch.tensor([[0, 2, 2, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0, 0]])
    pos, neg = torch.tensor([[1], [2]]), torch.tensor([[5], [0]])
    batch = loss_batch(inputs[1], inputs[3], targets, pos, neg, levels)
    _, joint_terms = Criterion(LossConfig(), joint=True)(outputs, batch)
    _, separate_terms = Criterion(LossConfig(), joint=False)(outputs, batch)
    assert not any(k.startswith("active_") for k in joint_terms)
    assert "active_label" in separate_terms and "active_iou_score_0" in separate_terms


def test_the_iou_score_target_and_the_ranking_by_probability_times_iou():
    from amr.train.config import ModelConfig
    from amr.train.spans import best_iou

    spans = torch.tensor([[[0.5, 0.2], [0.2, 0.2]], [[0.5, 0.5], [0.9, 0.1]]])  # (center, width)
    targets = [torch.tensor([[0.5, 0.4], [0.2, 0.2]]), torch.zeros(0, 2)]
    expected = torch.tensor([[0.5, 1.0], [0.0, 0.0]])  # [0.4,0.6] in [0.3,0.7]: 0.2 / 0.4
    assert torch.allclose(best_iou(spans, targets), expected)
    torch.manual_seed(0)
    config = ModelConfig(video_dim=6, text_dim=5, hidden=16, heads=2, ffn=32, num_queries=4)
    out = MomentDETR(config).eval()(*_batch_inputs(config))
    scores, _ = out.ranked_candidates()
    original = out.original
    assert torch.allclose(scores, original.logits.sigmoid() * original.iou.sigmoid())
    plain, _ = out.ranked_candidates(by_iou=False)
    assert torch.allclose(plain, original.logits.sigmoid())


def test_the_contrastive_losses_reward_aligned_video_and_text():
    from amr.train.losses import clip_text_contrastive, video_text_contrastive

    g = torch.Generator().manual_seed(0)
    text = torch.randn(4, 3, 8, generator=g)
    text_mask = torch.ones(4, 3, dtype=torch.bool)
    video_mask = torch.ones(4, 5, dtype=torch.bool)
    aligned = text[:, -1:, :].expand(4, 5, 8).clone()  # each video looks like its sentence
    shuffled = aligned[[1, 2, 3, 0]]
    low = video_text_contrastive(aligned, video_mask, text, text_mask, 0.07)
    high = video_text_contrastive(shuffled, video_mask, text, text_mask, 0.07)
    assert low < 0.1 < high
    relevant = torch.zeros(4, 5, dtype=torch.bool)
    relevant[:, :2] = True
    video = torch.randn(4, 5, 8, generator=g)
    query = torch.nn.functional.normalize(text, dim=-1).mean(1)  # not renormalised: reference
    cosine = (torch.nn.functional.normalize(video, dim=-1) * query[:, None, :]).sum(-1)
    by_hand = torch.nn.functional.binary_cross_entropy_with_logits(cosine / 0.07, relevant.float())
    ctc = clip_text_contrastive(video, video_mask, text, text_mask, relevant, 0.07)
    assert torch.allclose(ctc, by_hand, atol=1e-6)


def test_a_checkpoint_from_before_the_iou_head_still_loads(tmp_path):
    from amr.train.checkpoint import save_checkpoint
    from amr.train.config import ModelConfig

    old = MomentDETR(ModelConfig(video_dim=6, text_dim=5, hidden=16, heads=2, ffn=32,
                                 iou_head=False))  # fmt: skip
    model_config = old.config.to_json()
    del model_config["iou_head"], model_config["rank_by_iou"]  # an older checkpoint
    body = {"format": "amr-checkpoint", "version": 1, "model_config": model_config,
            "model": old.state_dict()}  # fmt: skip
    save_checkpoint(tmp_path / "old.pt", body)
    loaded = model_from_checkpoint(load_checkpoint(tmp_path / "old.pt"))
    assert loaded.iou_head is None and not loaded.config.rank_by_iou


def test_real_rows_carry_their_wrong_spans_into_the_batches(cold, small_store):
    from amr.datasets import Store
    from amr.train.data import CorpusSource, LoaderConfig, iterate_batches

    corpus, _ = cold
    store = Store.open(small_store)
    samples = store.samples("train").to_pylist()
    wrong = {r["qid"]: r["wrong_spans"] for r in samples}
    table = Corpus.open(corpus)
    originals = [
        row
        for _, part in table.iter_tables(["kind", "qid", "negative_windows"])
        for row in part.to_pylist()
        if row["kind"] == "original"
    ]
    assert sum(len(r["negative_windows"]) for r in originals) > 0
    for row in originals:  # mined spans are clip-aligned: the corpus keeps them as they are
        assert row["negative_windows"] == wrong[row["qid"]]
    source = CorpusSource(corpus, small_store, {"original"}, LoaderConfig(batch_size=8), 0)
    plan = plan_epoch(source.eligible, 0, 0, None, 48)
    _, batch = next(iter(iterate_batches(source, plan)))
    clip = store.meta.clip_length
    for i, qid in enumerate(batch.qid.tolist()):
        expected = torch.zeros(batch.video_mask.shape[1], dtype=torch.bool)
        for start, end in wrong[qid]:
            expected[round(start / clip) : round(end / clip)] = True
        assert torch.equal(batch.negative_clips[i], expected & batch.video_mask[i])


def test_discrimination_pushes_the_query_away_from_the_wrong_spans():
    from amr.train.distill import discrimination_loss

    similarity = torch.tensor([[0.9, 0.8, 0.1, 0.5, 0.0], [0.2, 0.3, 0.4, 0.5, 0.6]])
    relevant = torch.tensor([[1, 1, 0, 0, 0], [0, 0, 0, 0, 0]], dtype=torch.bool)
    wrong = torch.tensor([[0, 0, 0, 1, 1], [1, 0, 0, 0, 0]], dtype=torch.bool)
    # sample 0: positives 0.85, wrong spans 0.25; sample 1 has no relevant clip: left out
    by_hand = torch.nn.functional.softplus(torch.tensor((0.25 - 0.85) / 0.07))
    assert torch.allclose(discrimination_loss(similarity, relevant, wrong, 0.07), by_hand)
    none = torch.zeros_like(wrong)
    assert discrimination_loss(similarity, relevant, none, 0.07) == 0


def test_stage_2_discriminates_against_wrong_spans_by_default(cold, small_store, tmp_path):
    corpus, run = cold
    one = TrainConfig(epochs=1, batch_size=16, window_rows=48, val_split=None, checkpoint_every=0)
    distill(run, corpus, small_store, tmp_path / "d", one, show_progress=False)
    (line,) = read_metrics(tmp_path / "d")
    spec = json.loads((tmp_path / "d" / "config.json").read_text())
    assert spec["distill"]["disc_negatives"] == "wrong-spans" and line["loss"]["discrimination"] > 0
