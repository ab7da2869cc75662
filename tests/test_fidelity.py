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
