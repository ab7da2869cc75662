"""`amr experiment`: every arm trains on the AMR arm's budget, shared stage-1 runs are shared,
a rerun continues instead of retraining, and the report says what was measured."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from amr.cli import cli
from amr.errors import AmrError
from amr.experiment import (
    ArmResult,
    Budget,
    ExperimentConfig,
    run_experiment,
    summarize,
    write_report,
)
from amr.experiment.arms import ARMS, arms_named
from amr.experiment.records import RunRecord
from amr.experiment.report import Spread, lookup

TINY_MODEL = {"hidden": 32, "heads": 4, "ffn": 64, "num_queries": 5, "encoder_layers": 1,
              "decoder_layers": 2}  # fmt: skip
LOADER = {"batch_size": 16, "window_rows": 48, "checkpoint_every": 0}
TINY = Budget(
    "tiny",
    TINY_MODEL,
    multiplier=3,  # every op, so the corpus has negatives to leave out
    stage1={"epochs": 2, "epochs_to_full": 1, **LOADER},
    stage2={"epochs": 1, "epochs_to_full": 1, **LOADER},
    baseline=LOADER,
)


@pytest.fixture(scope="module")
def experiment(small_store, tmp_path_factory):
    config = ExperimentConfig(
        store=small_store,
        out=tmp_path_factory.mktemp("experiment") / "exp",
        seeds=2,
        device="cpu",
        show_progress=False,
        budget_override=TINY,
    )
    results = run_experiment(config)
    return config, results, write_report(config, results)


def test_every_arm_trains_on_the_amr_arms_budget(experiment):
    _, results, _ = experiment
    for seed in (0, 1):
        mine = {r.arm.name: r for r in results if r.seed == seed}
        assert set(mine) == {
            "baseline", "aug-only", "amr", "no-curriculum", "no-negatives", "no-distill",
            "no-active-queries",
        }  # fmt: skip
        budget = mine["amr"].samples
        for arm in mine.values():  # never short of it, at most one batch past it per stage
            slack = LOADER["batch_size"] * len(arm.runs)
            assert budget <= arm.samples < budget + slack, arm.arm.name
        stage1, stage2 = (run.samples for run in mine["amr"].runs)
        for name in ("no-curriculum", "no-negatives"):
            first, second = mine[name].runs
            assert stage1 <= first.samples < stage1 + LOADER["batch_size"]
            assert stage2 <= second.samples < stage2 + LOADER["batch_size"]


def test_ablations_change_one_thing_and_share_the_cold_start(experiment):
    _, results, _ = experiment
    arm = {r.arm.name: r for r in results if r.seed == 0}
    shared = arm["amr"].runs[0].path
    assert arm["no-distill"].runs[0].path == shared == arm["no-active-queries"].runs[0].path
    assert arm["no-curriculum"].runs[0].path != shared != arm["no-negatives"].runs[0].path

    def run_config(path: Path) -> dict:
        return json.loads((path / "config.json").read_text())

    assert run_config(arm["no-negatives"].runs[0].path)["kinds"] == ["boundary", "splice"]
    assert run_config(arm["no-curriculum"].runs[1].path)["train"]["curriculum"] is False
    assert run_config(arm["no-distill"].runs[1].path)["distill"]["distill"] == 0.0
    assert run_config(arm["no-active-queries"].runs[1].path)["model"]["active_queries"] == 0
    assert run_config(arm["amr"].runs[1].path)["init"].endswith("stage1/last.pt")
    assert run_config(arm["aug-only"].runs[0].path)["stage"] == "cold-start"
    assert run_config(arm["baseline"].runs[0].path)["stage"] == "baseline"
    # seeds differ in training, not in the model or the corpus
    other = {r.arm.name: r for r in results if r.seed == 1}
    assert run_config(other["amr"].runs[0].path)["train"]["seed"] == 1
    assert run_config(other["amr"].runs[0].path)["corpus"] == run_config(shared)["corpus"]


def test_the_report_has_every_arm_and_the_plots_are_pngs(experiment):
    config, _, summaries = experiment
    text = (config.out / "results.md").read_text()
    for summary in summaries:
        assert f"| {summary.name} | {summary.title} |" in text
    assert "synthetic features" in text and "Calibration: the baseline's R1@0.7" in text
    assert "## By moment length" in text and " ± " in text  # two seeds: a spread
    for name in ("curves.png", "by_length.png", "difficulty.png"):
        body = (config.out / name).read_bytes()
        assert body[:8] == b"\x89PNG\r\n\x1a\n" and len(body) > 10_000
        assert f"]({name})" in text


def test_a_rerun_continues_and_a_changed_budget_is_refused(experiment):
    config, results, _ = experiment
    weights = config.out / "seed-0" / "amr" / "last.pt"
    before = weights.stat().st_mtime_ns
    again = run_experiment(config)  # every run finished: nothing retrains
    assert weights.stat().st_mtime_ns == before
    assert [r.metrics["brief"] for r in again] == [r.metrics["brief"] for r in results]
    bigger = Budget(**{**TINY.__dict__, "multiplier": 4})
    with pytest.raises(AmrError, match="different budget; use another --out"):
        run_experiment(ExperimentConfig(**{**config.__dict__, "budget_override": bigger}))


def test_a_run_without_its_finished_mark_is_resumed_not_retrained(experiment):
    config, results, _ = experiment
    run = config.out / "seed-1" / "no-negatives"
    (run / "finished.json").unlink()  # as if stopped after training, before the mark
    (run / "val_metrics.json").unlink()
    weights = (run / "last.pt").stat().st_mtime_ns
    again = run_experiment(config)
    assert (run / "last.pt").stat().st_mtime_ns == weights  # resumed at its end: no step taken
    old = next(r for r in results if r.seed == 1 and r.arm.name == "no-negatives")
    new = next(r for r in again if r.seed == 1 and r.arm.name == "no-negatives")
    assert new.metrics["brief"] == old.metrics["brief"] and new.samples == old.samples


def _result(name: str, seed: int, r1: float) -> ArmResult:
    arm = next(a for a in ARMS if a.name == name)
    run = RunRecord(Path("x"), samples=100, steps=10, seconds=60.0, curve=[])
    return ArmResult(arm, seed, {"brief": {"MR-full-R1@0.7": r1}}, [run])


def test_summaries_are_mean_and_sample_std_and_gains_are_paired_by_seed():
    results = [_result("baseline", 0, 20.0), _result("baseline", 1, 30.0),
               _result("amr", 0, 26.0), _result("amr", 1, 29.0)]  # fmt: skip
    by_name = {s.name: s for s in summarize(results)}
    amr = by_name["amr"]
    assert amr.figures["R1@0.7"].mean == pytest.approx(27.5)
    assert amr.figures["R1@0.7"].std == pytest.approx(2.1213, abs=1e-4)  # sample std
    assert amr.gain.values == (6.0, -1.0) and amr.wins == 1
    assert str(amr.figures["mAP"]) == "–"  # not in these metrics (e.g. Charades-STA)
    assert str(Spread((41.234,))) == "41.23"  # one seed: no spread to show
    assert lookup({"short": {"MR-R1": {"0.7": 12.5}}}, ("short", "MR-R1", "0.7")) == 12.5


def test_unknown_arms_and_no_seeds_are_clear_errors(small_store, tmp_path):
    with pytest.raises(AmrError, match="unknown arm 'nope'"):
        arms_named(["nope"])
    assert [a.name for a in arms_named(["baseline"])] == ["baseline", "amr"]
    runner = CliRunner()
    result = runner.invoke(cli, ["experiment", "--store", str(small_store), "--out",
                                 str(tmp_path / "e"), "--seeds", "0"])  # fmt: skip
    assert result.exit_code == 1 and "--seeds must be at least 1" in result.output
    result = runner.invoke(cli, ["experiment", "--store", str(tmp_path / "none"), "--out",
                                 str(tmp_path / "e")])  # fmt: skip
    assert result.exit_code == 1 and "error:" in result.output


@pytest.mark.parametrize("name", ["small", "full"])
def test_every_budget_builds_valid_model_and_training_configs(name):
    from amr.experiment.budget import budget_named
    from amr.train.config import ModelConfig, TrainConfig

    budget = budget_named(name)
    ModelConfig(video_dim=2816, text_dim=512, **budget.model)
    for settings in (budget.stage1, budget.stage2, budget.baseline):
        TrainConfig.from_json(settings)
    with pytest.raises(AmrError, match="unknown budget 'huge'"):
        budget_named("huge")
