"""Stage 1 training: a tiny set is overfitted, a resumed run equals an uninterrupted one,
checkpoints are safe to load, and predictions from a run go through `amr eval`."""

import json
import os
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner

from amr.augment import AugmentConfig, augment
from amr.cli import cli
from amr.errors import AmrError
from amr.train import Criterion, LossConfig, ModelConfig, MomentDETR
from amr.train import engine as engine_module
from amr.train.checkpoint import load_checkpoint
from amr.train.config import TrainConfig
from amr.train.rundir import read_metrics
from amr.train.spans import cw_to_se
from amr.train.stages import cold_start
from tests.conftest import loss_batch

pytestmark = pytest.mark.slow  # trains models or runs real processes

TINY = {"hidden": 32, "heads": 4, "ffn": 64, "num_queries": 5, "encoder_layers": 1,
        "decoder_layers": 2}  # fmt: skip
REAL_TRAIN_STEP = engine_module.train_step
FAST = TrainConfig(epochs=2, batch_size=16, window_rows=48, epochs_to_full=2, workers=2,
                   checkpoint_every=0)  # fmt: skip


@pytest.fixture(scope="module")
def train_corpus(small_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("cold") / "corpus"
    config = AugmentConfig(multiplier=1, seed=2, part_rows=64, row_group_rows=16)
    augment(small_store, "train", out, config, show_progress=False)
    return out


def test_a_tiny_set_is_overfitted():
    """64 videos whose moment carries the query's signal: R1@0.7 must pass 90 % quickly."""
    torch.manual_seed(0)
    n, length, dim = 64, 40, 32
    config = ModelConfig(video_dim=dim, text_dim=16, hidden=64, heads=4, ffn=128,
                         num_queries=5, dropout=0.0, input_dropout=0.0)  # fmt: skip
    video, text = torch.randn(n, length, dim) * 0.3, torch.randn(n, 6, 16)
    starts, lengths = torch.randint(0, length - 10, (n,)), torch.randint(3, 10, (n,))
    levels = torch.zeros(n, length, dtype=torch.long)
    for i in range(n):
        s, k = int(starts[i]), int(lengths[i])
        video[i, s : s + k, :8] += text[i, 0, :8]
        levels[i, s : s + k] = 2
    targets = torch.stack([(starts + lengths / 2) / length, lengths / length], dim=1)
    batch = loss_batch(
        torch.ones(n, length, dtype=torch.bool), torch.ones(n, 6, dtype=torch.bool),
        list(targets[:, None]), starts[:, None], ((starts + lengths + 2) % length)[:, None],
        levels,
    )  # fmt: skip
    model, criterion = MomentDETR(config), Criterion(LossConfig())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    text_mask = batch.text_mask
    for _ in range(200):
        loss, _ = criterion(model(video, batch.video_mask, text, text_mask), batch)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
    model.eval()
    with torch.no_grad():
        out = model(video, batch.video_mask, text, text_mask)
    scores, spans = out.ranked_candidates()  # as amr predict ranks them
    top = cw_to_se(spans[torch.arange(n), scores.argmax(dim=1)])
    truth = cw_to_se(targets)
    inter = (torch.minimum(top[:, 1], truth[:, 1]) - torch.maximum(top[:, 0], truth[:, 0])).clamp(
        min=0
    )
    iou = inter / ((top[:, 1] - top[:, 0]) + (truth[:, 1] - truth[:, 0]) - inter)
    assert (iou >= 0.7).float().mean() >= 0.9


def _sigint_at(step: int):
    """engine.train_step that sends this process SIGINT (Ctrl-C) on its `step`-th call."""
    import os
    import signal

    real_step, calls = REAL_TRAIN_STEP, {"n": 0}  # the engine's, whatever is patched in now

    def interrupted_step(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == step:
            os.kill(os.getpid(), signal.SIGINT)
        return real_step(*args, **kwargs)

    return interrupted_step


def _same_weights(run_a, run_b) -> bool:
    a, b = (load_checkpoint(run / "last.pt")["model"] for run in (run_a, run_b))
    return all(torch.equal(a[k], b[k]) for k in a)


def test_a_resumed_run_equals_an_uninterrupted_one(
    train_corpus, small_store, tmp_path, monkeypatch
):
    whole = cold_start(train_corpus, small_store, tmp_path / "whole", FAST, TINY,
                       show_progress=False)  # fmt: skip
    config = TrainConfig(**{**FAST.to_json(), "checkpoint_every": 3})
    real_step, calls = engine_module.train_step, {"n": 0}

    def crashing_step(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 8:  # mid-epoch, after a checkpoint at step 6
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(engine_module, "train_step", crashing_step)
    with pytest.raises(KeyboardInterrupt):
        cold_start(train_corpus, small_store, tmp_path / "cut", config, TINY, show_progress=False)
    monkeypatch.setattr(engine_module, "train_step", real_step)
    assert load_checkpoint(tmp_path / "cut" / "last.pt")["step"] == 6
    resumed = cold_start(train_corpus, small_store, tmp_path / "cut", config, TINY, resume=True,
                         show_progress=False)  # fmt: skip
    assert resumed.steps == whole.steps
    assert _same_weights(tmp_path / "whole", tmp_path / "cut")
    lines = [json.loads(x) for x in (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()]
    cut = [json.loads(x) for x in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert [x["val"] for x in lines] == [x["val"] for x in cut]
    # the epoch it resumed in counts the batches trained before the crash too
    assert [(x["steps"], x["samples"]) for x in lines] == [(x["steps"], x["samples"]) for x in cut]
    assert set(json.loads((tmp_path / "whole" / "config.json").read_text())) >= {
        "model", "train", "loss", "corpus", "store_fingerprint",
    }  # fmt: skip


def test_resuming_on_another_kind_of_machine_warns(train_corpus, small_store, tmp_path, capsys):
    run = tmp_path / "run"
    cold_start(train_corpus, small_store, run, FAST, TINY, show_progress=False)
    cold_start(train_corpus, small_store, run, FAST, TINY, resume=True, show_progress=False)
    assert "warning" not in capsys.readouterr().err  # the same machine: nothing to say
    metrics = run / "metrics.jsonl"
    lines = [json.loads(line) for line in metrics.read_text().splitlines()]
    this_machine = lines[-1]["machine"]
    lines[-1]["machine"] = "Other CPU, AVX2, 2 threads"
    metrics.write_text("".join(json.dumps(line) + "\n" for line in lines))
    cold_start(train_corpus, small_store, run, FAST, TINY, resume=True, show_progress=False)
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert f"resuming on {this_machine}" in err
    assert "last epoch trained on Other CPU, AVX2, 2 threads" in err


@pytest.fixture
def terminal_sigint():
    """SIGINT as a terminal delivers it, even when pytest itself was started with SIGINT ignored
    (`nohup make test &` from a script), so the test sees what a user at a terminal sees."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_saves_the_batch_and_resume_continues_from_it(
    train_corpus, small_store, tmp_path, monkeypatch, terminal_sigint
):
    import os
    import signal

    from amr.errors import Interrupted

    whole = cold_start(train_corpus, small_store, tmp_path / "whole", FAST, TINY,
                       show_progress=False)  # fmt: skip
    real_step = engine_module.train_step
    # at step 2, before any checkpoint: the run had nothing to resume from
    monkeypatch.setattr(engine_module, "train_step", _sigint_at(2))
    with pytest.raises(Interrupted, match=r"SIGINT: saved .*last.pt after batch 2 of epoch 1"):
        cold_start(train_corpus, small_store, tmp_path / "cut", FAST, TINY, show_progress=False)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored
    assert load_checkpoint(tmp_path / "cut" / "last.pt")["step"] == 2
    monkeypatch.setattr(engine_module, "train_step", real_step)
    resumed = cold_start(train_corpus, small_store, tmp_path / "cut", FAST, TINY, resume=True,
                         show_progress=False)  # fmt: skip
    assert resumed.steps == whole.steps
    assert _same_weights(tmp_path / "whole", tmp_path / "cut")

    def twice(*args, **kwargs):  # a second Ctrl-C does not wait for the batch
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        return real_step(*args, **kwargs)

    monkeypatch.setattr(engine_module, "train_step", twice)
    with pytest.raises(KeyboardInterrupt):
        cold_start(train_corpus, small_store, tmp_path / "cut2", FAST, TINY, show_progress=False)

    # from the command line: one line and exit status 130
    monkeypatch.setattr(engine_module, "train_step", _sigint_at(2))
    result = CliRunner().invoke(cli, ["train", "baseline", "--store", str(small_store), "--out",
                                      str(tmp_path / "cli"), "--quiet"])  # fmt: skip
    assert result.exit_code == 130 and result.output.startswith("error: SIGINT: saved")


def test_a_signal_ignored_at_launch_stays_ignored_during_training():
    """`amr experiment ... &` from a script starts with SIGINT ignored; training must not
    re-arm it, or a Ctrl-C meant for the launching shell would stop the run."""
    import signal

    from amr.train.interrupt import StopRequest

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with StopRequest() as stop:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) == stop._handle  # still caught
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_resume_needs_only_the_run_directory(
    train_corpus, small_store, tmp_path, monkeypatch, terminal_sigint
):

    config = tmp_path / "tiny.json"
    fast = {k: v for k, v in FAST.to_json().items() if k != "max_samples"}
    config.write_text(json.dumps({"model": TINY, "train": fast}))
    runner = CliRunner()
    start = ["train", "cold-start", "--corpus", str(train_corpus), "--store", str(small_store),
             "--config", str(config), "--lr", "5e-4", "--kinds", "splice,boundary",
             "--quiet"]  # fmt: skip
    assert runner.invoke(cli, [*start, "--out", str(tmp_path / "whole")]).exit_code == 0
    real_step = engine_module.train_step
    monkeypatch.setattr(engine_module, "train_step", _sigint_at(2))
    assert runner.invoke(cli, [*start, "--out", str(tmp_path / "cut")]).exit_code == 130
    monkeypatch.setattr(engine_module, "train_step", real_step)
    resume = ["train", "cold-start", "--out", str(tmp_path / "cut"), "--resume", "--quiet"]
    result = runner.invoke(cli, [*resume, "--lr", "1e-3"])
    assert result.exit_code == 1
    assert "different train.lr: the run has 0.0005, this command 0.001" in result.output
    result = runner.invoke(cli, ["train", "baseline", "--out", str(tmp_path / "cut"), "--resume"])
    assert result.exit_code == 1 and "different stage: the run has 'cold-start'" in result.output
    # options given again are checked, not layered: the same ones are welcome
    same = [*resume, "--kinds", "boundary,splice", "--store", str(small_store)]
    result = runner.invoke(cli, same)  # the store, corpus, kinds and settings: the run's
    assert result.exit_code == 0, result.output
    assert _same_weights(tmp_path / "whole", tmp_path / "cut")

    # the library call: the directory is enough
    from amr.train import resume as resume_run

    monkeypatch.setattr(engine_module, "train_step", _sigint_at(2))
    assert runner.invoke(cli, [*start, "--out", str(tmp_path / "lib")]).exit_code == 130
    monkeypatch.setattr(engine_module, "train_step", real_step)
    summary = resume_run(tmp_path / "lib", show_progress=False)
    assert summary.out == tmp_path / "lib" and _same_weights(tmp_path / "whole", tmp_path / "lib")
    result = runner.invoke(cli, ["train", "cold-start", "--out", str(tmp_path / "new")])
    assert result.exit_code == 2 and "Missing option '--corpus'" in result.output


def test_a_corrupt_part_or_nan_features_stop_training_with_one_line(
    train_corpus, small_store, tmp_path
):
    import shutil

    import numpy as np
    import pyarrow.parquet as pq

    from amr.corpus.schema import features_from_arrow, features_to_arrow
    from amr.fileio import checksum_file

    one = TrainConfig(**{**FAST.to_json(), "epochs": 1, "val_split": None})
    bad = tmp_path / "bad"
    shutil.copytree(train_corpus, bad)
    part = bad / "part-00000.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    part.write_bytes(bytes(data))
    with pytest.raises(AmrError, match=r"part-00000\.parquet: checksum does not match"):
        cold_start(bad, small_store, tmp_path / "r1", one, TINY, show_progress=False)

    shutil.copytree(train_corpus, bad, dirs_exist_ok=True)  # intact again
    manifest = json.loads((bad / "manifest.json").read_text())
    last = bad / manifest["parts"][-1]["file"]  # the hardest rows: augmented, so trained on
    source = pq.ParquetFile(last)
    table = source.read()
    flat, offsets = features_from_arrow(table.column("features"), manifest["source"]["video_dim"])
    flat = flat.copy()
    flat[offsets[3] + 1, 0] = np.nan  # row 3's second clip
    column = table.schema.get_field_index("features")
    table = table.set_column(column, table.schema.field(column), features_to_arrow(flat, offsets))
    pq.write_table(table, last, row_group_size=source.metadata.row_group(0).num_rows)
    manifest["parts"][-1]["bytes"] = last.stat().st_size
    manifest["parts"][-1]["checksum"] = checksum_file(last)  # a consistent, but bad, corpus
    (bad / "manifest.json").write_text(json.dumps(manifest))
    sample = table.column("sample_id")[3].as_py()
    with pytest.raises(AmrError, match=rf"{last.name}: sample {sample} has NaN or infinite"):
        cold_start(bad, small_store, tmp_path / "r2", one, TINY, show_progress=False)


def test_bad_training_runs_are_clear_errors(train_corpus, small_store, tmp_path):
    run = tmp_path / "run"
    with pytest.raises(AmrError, match="nothing to resume"):
        cold_start(train_corpus, small_store, run, FAST, TINY, resume=True, show_progress=False)
    one = TrainConfig(**{**FAST.to_json(), "epochs": 1, "val_split": None})
    cold_start(train_corpus, small_store, run, one, TINY, show_progress=False)
    with pytest.raises(AmrError, match="exists and is not empty; pass --resume"):
        cold_start(train_corpus, small_store, run, one, TINY, show_progress=False)
    other = TrainConfig(**{**one.to_json(), "lr": 5e-4})
    with pytest.raises(AmrError, match=r"--resume with a different train\.lr: the run has 0\.0001"):
        cold_start(train_corpus, small_store, run, other, TINY, resume=True, show_progress=False)
    with pytest.raises(AmrError, match="not a multiple of heads"):
        cold_start(train_corpus, small_store, tmp_path / "x", one, {"hidden": 30},
                   show_progress=False)  # fmt: skip


def _files(run) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}


def test_overwrite_keeps_the_earlier_run_until_the_new_one_finishes(
    train_corpus, small_store, tmp_path, monkeypatch, terminal_sigint
):
    import errno

    from amr.errors import Interrupted

    run = tmp_path / "run"
    one = TrainConfig(**{**FAST.to_json(), "epochs": 1, "val_split": None})
    cold_start(train_corpus, small_store, run, one, TINY, show_progress=False)
    before = _files(run)
    replace = TrainConfig(**{**one.to_json(), "seed": 5})

    def attempt(config):
        cold_start(train_corpus, small_store, run, config, TINY, overwrite=True,
                   show_progress=False)  # fmt: skip

    with pytest.raises(AmrError, match="no split 'nosuch'"):  # a typo in an option
        attempt(TrainConfig(**{**one.to_json(), "val_split": "nosuch"}))
    assert _files(run) == before

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:  # a full disk when the first checkpoint is written
        patch.setattr(engine_module, "save_checkpoint", disk_full)
        with pytest.raises(OSError, match="No space left"):
            attempt(replace)
    assert _files(run) == before

    with monkeypatch.context() as patch:  # a kill part-way
        patch.setattr(engine_module, "train_step", _sigint_at(2))
        with pytest.raises(Interrupted):
            attempt(replace)
    assert _files(run) == before
    # --resume finishes the replacement, which only then takes the run's place
    cold_start(train_corpus, small_store, run, replace, TINY, resume=True, show_progress=False)
    assert json.loads((run / "config.json").read_text())["train"]["seed"] == 5
    assert len(read_metrics(run)) == 1 and (run / "last.pt").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # nothing left beside it


def test_checkpoints_never_unpickle_code(tmp_path):
    evil = tmp_path / "evil.pt"

    class Payload:
        def __reduce__(self):
            return (print, ("this must not run",))

    torch.save({"format": "amr-checkpoint", "x": Payload()}, evil)
    with pytest.raises(AmrError, match="not a readable checkpoint"):
        load_checkpoint(evil)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(AmrError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"format": "something-else"}, tmp_path / "other.pt")
    with pytest.raises(AmrError, match="not an amr checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_predict_and_eval_a_run_from_the_command_line(train_corpus, small_store, tmp_path):
    one = TrainConfig(**{**FAST.to_json(), "epochs": 1})
    cold_start(train_corpus, small_store, tmp_path / "run", one, TINY, show_progress=False)
    amr = [sys.executable, "-m", "amr.cli"]
    preds = tmp_path / "val.jsonl"
    done = subprocess.run(
        [*amr, "predict", "--checkpoint", str(tmp_path / "run"), "--store", str(small_store),
         "--split", "val", "--out", str(preds)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    first = json.loads(preds.read_text().splitlines()[0])
    assert len(first["pred_relevant_windows"]) == TINY["num_queries"]
    scored = subprocess.run(
        [*amr, "eval", "--predictions", str(preds), "--store", str(small_store), "--split", "val"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    assert "MR-full-R1@0.7" in scored.stdout


def test_the_baseline_trains_on_the_real_split_only(small_store, tmp_path):
    from amr.datasets import Store
    from amr.train.stages import baseline

    one = TrainConfig(**{**FAST.to_json(), "epochs": 1})
    summary = baseline(small_store, "train", tmp_path / "base", one, TINY, show_progress=False)
    line = json.loads((tmp_path / "base" / "metrics.jsonl").read_text())
    assert line["samples"] == Store.open(small_store).samples("train").num_rows
    assert summary.best is not None and "val" in line
    run = json.loads((tmp_path / "base" / "config.json").read_text())
    assert run["stage"] == "baseline" and run["split"] == "train" and "corpus" not in run
    with pytest.raises(AmrError, match="no split 'nope'"):
        baseline(small_store, "nope", tmp_path / "b2", one, TINY, show_progress=False)


def _torchrun_two_ranks(program: list[str], timeout: int) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc-per-node 2 PROGRAM…` on the CPU, one thread a rank."""
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         *program],
        capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip


def test_two_processes_train_one_run_with_ddp_on_gloo(train_corpus, small_store, tmp_path):
    """torchrun --nproc-per-node 2 on the CPU: ranks split the windows and step together."""
    config = tmp_path / "config.json"
    settings = {**FAST.to_json(), "epochs": 1, "val_split": None, "curriculum": False,
                "window_rows": 16}  # fmt: skip
    config.write_text(json.dumps({"model": TINY, "train": settings}))
    run = tmp_path / "ddp"
    done = _torchrun_two_ranks(
        ["-m", "amr.cli", "train", "cold-start", "--corpus", str(train_corpus),
         "--store", str(small_store), "--out", str(run), "--config", str(config),
         "--device", "cpu", "--val-split", "", "--quiet"],
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    line = json.loads((run / "metrics.jsonl").read_text())
    single = cold_start(train_corpus, small_store, tmp_path / "one", TrainConfig(**settings), TINY,
                        show_progress=False)  # fmt: skip
    # Each rank takes the same number of steps, about half of a single process's.
    assert 0 < line["steps"] <= -(-single.steps // 2)
    assert line["samples"] > single.steps * FAST.batch_size // 4
    assert load_checkpoint(run / "last.pt")["step"] == line["steps"]


def test_a_distributed_rank_leaves_its_process_group_when_training_ends(tmp_path):
    """A rank that exits still inside a gloo group can abort at interpreter shutdown and fail a
    run that trained correctly: training leaves the group on the way out."""
    script = tmp_path / "rank.py"
    script.write_text(
        "import torch\n"
        "from amr.device import joined\n"
        "with joined('cpu') as ranks:\n"
        "    assert torch.distributed.is_initialized() and ranks.total(1) == 2\n"
        "assert not torch.distributed.is_initialized()\n"
        f"open({str(tmp_path / 'left-')!r} + str(ranks.rank), 'w').close()\n"
    )
    done = _torchrun_two_ranks([str(script)], timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.glob("left-*")) == ["left-0", "left-1"]


def test_cli_training_options_reach_the_run_config(train_corpus, small_store, tmp_path):
    from click.testing import CliRunner

    from amr.cli import cli

    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model": TINY, "train": {"window_rows": 48, "epochs": 5}}))
    run = tmp_path / "run"
    result = CliRunner().invoke(
        cli,
        ["train", "cold-start", "--corpus", str(train_corpus), "--store", str(small_store),
         "--out", str(run), "--config", str(config), "--epochs", "1", "--batch-size", "16",
         "--pacing", "step", "--pacing-start", "0.5", "--epochs-to-full", "3", "--quiet",
         "--device", "cpu", "--no-curriculum", "--val-split", "", "--cpu-bf16",
         "--fast-dropout"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    train = json.loads((run / "config.json").read_text())["train"]
    assert train["cpu_bf16"] and train["fast_dropout"] and not train["fused_adamw"]
    assert (train["pacing"], train["pacing_start"], train["epochs_to_full"]) == ("step", 0.5, 3)
    assert (train["epochs"], train["batch_size"], train["window_rows"]) == (1, 16, 48)
    assert train["curriculum"] is False  # the ablation flag
    assert "val" not in read_metrics(run)[0]  # --val-split '': no validation
    assert json.loads((run / "config.json").read_text())["model"]["hidden"] == TINY["hidden"]


def test_a_checkpoint_must_fit_its_config_and_the_store(train_corpus, small_store, tmp_path):
    from amr.datasets import SynthConfig, synthesize
    from amr.predict.split import predict_checkpoint
    from amr.train.checkpoint import model_from_checkpoint

    one = TrainConfig(**{**FAST.to_json(), "epochs": 1, "val_split": None})
    cold_start(train_corpus, small_store, tmp_path / "run", one, TINY, show_progress=False)
    body = load_checkpoint(tmp_path / "run")
    body["model_config"] = {**body["model_config"], "hidden": 64}
    with pytest.raises(AmrError, match="checkpoint weights do not fit its model config"):
        model_from_checkpoint(body)
    other = tmp_path / "other"
    config = SynthConfig.from_preset(
        "demo", train_videos=4, val_videos=2, test_videos=0, video_dim=24
    )
    synthesize(other, config, show_progress=False)
    with pytest.raises(AmrError, match=r"takes 48/32-d features, store .* has 24/"):
        predict_checkpoint(tmp_path / "run", other, "val", device="cpu")


def test_max_samples_ends_the_run_at_the_batch_that_reaches_it(small_store, tmp_path):
    from amr.datasets import Store
    from amr.train.stages import baseline

    rows = Store.open(small_store).samples("train").num_rows
    cap = rows + rows // 2  # half-way through the second epoch
    config = TrainConfig(**{**FAST.to_json(), "epochs": 50, "max_samples": cap})
    summary = baseline(small_store, "train", tmp_path / "b", config, TINY, show_progress=False)
    lines = [json.loads(x) for x in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    seen = sum(line["samples"] for line in lines)
    assert summary.epochs == len(lines) == 2
    assert cap <= seen < cap + config.batch_size
    assert "val" in lines[-1]  # the cut epoch is validated like any other
    again = baseline(small_store, "train", tmp_path / "b", config, TINY, resume=True,
                     show_progress=False)  # fmt: skip
    assert again.steps == summary.steps  # a finished capped run does not train on


def test_patience_stops_a_run_on_its_validation_plateau(small_store, tmp_path, monkeypatch):
    from amr.train.stages import baseline
    from amr.train.validation import Validation

    # A flat validation curve: the first epoch is never beaten, so patience 2 stops after
    # epoch 3.
    flat = {"MR-full-mAP": 10.0, "MR-full-R1@0.7": 5.0}
    monkeypatch.setattr(Validation, "run", lambda self, model, device: dict(flat))
    config = TrainConfig(**{**FAST.to_json(), "epochs": 30, "patience": 2})
    summary = baseline(small_store, "train", tmp_path / "b", config, TINY, show_progress=False)
    lines = read_metrics(tmp_path / "b")
    assert summary.epochs == len(lines) == 3
    assert len({line["val"]["MR-full-mAP"] for line in lines}) == 1
    again = baseline(small_store, "train", tmp_path / "b", config, TINY, resume=True,
                     show_progress=False)  # fmt: skip
    assert again.steps == summary.steps and len(read_metrics(tmp_path / "b")) == 3


def test_cold_start_reads_only_the_kinds_asked_for(small_store, tmp_path):
    from amr.corpus import Corpus

    corpus = tmp_path / "corpus"
    config = AugmentConfig(multiplier=3, seed=2, part_rows=64, row_group_rows=16)
    augment(small_store, "train", corpus, config, show_progress=False)
    kinds = Corpus.open(corpus).manifest["kinds"]
    assert kinds["negative"] > 0
    one = TrainConfig(**{**FAST.to_json(), "epochs": 1, "curriculum": False, "val_split": None})
    for chosen in (None, ("splice", "boundary")):
        out = tmp_path / f"run-{chosen}"
        cold_start(corpus, small_store, out, one, TINY, show_progress=False, kinds=chosen)
        line = json.loads((out / "metrics.jsonl").read_text())
        read = chosen or ("splice", "boundary", "negative")
        assert line["samples"] == sum(kinds[k] for k in read)
    with pytest.raises(AmrError, match="kinds must be some of"):
        cold_start(corpus, small_store, tmp_path / "x", one, TINY, show_progress=False,
                   kinds=("original",))  # fmt: skip


def test_a_compiled_run_learns_what_an_eager_one_does(train_corpus, small_store, tmp_path):
    """--compile: the model's forward and backward compiled by inductor (on the CPU here), on
    batches padded to one shape. Without dropout its losses are the eager run's, to rounding."""
    model = {**TINY, "dropout": 0.0, "input_dropout": 0.0}
    # two full batches: one shape, so one compilation (each new shape would compile again)
    eager = TrainConfig(**{**FAST.to_json(), "epochs": 1, "max_samples": 32, "val_split": None})
    compiled = TrainConfig(**{**eager.to_json(), "compile": True})
    for name, config in (("eager", eager), ("compiled", compiled)):
        cold_start(train_corpus, small_store, tmp_path / name, config, model,
                   show_progress=False)  # fmt: skip
    losses = [read_metrics(tmp_path / name)[-1]["loss"] for name in ("eager", "compiled")]
    assert losses[0].keys() == losses[1].keys()
    for term, value in losses[0].items():
        assert losses[1][term] == pytest.approx(value, rel=1e-3, abs=1e-4), term
    saved = json.loads((tmp_path / "compiled" / "config.json").read_text())
    assert (
        saved["train"]["compile"] is True and read_metrics(tmp_path / "compiled")[-1]["steps"] == 2
    )


def test_an_epoch_says_how_long_its_steps_waited_for_batches(
    train_corpus, small_store, tmp_path, monkeypatch
):
    """metrics.jsonl's waiting_for_data_s: a loader that takes 50 ms a batch shows up there,
    and it is part of the epoch's seconds."""
    import time

    real = engine_module.iterate_batches

    def slow_loader(*args, **kwargs):
        for item in real(*args, **kwargs):
            time.sleep(0.05)
            yield item

    monkeypatch.setattr(engine_module, "iterate_batches", slow_loader)
    config = TrainConfig(**{**FAST.to_json(), "epochs": 1, "val_split": None})
    cold_start(train_corpus, small_store, tmp_path / "run", config, TINY, show_progress=False)
    (line,) = read_metrics(tmp_path / "run")
    assert 0.05 * line["steps"] <= line["waiting_for_data_s"] <= line["seconds"]
