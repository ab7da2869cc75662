"""`amr experiment`: arms on nested fractions, trained under one stopping rule, scored on test
with the best checkpoint on val, shared runs shared, reruns continue, and a report whose
intervals and verdicts follow from the per-query scores."""

import dataclasses
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from amr.cli import cli
from amr.datasets import Store
from amr.device import describe_machine
from amr.errors import AmrError
from amr.eval import evaluate, load_ground_truth, read_predictions
from amr.experiment import Budget, ExperimentConfig, bootstrap, plots, run_experiment, write_report
from amr.experiment.analysis import hypotheses
from amr.experiment.arms import DEFAULT_ARMS, arms_named
from amr.experiment.publish import UNRECORDED, trained_on
from amr.experiment.records import FINISHED, STAGE1_FINISHED, RunRecord
from amr.experiment.stats import Interval
from amr.train import stages

pytestmark = pytest.mark.slow  # trains models or runs real processes

TINY_MODEL = {"hidden": 32, "heads": 4, "ffn": 64, "num_queries": 5, "encoder_layers": 1,
              "decoder_layers": 2}  # fmt: skip
LOADER = {"batch_size": 16, "window_rows": 48, "checkpoint_every": 0}
REAL = {"epochs": 4, "patience": 1, **LOADER}
TINY = Budget(
    "tiny",
    TINY_MODEL,
    multiplier=3,  # every op, so the corpus has negatives to leave out
    stage1={"epochs": 2, "epochs_to_full": 1, **LOADER},
    stage2=REAL,
    baseline=REAL,
)


@pytest.fixture(scope="module")
def experiment(small_store, tmp_path_factory):
    config = ExperimentConfig(
        store=small_store,
        out=tmp_path_factory.mktemp("experiment") / "exp",
        fractions=(0.5, 1.0),
        seeds=1,
        headline_seeds=2,
        device="cpu",
        show_progress=False,
        budget_override=TINY,
    )
    results = run_experiment(config)
    return config, results, write_report(config, results, command="amr experiment (test)")


def _by(results, fraction, seed=0):
    return {r.arm.name: r for r in results if r.fraction == fraction and r.seed == seed}


def _run_config(path: Path) -> dict:
    return json.loads((path / "config.json").read_text())


def test_headline_arms_get_more_seeds_at_the_smallest_fraction(experiment):
    _, results, _ = experiment
    assert set(_by(results, 0.5)) == set(_by(results, 1.0)) == set(DEFAULT_ARMS)
    assert set(_by(results, 0.5, seed=1)) == {"baseline", "amr", "aug+real", "real-repeat"}
    assert not _by(results, 1.0, seed=1)


def test_a_fraction_trains_on_its_nested_subset_and_corpus(experiment, small_store):
    config, results, _ = experiment
    half = config.out / "fraction-0.5"
    train = Store.open(half / "store").samples("train")
    full = Store.open(small_store).samples("train")
    assert set(train["qid"].to_pylist()) < set(full["qid"].to_pylist())
    assert 0.5 * full.num_rows <= train.num_rows < full.num_rows
    manifest = json.loads((half / "corpus" / "manifest.json").read_text())
    assert manifest["kinds"]["original"] == train.num_rows  # augmented from the subset only
    amr = _by(results, 0.5)["amr"]
    assert _run_config(amr.runs[0].path)["store"] == str((half / "store").resolve())
    assert (
        Store.open(half / "store").samples("test").equals(Store.open(small_store).samples("test"))
    )


def test_arms_change_one_thing_and_share_runs(experiment):
    _, results, _ = experiment
    arm = _by(results, 1.0)
    shared = arm["amr"].runs[0].path
    assert arm["aug-only"].runs == [arm["amr"].runs[0]]
    for name in ("no-distill", "no-active-queries", "no-disc", "shuffled-stage2"):
        assert arm[name].runs[0].path == shared
    assert arm["no-curriculum"].runs[0].path != shared != arm["no-negatives"].runs[0].path
    assert _run_config(arm["no-negatives"].runs[0].path)["kinds"] == ["boundary", "splice"]
    assert _run_config(arm["no-curriculum"].runs[1].path)["train"]["curriculum"] is False
    assert _run_config(arm["shuffled-stage2"].runs[1].path)["train"]["curriculum"] is False
    assert _run_config(arm["amr"].runs[1].path)["train"]["curriculum"] is True
    assert _run_config(arm["no-disc"].runs[1].path)["distill"]["discrimination"] == 0.0
    assert _run_config(arm["no-active-queries"].runs[1].path)["model"]["active_queries"] == 0
    assert _run_config(arm["amr"].runs[1].path)["init"].endswith("stage1/last.pt")
    mixed = _run_config(arm["aug+real"].runs[0].path)
    assert mixed["stage"] == "cold-start" and mixed["train"]["include_original"] is True
    # real-repeat: stage 1 re-reads the real rows for AMR's stage-1 samples, then stage 2
    repeat_stage1, repeat_stage2 = arm["real-repeat"].runs
    assert _run_config(repeat_stage1.path)["stage"] == "baseline"
    amr_samples = arm["amr"].runs[0].samples
    assert amr_samples <= repeat_stage1.samples < amr_samples + LOADER["batch_size"]
    assert _run_config(repeat_stage2.path)["init"].endswith("stage1-real-repeat/last.pt")
    other = _by(results, 0.5, seed=1)["amr"]
    assert _run_config(other.runs[0].path)["train"]["seed"] == 1


def test_real_data_runs_stop_on_their_plateau_and_the_best_checkpoint_is_scored(
    experiment, small_store
):
    _, results, _ = experiment
    for result in results:
        for run in result.runs:
            train = _run_config(run.path)["train"]
            if train.get("patience"):
                values = [e["val"]["MR-full-mAP"] for e in run.curve]
                best = int(np.argmax(values))
                plateau = len(values) - 1 - best >= train["patience"]
                assert run.stopped == ("plateau" if len(values) < train["epochs"] else "max epochs")
                assert plateau or len(values) == train["epochs"]
    baseline = _by(results, 1.0)["baseline"]
    scores = json.loads((baseline.scored / "scores.json").read_text())
    assert scores["checkpoint"] == "best.pt"
    truth = load_ground_truth(store=small_store, split="test")
    again = evaluate(read_predictions(baseline.scored / "test_preds.jsonl"), truth)
    assert again["brief"] == baseline.metrics["test"]["brief"]
    truth = load_ground_truth(store=small_store, split="test", true_extents=True)
    again = evaluate(read_predictions(baseline.scored / "test_preds.jsonl"), truth)
    assert again["brief"] == baseline.metrics["test_truth"]["brief"]


def test_results_json_has_a_record_per_arm_fraction_and_seed(experiment):
    config, results, _ = experiment
    records = json.loads((config.out / "results.json").read_text())
    assert len(records) == len(results)
    keys = {(r["arm"], r["fraction"], r["seed"]) for r in records}
    assert keys == {(r.arm.name, r.fraction, r.seed) for r in results}
    for record in records:
        for split in ("test", "val"):
            assert {"MR-full-R1@0.7", "MR-full-mAP", "MR-full-R1@0.5"} <= set(record[split])
        assert record["samples"] > 0 and record["minutes"] >= 0 and record["epochs"]
        assert "MR-full-R1@0.7" in record["test_truth"]
        # the machine that trained it: results repeat to the digit only on the same kind
        assert record["machines"] == [describe_machine(torch.device("cpu"))]
        assert f"torch {torch.__version__}" in record["machines"][0]


def test_the_report_has_intervals_hypotheses_and_plots(experiment):
    config, results, figures = experiment
    text = (config.out / "results.md").read_text()
    assert "amr experiment (test)" in text and "synthetic world `demo`" in text
    for f in figures:
        assert f"| {f.fraction:g} | {f.name}" in text
    for name in ("H1", "H2", "H3"):
        assert f"**{name}**" in text
    assert "H1** (AMR beats the baseline" in text and "**not run**" in text  # no 0.1 / 0.25
    assert "## Ablations" in text and "## Training (equal-compute view)" in text
    machine = describe_machine(torch.device("cpu"))
    assert f"**Trained on** {machine}: {len(results)} arm results." in text
    for name in ("fractions.png", "curves.png", "difficulty.png"):
        body = (config.out / name).read_bytes()
        assert body[:8] == b"\x89PNG\r\n\x1a\n" and len(body) > 10_000
        assert f"]({name})" in text


def test_the_fraction_plot_of_an_arms_subset_says_what_is_missing(experiment, tmp_path):
    """`--arms no-disc` is a normal call: its report must not warn about an empty legend."""
    _, _, figures = experiment
    ablations = [f for f in figures if f.name not in plots.FRACTION_ARMS]
    assert ablations
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plots.by_fraction(ablations, tmp_path / "fractions.png")
    assert (tmp_path / "fractions.png").read_bytes()[:4] == b"\x89PNG"


def test_evidence_from_before_machines_were_recorded_is_counted_as_unrecorded(experiment, tmp_path):
    _, results, _ = experiment
    body = json.loads((results[0].runs[0].path / FINISHED).read_text())
    del body["machines"]  # a finished.json that names no machine
    (tmp_path / FINISHED).write_text(json.dumps(body))
    old = RunRecord.read(tmp_path)
    assert old.machines == ()
    mixed = [results[0], dataclasses.replace(results[1], runs=[old])]
    assert trained_on(mixed) == [(describe_machine(torch.device("cpu")), 1), (UNRECORDED, 1)]


def test_a_rerun_continues_and_a_changed_budget_is_refused(experiment):
    config, results, _ = experiment
    weights = config.out / "fraction-1" / "seed-0" / "amr" / "last.pt"
    before = weights.stat().st_mtime_ns
    again = run_experiment(config)  # every run finished: nothing retrains
    assert weights.stat().st_mtime_ns == before
    assert [r.metrics["test"]["brief"] for r in again] == [
        r.metrics["test"]["brief"] for r in results
    ]
    bigger = Budget(**{**TINY.__dict__, "multiplier": 4})
    with pytest.raises(AmrError, match="different budget; use another --out"):
        run_experiment(ExperimentConfig(**{**config.__dict__, "budget_override": bigger}))


def test_a_run_without_its_finished_mark_is_resumed_not_retrained(experiment):
    config, results, _ = experiment
    run = config.out / "fraction-1" / "seed-0" / "no-negatives"
    (run / "finished.json").unlink()  # as if stopped after training, before the mark
    (run / "scores.json").unlink()
    weights = (run / "last.pt").stat().st_mtime_ns
    again = run_experiment(config)
    assert (run / "last.pt").stat().st_mtime_ns == weights  # resumed at its end: no step taken
    key = lambda r: (r.arm.name, r.fraction, r.seed)  # noqa: E731
    old = {key(r): r for r in results}[("no-negatives", 1.0, 0)]
    new = {key(r): r for r in again}[("no-negatives", 1.0, 0)]
    assert new.metrics["test"]["brief"] == old.metrics["test"]["brief"]
    assert new.samples == old.samples


def test_report_only_reads_finished_runs_and_trains_nothing(experiment, tmp_path):
    config, results, _ = experiment
    unfinished = [
        config.out / "fraction-1" / "seed-0" / "no-disc",
        config.out / "fraction-0.5" / "seed-1" / "baseline",
    ]
    marks = {run: (run / "finished.json").read_bytes() for run in unfinished}
    for run in unfinished:
        (run / "finished.json").unlink()  # as if still training
    try:
        partial = run_experiment(ExperimentConfig(**{**config.__dict__, "report_only": True}))
        assert not any((run / "finished.json").exists() for run in unfinished)
    finally:
        for run, mark in marks.items():
            (run / "finished.json").write_bytes(mark)
    key = lambda r: (r.arm.name, r.fraction, r.seed)  # noqa: E731
    assert {key(r) for r in partial} == {key(r) for r in results} - {
        ("no-disc", 1.0, 0),
        ("baseline", 0.5, 1),
    }
    write_report(config, partial, command="amr experiment --report-only (test)")
    text = (config.out / "results.md").read_text()
    assert "**Partial results**" in text
    assert "not yet run: baseline at fraction 0.5 (seed 1); no-disc at fraction 1 (seed 0)." in text
    # A verdict is provisional only while a run it rests on is missing: H2 needs amr and the
    # baseline at the smallest fraction, H3 amr and no-negatives there.
    verdicts = {line[4:6]: line for line in text.splitlines() if line.startswith("- **H")}
    assert "(provisional)" in verdicts["H2"] and "(provisional)" not in verdicts["H3"]
    write_report(config, results, command="amr experiment (test)")  # as the fixture left it
    assert "Partial" not in (config.out / "results.md").read_text()
    with pytest.raises(AmrError, match="not an experiment directory"):
        run_experiment(ExperimentConfig(**{**config.__dict__, "report_only": True,
                                           "out": tmp_path / "none"}))  # fmt: skip


def test_listing_only_a_larger_fraction_warns_that_the_headline_seeds_move(experiment, capsys):
    config, _, _ = experiment
    base = {**config.__dict__, "report_only": True}
    run_experiment(ExperimentConfig(**base))
    assert "--headline-seeds" not in capsys.readouterr().err
    run_experiment(ExperimentConfig(**{**base, "fractions": (1.0,)}))
    err = " ".join(capsys.readouterr().err.split())
    assert "--headline-seeds 2 goes to fraction 1, the smallest listed" in err
    assert "also holds fraction 0.5" in err


def test_lost_runs_come_back_from_their_evidence_and_only_a_needed_stage1_retrains(
    experiment, tmp_path, capsys
):
    config, results, _ = experiment
    evidence = tmp_path / "evidence"
    shutil.copytree(config.out / "evidence", evidence)
    kept = sorted(p.relative_to(evidence).as_posix() for p in evidence.rglob("*") if p.is_file())
    assert "fraction-1/seed-0/amr/test_per_query.npz" in kept
    assert "fraction-1/seed-0/stage1/finished.json" in kept
    assert "fraction-1/seed-0/amr/stage1_finished.json" in kept  # the stage 1 it started from
    assert not [name for name in kept if name.endswith((".pt", "_preds.jsonl"))]
    shutil.rmtree(evidence / "fraction-1" / "seed-0" / "no-disc")  # as if it never finished
    stage1 = evidence / "fraction-1" / "seed-0" / "stage1" / "finished.json"
    record = json.loads(stage1.read_text())  # as if trained elsewhere, with another count
    stage1.write_text(json.dumps({**record, "samples": record["samples"] + 1,
                                  "machines": ["another machine"]}))  # fmt: skip
    (evidence / "fraction-1" / "seed-0" / "amr" / STAGE1_FINISHED).unlink()  # published before
    # stage 2s kept their stage 1's record: it is the stage-1 record restored beside it

    lost = ExperimentConfig(**{**config.__dict__, "out": tmp_path / "exp",
                               "restore_from": evidence})  # fmt: skip
    again = run_experiment(lost)
    seed0 = lost.out / "fraction-1" / "seed-0"
    trained = sorted(p.parent.relative_to(lost.out).as_posix() for p in lost.out.rglob("last.pt"))
    assert trained == ["fraction-1/seed-0/no-disc", "fraction-1/seed-0/stage1"]
    assert not (seed0 / "amr" / "test_preds.jsonl").exists()  # scored from its evidence
    new = json.loads((seed0 / "stage1" / "finished.json").read_text())
    assert {**new, "seconds": 0} == {**record, "seconds": 0}  # retrained to the same run
    warned = " ".join(capsys.readouterr().err.split())
    assert "retrained run differs from its evidence" in warned
    assert f"machines another machine → {describe_machine(torch.device('cpu'))}" in warned
    # Each arm reports the stage 1 it started from: AMR the restored run (kept before the
    # retraining), shuffled-stage2 its own kept copy, no-disc and aug-only the retrained run.
    stage1_of = {r.arm.name: r.runs[0] for r in again if r.fraction == 1.0}
    here = (describe_machine(torch.device("cpu")),)
    assert (stage1_of["amr"].samples, stage1_of["amr"].machines) == (
        record["samples"] + 1, ("another machine",)
    )  # fmt: skip
    for arm in ("shuffled-stage2", "no-disc", "aug-only"):
        assert (stage1_of[arm].samples, stage1_of[arm].machines) == (record["samples"], here)
    key = lambda r: (r.arm.name, r.fraction, r.seed)  # noqa: E731
    assert {key(r): r.metrics["test"]["brief"] for r in again} == {
        key(r): r.metrics["test"]["brief"] for r in results
    }
    write_report(lost, again, command="amr experiment (test)")
    # the arms restored from evidence report the (altered) stage-1 record they were built on
    without_minutes = lambda path: [  # noqa: E731
        {k: v for k, v in record.items() if k not in ("minutes", "samples", "machines")}
        for record in json.loads((path / "results.json").read_text())
    ]
    assert without_minutes(lost.out) == without_minutes(config.out)
    verdicts = lambda path: [  # noqa: E731
        line for line in (path / "results.md").read_text().splitlines() if "**H" in line
    ]
    assert verdicts(lost.out) == verdicts(config.out)

    # The report alone, from the evidence alone: nothing trains, no-disc is reported missing.
    report = ExperimentConfig(**{**lost.__dict__, "out": tmp_path / "report",
                                 "report_only": True})  # fmt: skip
    partial = run_experiment(report)
    assert not list(report.out.rglob("*.pt"))
    assert {key(r) for r in partial} == {key(r) for r in results} - {("no-disc", 1.0, 0)}
    write_report(report, partial, command="amr experiment (test)")
    assert "not yet run: no-disc at fraction 1 (seed 0)." in (report.out / "results.md").read_text()

    other = Budget(**{**TINY.__dict__, "multiplier": 4})
    with pytest.raises(AmrError, match="evidence of an experiment with a different budget"):
        run_experiment(ExperimentConfig(**{**lost.__dict__, "out": tmp_path / "other",
                                           "budget_override": other}))  # fmt: skip


def test_restoring_without_the_store_says_how_to_get_it(experiment, tmp_path):
    config, _, _ = experiment
    changes = {"out": tmp_path / "exp", "report_only": True, "store": tmp_path / "gone",
               "restore_from": config.out / "evidence"}  # fmt: skip
    lost = ExperimentConfig(**{**config.__dict__, **changes})
    hint = r"gone: not a store .*; evidence is read back onto the experiment.s own store .*make"
    with pytest.raises(AmrError, match=hint):
        run_experiment(lost)


def test_a_stage1_retraining_for_its_weights_keeps_its_record_until_it_finishes(
    experiment, tmp_path, monkeypatch
):
    config, results, _ = experiment
    evidence = tmp_path / "evidence"
    shutil.copytree(config.out / "evidence", evidence)
    shutil.rmtree(evidence / "fraction-1" / "seed-0" / "no-disc")  # needs stage 1's weights
    lost = ExperimentConfig(**{**config.__dict__, "out": tmp_path / "exp",
                               "restore_from": evidence})  # fmt: skip
    real_start = stages.start

    def cut_after_training(spec, *args, **kwargs):  # the session ends before it is recorded
        real_start(spec, *args, **kwargs)
        if spec.stage == "cold-start":
            raise KeyboardInterrupt

    monkeypatch.setattr(stages, "start", cut_after_training)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(lost)
    seed0 = lost.out / "fraction-1" / "seed-0"
    evidence_record = (evidence / "fraction-1" / "seed-0" / "stage1" / "finished.json").read_text()
    assert (seed0 / "stage1" / "finished.json").read_text() == evidence_record
    assert (seed0 / ".stage1.retraining" / "last.pt").is_file()

    # Meanwhile the report has every finished arm, those built on that stage 1 included.
    key = lambda r: (r.arm.name, r.fraction, r.seed)  # noqa: E731
    brief = lambda rs: {key(r): r.metrics["test"]["brief"] for r in rs}  # noqa: E731
    partial = run_experiment(ExperimentConfig(**{**lost.__dict__, "report_only": True}))
    expected = brief(results)
    del expected[("no-disc", 1.0, 0)]
    assert brief(partial) == expected

    monkeypatch.undo()
    again = run_experiment(lost)  # resumes the retraining, then puts it in place
    assert brief(again) == brief(results)
    assert (seed0 / "stage1" / "last.pt").is_file()
    assert not [p.name for p in seed0.iterdir() if p.name.startswith(".")]

    # A replacement cut between its two renames (the evidence retired, the retrained run not
    # yet moved in) is completed by the next run, and the retired evidence removed.
    shutil.copytree(seed0 / "stage1", seed0 / ".stage1.retraining")
    (seed0 / ".stage1.old-cut").mkdir()
    (seed0 / "stage1").rename(seed0 / ".stage1.old-cut" / "stage1")
    assert brief(run_experiment(ExperimentConfig(**{**lost.__dict__, "report_only": True}))) == (
        brief(results)
    )
    assert (seed0 / "stage1" / "last.pt").is_file()
    assert not [p.name for p in seed0.iterdir() if p.name.startswith(".")]


def test_bootstrap_intervals_are_paired_and_reproducible():
    rng = np.random.default_rng(0)
    scores = rng.choice([0.0, 100.0], size=(3, 200))
    level = bootstrap([(1.0, scores)])
    assert level.low < level.value < level.high
    assert level.value == pytest.approx(scores.mean())
    assert bootstrap([(1.0, scores)]) == level  # a fixed bootstrap seed
    shifted = np.minimum(scores + 5.0, 200.0)
    same = bootstrap([(1.0, shifted - scores)])  # paired: the shift, whatever is resampled
    assert same.low == same.value == same.high == pytest.approx(5.0)
    assert same.excludes_zero and not bootstrap([(1.0, scores - scores.mean())]).excludes_zero
    one_seed = bootstrap([(1.0, scores[:1])])  # only the queries vary
    assert one_seed.low < one_seed.value < one_seed.high
    with pytest.raises(ValueError, match="same number"):
        bootstrap([(1.0, scores), (1.0, scores[:2])])


class _FakeAnalysis:
    """Gains as given, to check the verdict rules."""

    def __init__(self, gains, twin=None, truth=None):
        self.fractions = sorted(gains)
        self.gains, self.twin, self.truth = gains, twin, truth
        self.twin_mask = np.array([True, False])

    def gain(self, arm, other, fraction, metric="R1@0.7", mask=None, true_extents=False):
        return self.gains.get(fraction) if mask is None else self.twin

    def difference_of_gains(self, arm, other, fraction, split):
        return self.twin if split == "twin" else self.truth


def test_hypothesis_verdicts_follow_the_preregistered_rules():
    up = Interval(3.0, 1.0, 5.0)
    flat = Interval(0.5, -1.5, 2.5)
    down = Interval(-3.0, -5.0, -1.5)
    verdicts = {v.name: v.verdict for v in hypotheses(
        _FakeAnalysis({0.1: up, 0.25: Interval(2.0, 0.5, 3.5), 1.0: flat}, up, up), False
    )}  # fmt: skip
    assert verdicts == {"H1": "holds", "H2": "holds", "H3": "holds"}
    verdicts = {v.name: v.verdict for v in hypotheses(
        _FakeAnalysis({0.1: up, 0.25: down, 1.0: flat}, flat, down), False
    )}  # fmt: skip
    assert verdicts == {"H1": "does not hold", "H2": "does not hold", "H3": "inconclusive"}
    not_shrinking = _FakeAnalysis({0.1: up, 0.25: Interval(4.0, 2.0, 6.0), 1.0: flat}, up, up)
    assert hypotheses(not_shrinking, False)[0].verdict == "does not hold"
    assert hypotheses(_FakeAnalysis({0.1: up}), False)[0].verdict == "not run"
    control = [hypotheses(_FakeAnalysis({0.1: g}), True)[0].verdict for g in
               (Interval(0.1, -0.8, 0.9), flat, down)]  # fmt: skip
    assert control == ["holds", "inconclusive", "does not hold"]


def test_bad_experiment_options_are_clear_errors(small_store, tmp_path):
    with pytest.raises(AmrError, match="unknown arm 'nope'"):
        arms_named(["nope"])
    runner = CliRunner()
    base = ["experiment", "--store", str(small_store), "--out", str(tmp_path / "e")]
    result = runner.invoke(cli, [*base, "--seeds", "0"])
    assert result.exit_code == 1 and "--seeds must be at least 1" in result.output
    result = runner.invoke(cli, [*base, "--fractions", "0,1"])
    assert result.exit_code == 1 and "--fractions must be in (0, 1]" in result.output
    result = runner.invoke(cli, [*base, "--fractions", "half"])
    assert result.exit_code == 2 and "not a comma-separated list" in result.output
    result = runner.invoke(cli, ["experiment", "--store", str(tmp_path / "none"), "--out",
                                 str(tmp_path / "e")])  # fmt: skip
    assert result.exit_code == 1 and "error:" in result.output


@pytest.mark.parametrize("name", ["cpu", "full"])
def test_every_budget_builds_valid_model_and_training_configs(name):
    from amr.experiment.budget import budget_named
    from amr.train.config import ModelConfig, TrainConfig

    budget = budget_named(name)
    ModelConfig(video_dim=2816, text_dim=512, **budget.model)
    for settings in (budget.stage1, budget.stage2, budget.baseline):
        TrainConfig.from_json(settings)
    assert budget.stage2["patience"] and budget.baseline["patience"]
    assert not budget.stage1.get("patience")  # stage 1 runs its schedule
    with pytest.raises(AmrError, match="unknown budget 'huge'"):
        budget_named("huge")
