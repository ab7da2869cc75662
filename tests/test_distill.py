"""Stage 2: the teacher stays frozen, the Original Queries start where the teacher is, Active
Queries learn, a distilled run predicts with both sets, and --init is checked."""

import json

import pytest
import torch

from amr.augment import AugmentConfig, augment
from amr.errors import AmrError
from amr.predict.split import predict_checkpoint
from amr.train.checkpoint import load_checkpoint, model_from_checkpoint
from amr.train.config import DistillConfig, TrainConfig
from amr.train.curriculum import plan_epoch
from amr.train.data import CorpusSource, LoaderConfig, iterate_batches
from amr.train.distill import distillation_loss, init_student
from amr.train.model import MomentDETR
from amr.train.stages import baseline, cold_start, distill

pytestmark = pytest.mark.slow  # trains models or runs real processes

TINY = {"hidden": 32, "heads": 4, "ffn": 64, "num_queries": 5, "encoder_layers": 1,
        "decoder_layers": 2}  # fmt: skip
ONE = TrainConfig(epochs=1, batch_size=16, window_rows=48, epochs_to_full=1,
                  checkpoint_every=0)  # fmt: skip


@pytest.fixture(scope="module")
def cold(small_store, tmp_path_factory):
    root = tmp_path_factory.mktemp("distill")
    corpus = root / "corpus"
    augment(
        small_store,
        "train",
        corpus,
        AugmentConfig(multiplier=1, seed=3, part_rows=64, row_group_rows=16),
        show_progress=False,
    )
    cold_start(corpus, small_store, root / "cold", ONE, TINY, show_progress=False)
    return corpus, root / "cold"


def test_the_teacher_stays_frozen_and_active_queries_learn(cold, small_store, tmp_path):
    corpus, run = cold
    teacher_before = load_checkpoint(run / "best.pt")["model"]
    settings = DistillConfig(active_queries=4)
    distill(run, corpus, small_store, tmp_path / "d", ONE, settings, show_progress=False)
    body = load_checkpoint(tmp_path / "d" / "last.pt")
    assert body["stage"] == "distill" and body["model_config"]["active_queries"] == 4
    student = body["model"]
    assert any("active" in name for name in student)
    assert not torch.equal(student["class_head.weight"], teacher_before["class_head.weight"])
    line = json.loads((tmp_path / "d" / "metrics.jsonl").read_text())
    assert {"distill", "discrimination", "iou_score", "vtc", "ctc"} <= set(line["loss"])
    assert "active_label" not in line["loss"]  # both sets matched jointly (the default)
    records = predict_checkpoint(tmp_path / "d", small_store, "val", device="cpu")
    assert len(records[0]["pred_relevant_windows"]) == TINY["num_queries"] + 4  # both sets


def test_training_steps_leave_the_teacher_bit_identical(cold, small_store):
    from dataclasses import replace

    from amr.train.distill import DistillCriterion
    from amr.train.engine import train_step
    from amr.train.losses import Criterion, LossConfig

    corpus, run = cold
    teacher = model_from_checkpoint(load_checkpoint(run / "best.pt"))
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    student = MomentDETR(replace(teacher.config, active_queries=3))
    init_student(student, teacher, original_randomly=False)
    active_before = student.active_anchors.detach().clone()
    criterion = DistillCriterion(Criterion(LossConfig()), teacher, DistillConfig(active_queries=3))
    optimizer = torch.optim.AdamW(student.parameters(), lr=1e-3)
    source = CorpusSource(corpus, small_store, {"original"}, LoaderConfig(batch_size=8), 0)
    plan = plan_epoch(source.eligible, 0, 0, None, 48)
    for _, (_, batch) in zip(range(3), iterate_batches(source, plan), strict=False):
        terms = train_step(student, criterion, optimizer, batch, torch.device("cpu"), 0.1)
    assert all(torch.equal(before[k], v) for k, v in teacher.state_dict().items())
    assert not teacher.training and all(not p.requires_grad for p in teacher.parameters())
    assert not torch.equal(active_before, student.active_anchors.detach())
    assert terms["distill"] > 0  # dropout makes the student differ in training mode


def test_original_queries_start_equal_to_the_base_queries(cold, small_store):
    corpus, run = cold
    teacher = model_from_checkpoint(load_checkpoint(run / "best.pt")).eval()
    frozen = {k: v.clone() for k, v in teacher.state_dict().items()}
    from dataclasses import replace

    student = MomentDETR(replace(teacher.config, active_queries=3))
    init_student(student, teacher, original_randomly=False)
    student.eval()
    source = CorpusSource(corpus, small_store, {"original"}, LoaderConfig(batch_size=8), 0)
    plan = plan_epoch(source.eligible, 0, 0, None, 48)
    _, batch = next(iter(iterate_batches(source, plan)))
    inputs = (batch.video.float(), batch.video_mask, batch.text.float(),
              batch.text_mask)  # fmt: skip
    with torch.no_grad():
        loss = distillation_loss(
            student(*inputs).original, teacher(*inputs).original, hidden_weight=1.0
        )
    assert abs(loss.item()) < 1e-5
    assert all(torch.equal(frozen[k], v) for k, v in teacher.state_dict().items())


def test_init_must_be_a_single_query_set_model(cold, small_store, tmp_path):
    corpus, _ = cold
    base = tmp_path / "base"
    baseline(small_store, "train", base, ONE, TINY, show_progress=False)
    distill(base, corpus, small_store, tmp_path / "d", ONE, show_progress=False)  # a stand-in
    with pytest.raises(AmrError, match=r"--init must be a cold-start \(or baseline\) run or "
                       "checkpoint, not 'distill'"):  # fmt: skip
        distill(tmp_path / "d", corpus, small_store, tmp_path / "d2", ONE, show_progress=False)
    with pytest.raises(AmrError, match="no checkpoint"):
        distill(tmp_path / "nowhere", corpus, small_store, tmp_path / "d", ONE, show_progress=False)


def test_a_resumed_distill_run_equals_an_uninterrupted_one(cold, small_store, tmp_path,
                                                           monkeypatch):  # fmt: skip
    from amr.train import engine as engine_module

    corpus, run = cold
    config = TrainConfig(epochs=2, batch_size=8, window_rows=24, epochs_to_full=1,
                         checkpoint_every=2, val_split=None)  # fmt: skip
    settings = DistillConfig(active_queries=3, replay_fraction=0.3)
    whole = distill(run, corpus, small_store, tmp_path / "whole", config, settings,
                    show_progress=False)  # fmt: skip
    real_step, calls = engine_module.train_step, {"n": 0}

    def crashing_step(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == whole.steps - 1:
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(engine_module, "train_step", crashing_step)
    with pytest.raises(KeyboardInterrupt):
        distill(run, corpus, small_store, tmp_path / "cut", config, settings, show_progress=False)
    monkeypatch.setattr(engine_module, "train_step", real_step)
    resumed = distill(run, corpus, small_store, tmp_path / "cut", config, settings, resume=True,
                      show_progress=False)  # fmt: skip
    assert resumed.steps == whole.steps > 3
    a = load_checkpoint(tmp_path / "whole" / "last.pt")["model"]
    b = load_checkpoint(tmp_path / "cut" / "last.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_cli_distill_settings_reach_the_run_config(cold, small_store, tmp_path):
    from click.testing import CliRunner

    from amr.cli import cli

    corpus, run = cold
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"train": {"epochs": 1, "batch_size": 16, "window_rows": 48},
                                  "distill": {"distill": 0.25, "hard_negatives": 2}}))  # fmt: skip
    out = tmp_path / "d"
    result = CliRunner().invoke(
        cli,
        ["train", "distill", "--init", str(run), "--corpus", str(corpus), "--store",
         str(small_store), "--out", str(out), "--config", str(config), "--no-disc-loss",
         "--replay-fraction", "0.2", "--quiet", "--device", "cpu"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "config.json").read_text())
    assert saved["distill"]["distill"] == 0.25 and saved["distill"]["hard_negatives"] == 2
    assert saved["distill"]["discrimination"] == 0.0 and saved["distill"]["replay_fraction"] == 0.2
    assert saved["train"]["epochs"] == 1 and saved["train"]["lr_drop"] == 40  # stage 2 default
    assert "discrimination" not in json.loads((out / "metrics.jsonl").read_text())["loss"]
