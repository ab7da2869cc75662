"""Training as data: settings layered defaults < --config < flags, one ablation table for the
CLI and the experiment, a stage variant made without touching the loop, checkpoint loading
that leaves the random stream alone."""

import json
from dataclasses import replace

import pytest
import torch

from amr.datasets import Store
from amr.errors import AmrError
from amr.experiment.arms import ARMS
from amr.train.ablations import ABLATIONS, ablation_settings, ablations_for
from amr.train.config import (
    DistillConfig,
    LossConfig,
    ModelConfig,
    TrainConfig,
    layered,
    run_settings,
)
from amr.train.stages import BASELINE, DISTILL, STAGES

TINY = {"hidden": 16, "heads": 2, "ffn": 32, "num_queries": 3, "encoder_layers": 1,
        "decoder_layers": 1}  # fmt: skip


def _config(tmp_path, body) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(body))
    return path


def test_settings_are_layered_defaults_then_file_then_flags(tmp_path):
    assert layered({"a": 1, "b": 1, "c": 1}, {"b": 2, "c": 2}, {"c": 3, "a": None}) == {
        "a": 1,
        "b": 2,
        "c": 3,
    }
    path = _config(tmp_path, {"train": {"epochs": 7, "lr": 0.5}, "distill": {"distill": 0.25}})
    settings = run_settings(path, DISTILL.train_defaults, {"lr": 0.1}, {"replay_fraction": None})
    assert settings.train == TrainConfig(epochs=7, lr=0.1, lr_drop=40, pacing="ordered")
    assert settings.distill == DistillConfig(distill=0.25)
    with_loss = run_settings(_config(tmp_path, {"loss": {"vtc": 0.0}}), train_flags={})
    assert with_loss.loss == LossConfig(vtc=0.0)
    assert run_settings(None, BASELINE.train_defaults, {}).train == TrainConfig()


def test_bad_config_files_are_clear_errors(tmp_path):
    with pytest.raises(AmrError, match="not a readable JSON config"):
        run_settings(tmp_path / "missing.json")
    with pytest.raises(AmrError, match="expected an object with `model`, `loss`, `train`"):
        run_settings(_config(tmp_path, {"trian": {}}))
    with pytest.raises(AmrError, match="`train` must be an object"):
        run_settings(_config(tmp_path, {"train": [1]}))
    with pytest.raises(AmrError, match="TrainConfig: unknown field 'epoch'"):
        run_settings(_config(tmp_path, {"train": {"epoch": 3}}))
    with pytest.raises(AmrError, match="`distill` section is only for amr train distill"):
        run_settings(_config(tmp_path, {"distill": {}}), train_flags={})
    with pytest.raises(AmrError, match="takes its model from --init"):
        run_settings(_config(tmp_path, {"model": {"hidden": 8}}), distill_flags={})


def test_one_ablation_table_serves_the_cli_and_the_experiment():
    from amr.cli import cli

    commands = cli.commands["train"].commands
    for ablation in ABLATIONS:
        for stage in STAGES:
            declared = {o for p in commands[stage].params for o in p.opts}
            assert (ablation.flag in declared) == (stage in ablation.stages), (ablation, stage)
    names = {a.name for a in ABLATIONS}
    assert all(set(arm.switches) <= names for arm in ARMS)
    no_distill = next(arm for arm in ARMS if arm.name == "no-distill")
    assert no_distill.settings("distill", 2) == {"distill": 0.0}
    assert no_distill.settings("train", 1) == no_distill.settings("train", 2) == {}
    no_curriculum = next(arm for arm in ARMS if arm.name == "no-curriculum")
    assert no_curriculum.settings("train", 1) == {"curriculum": False}
    shuffled = next(arm for arm in ARMS if arm.name == "shuffled-stage2")
    assert shuffled.settings("train", 1) == {} and shuffled.settings("train", 2) == {
        "curriculum": False
    }
    assert ablation_settings(["no-curriculum", "no-disc-loss"], "distill") == {
        "discrimination": 0.0
    }
    assert [a.name for a in ablations_for("baseline")] == []
    with pytest.raises(AmrError, match="unknown ablation 'no-such'"):
        ablation_settings(["no-such"], "train")


def test_loading_a_checkpoint_leaves_the_random_stream_alone(small_store, tmp_path):
    from amr.train.checkpoint import load_checkpoint, model_from_checkpoint
    from amr.train.stages import baseline

    one = TrainConfig(epochs=1, batch_size=16, val_split=None, checkpoint_every=0)
    baseline(small_store, "train", tmp_path / "run", one, TINY, show_progress=False)
    body = load_checkpoint(tmp_path / "run")
    torch.manual_seed(5)
    model_from_checkpoint(body)
    after_load = torch.rand(3)
    torch.manual_seed(5)
    assert torch.equal(torch.rand(3), after_load)


def test_a_stage_variant_is_a_new_stage_value_not_a_new_loop(small_store, tmp_path):
    """A baseline whose losses skip saliency: a new Stage value runs on the same engine."""
    from amr.train.engine import run
    from amr.train.losses import Criterion
    from amr.train.model import MomentDETR
    from amr.train.rundir import RunOptions, read_metrics
    from amr.train.spec import RunSpec

    def no_saliency(spec, device, fresh):
        loss = replace(spec.loss, saliency_margin=0.0, saliency_rank=0.0)
        return MomentDETR(spec.model).to(device), Criterion(loss)

    variant = replace(BASELINE, name="baseline-no-saliency", build=no_saliency)
    store = Store.open(small_store)
    spec = RunSpec(
        stage=variant.name,
        store=str(store.root),
        store_fingerprint=store.meta.fingerprint,
        model=ModelConfig(store.meta.video_dim, store.meta.text_dim, **TINY),
        loss=LossConfig(),
        train=TrainConfig(epochs=1, batch_size=16, val_split=None, checkpoint_every=0),
        split="train",
    )
    summary = run(variant, spec, RunOptions(tmp_path / "variant", show_progress=False))
    assert summary.steps > 0
    (line,) = read_metrics(tmp_path / "variant")
    assert "saliency_rank" in line["loss"]  # computed and logged, weighted 0 in the total
    saved = json.loads((tmp_path / "variant" / "config.json").read_text())
    assert saved["stage"] == "baseline-no-saliency" and RunSpec.from_json(saved) == spec
