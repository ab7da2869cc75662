"""`amr train baseline|cold-start|distill` and `amr predict`. A new run layers its settings
(the stage's defaults < `--config` JSON < flags, amr.train.config.run_settings), builds its
stage's spec and starts it; `--resume` is amr.train.resume(out), the options given only
checked against the run's. The ablation flags come from amr.train.ablations."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import rich_click as click
from rich.console import Console

from amr.cli.options import AmrGroup, Output, device_option, output_options, store_option
from amr.eval.submission import is_submission, write_submission
from amr.fileio import check_output_file
from amr.train.ablations import ablation_settings, ablations_for
from amr.train.config import (
    ACTIVE_FFN,
    DISC_NEGATIVES,
    MATCHINGS,
    run_settings,
    stated_settings,
)
from amr.train.curriculum import PACINGS


@click.group(cls=AmrGroup)
def train() -> None:
    """Train the model: the baseline (real data only), stage 1 (cold start on the augmented
    corpus) and stage 2 (distillation adaptation on the real rows)."""


def _apply(options):
    """Decorate a command with `options` (listed top-down, applied bottom-up)."""

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


# Training settings that trade the default's exact numbers for speed (docs/train.md): one
# switch each, off unless given.
SPEED_SWITCHES = {
    "fast-dropout": "On the CPU, draw dropout masks from a quarter of the random numbers "
    "(docs/performance.md: 1.2-1.4x the training speed). Other masks, so other numbers than "
    "the default's",
    "fused-adamw": "AdamW in one fused kernel, not the multi-tensor kernels (fewer GPU "
    "launches; rounds differently)",
    "cpu-bf16": "On the CPU, run the model in bf16 autocast as on CUDA (losses and weights stay "
    "float32): fast on CPUs with AMX or AVX-512 BF16 (docs/performance.md), slower on others. "
    "Rounds differently",
    "compile": "Compile the model's step with torch.compile, on batches padded to one shape; "
    "compiling takes a minute or more (docs/performance.md says when it pays)",
}


def run_options(stage: str):
    """The options every stage takes; help states the stage's own defaults as numbers."""
    from amr.train.config import stage_train_default

    def default(name: str) -> str:
        return f"[default: {stage_train_default(stage, name):g}]"

    return _apply(
        [
            click.option(
                "--out", required=True, type=click.Path(path_type=Path), help="Run directory."
            ),
            click.option(
                "--val-split",
                default=None,
                help="Store split to validate on after every epoch; '' for none [default: val].",
            ),
            click.option(
                "--config",
                "config_file",
                type=click.Path(path_type=Path),
                default=None,
                help="JSON with `model`, `loss`, `train` (and for distill `distill`) settings; the "
                "options below override it.",
            ),
            click.option("--epochs", type=int, default=None, help=default("epochs")),
            click.option(
                "--max-samples",
                type=int,
                default=None,
                help="Stop once this many samples are trained on, mid-epoch if need be.",
            ),
            click.option(
                "--patience",
                type=int,
                default=None,
                help="Stop once val MR-full-mAP has not improved for this many epochs (within "
                "--epochs) [default: train every epoch].",
            ),
            click.option("--batch-size", type=int, default=None, help=default("batch_size")),
            click.option("--lr", type=float, default=None, help=default("lr")),
            click.option("--seed", type=int, default=None, help=default("seed")),
            device_option(),
            *(
                click.option(
                    f"--{flag}", is_flag=True, default=None, help=f"{help} [default: off]."
                )
                for flag, help in SPEED_SWITCHES.items()
            ),
            click.option(
                "--resume",
                is_flag=True,
                help="Continue the run in --out from last.pt; its config.json supplies every "
                "option not given.",
            ),
            click.option("--overwrite", is_flag=True, help="Replace a run directory at --out."),
        ]
    )


def ablation_options(stage: str):
    """One flag per ablation switch that `stage` takes."""
    return _apply(
        [
            click.option(
                ablation.flag,
                "ablations",
                flag_value=ablation.name,
                multiple=True,
                help=ablation.help,
            )
            for ablation in ablations_for(stage)
        ]
    )


PACING_OPTIONS = _apply(
    [
        click.option(
            "--pacing",
            type=click.Choice(PACINGS),
            default=None,
            help="How the pool grows: g(e) from --pacing-start to 1; `ordered` reads every row "
            "every epoch, easy to hard [default: root; distill: ordered].",
        ),
        click.option("--pacing-start", type=float, default=None, help="g(0) [default: 0.3]."),
        click.option(
            "--epochs-to-full", type=int, default=None, help="Epochs until g = 1 [default: 10]."
        ),
    ]
)


def _choice(flag: str, choices: tuple[str, ...], help: str):
    """A stage-2 variant: one of `choices` (the first is the default, the reference's); not
    given means the --config file's or the default."""
    return click.option(
        flag, type=click.Choice(choices), default=None, help=f"{help} [default: {choices[0]}]."
    )


def _settings(config_file, stage: str, flags: dict, ablations=(), distill_flags=None):
    """A new run's settings: the stage's defaults < --config < flags, then the ablations."""
    from amr.train.stages import STAGES  # torch loads only when a command trains

    train_flags, distill_flags = _with_ablations(flags, ablations, distill_flags)
    return run_settings(config_file, STAGES[stage].train_defaults, train_flags, distill_flags)


def _with_ablations(flags: dict, ablations, distill_flags):
    train_flags = {**flags, **ablation_settings(ablations, "train")}
    if distill_flags is not None:
        distill_flags = {**distill_flags, **ablation_settings(ablations, "distill")}
    return train_flags, distill_flags


def _resume(out: Path, stage: str, output: Output, config_file, flags, ablations=(),
            distill_flags=None, **paths):  # fmt: skip
    """--resume: the run directory has every setting (amr.train.resume); the options given
    are only checked against the run's."""
    from amr.train.stages import asked_spec, resume

    train_flags, distill_flags = _with_ablations(flags, ablations, distill_flags)
    settings = stated_settings(config_file, train_flags, distill_flags)
    asked = asked_spec(
        stage, settings, paths.get("store_path"), paths.get("corpus"), paths.get("init"),
        paths.get("split"), _kinds(paths.get("kinds")),
    )  # fmt: skip
    return resume(out, asked=asked, show_progress=output.progress)


def _kinds(option: str | None) -> list[str] | None:
    return None if option is None else [k.strip() for k in option.split(",")]


def _required(**paths) -> None:
    """A new run names its inputs; a resumed one finds them in its config.json."""
    for option, value in paths.items():
        if value is None:
            flag = "--" + ("store" if option == "store_path" else option)
            raise click.UsageError(f"Missing option '{flag}' (or --resume a run that has one).")


RUN_OUTPUT = output_options("No progress display and no summary; errors still print.")


def _print_run(out: Path, summary, output: Output) -> None:
    from amr.train.validation import best_value

    chosen = best_value(summary.last_metrics)
    name = chosen[0] if chosen else "MR-full-mAP"
    best = "–" if summary.best is None else f"{summary.best:.2f}"
    output.result(
        {**asdict(summary), "best_metric": name},
        lambda: Console().print(
            f"trained [bold]{out}[/]: {summary.epochs} epochs, {summary.steps:,} steps, "
            f"{summary.samples_per_second:,.0f} samples/s; best val {name} {best}",
            soft_wrap=True,
        ),
    )


@train.command("baseline")
@store_option("The store (with --resume: the run's).")
@click.option("--split", default=None, help="The split to train on [default: train].")
@run_options("baseline")
@RUN_OUTPUT
def baseline_command(store_path, split, out, config_file, resume, overwrite, output, **flags):
    """The model on the real split only (no augmentation, no curriculum): the reference every
    result is compared with. Writes config.json, metrics.jsonl, last.pt and best.pt (best
    validation MR-full-mAP) into --out."""
    from amr.train.stages import baseline_spec, start

    if resume:
        summary = _resume(out, "baseline", output, config_file, flags,
                          store_path=store_path, split=split)  # fmt: skip
    else:
        _required(store_path=store_path)
        settings = _settings(config_file, "baseline", flags)
        spec = baseline_spec(
            store_path, split or "train", settings.train, settings.model_options, settings.loss
        )
        summary = start(spec, out, overwrite=overwrite, show_progress=output.progress)
    _print_run(out, summary, output)


@train.command("cold-start")
@click.option(
    "--corpus", type=click.Path(path_type=Path), help="The corpus (with --resume: the run's)."
)
@store_option("The corpus's source store (text features, validation split).")
@run_options("cold-start")
@PACING_OPTIONS
@click.option("--include-original", is_flag=True, default=None, help="Also train on the real rows.")
@click.option(
    "--kinds",
    default=None,
    help="Comma-separated augmented kinds to read [default: splice,boundary,negative].",
)
@ablation_options("cold-start")
@RUN_OUTPUT
def cold_start_command(
    corpus, store_path, out, config_file, resume, overwrite, output, kinds, ablations, **flags
):
    """Stage 1: train on the corpus's augmented rows, easiest first (curriculum).

    Writes config.json, metrics.jsonl (loss terms and validation metrics per epoch), last.pt
    and best.pt (best validation MR-full-mAP, as the reference keeps) into --out.
    """
    from amr.train.stages import cold_start_spec, start

    if resume:
        summary = _resume(out, "cold-start", output, config_file, flags, ablations,
                          corpus=corpus, store_path=store_path, kinds=kinds)  # fmt: skip
    else:
        _required(corpus=corpus, store_path=store_path)
        settings = _settings(config_file, "cold-start", flags, ablations)
        spec = cold_start_spec(
            corpus, store_path, settings.train, settings.model_options, settings.loss,
            _kinds(kinds),
        )  # fmt: skip
        summary = start(spec, out, overwrite=overwrite, show_progress=output.progress)
    _print_run(out, summary, output)


@train.command("distill")
@click.option(
    "--init",
    type=click.Path(path_type=Path),
    help="The cold-start run directory (its last.pt, the last epoch, as the reference starts "
    "from) or a checkpoint file (with --resume: the run's).",
)
@click.option(
    "--corpus", type=click.Path(path_type=Path), help="The corpus (with --resume: the run's)."
)
@store_option("The corpus's source store.")
@run_options("distill")
@PACING_OPTIONS
@click.option(
    "--replay-fraction",
    type=float,
    default=None,
    help="Share of each epoch's rows drawn from the augmented rows [default: 0].",
)
@_choice(
    "--matching",
    MATCHINGS,
    "Match both query sets to the moments in one assignment (joint, the reference's) or each "
    "set on its own",
)
@_choice(
    "--active-ffn",
    ACTIVE_FFN,
    "The Active Queries' feed-forward networks start as the cold start's (copy, the "
    "reference's) or fresh",
)
@_choice(
    "--disc-negatives",
    DISC_NEGATIVES,
    "The discrimination loss pushes the query away from each real sample's wrong spans (the "
    "reference's) or from its most similar other clips (top-k)",
)
@ablation_options("distill")
@RUN_OUTPUT
def distill_command(
    init, corpus, store_path, out, config_file, resume, overwrite, output, replay_fraction,
    matching, active_ffn, disc_negatives, ablations, **flags,
):  # fmt: skip
    """Stage 2: the corpus's real rows, every one every epoch, easy to hard, with Original and
    Active Queries and distillation from the frozen cold-start model (100 epochs, lr ÷10 at 40
    by default)."""
    from amr.train.stages import distill_spec, start

    distill_flags = {"replay_fraction": replay_fraction, "matching": matching,
                     "active_ffn": active_ffn, "disc_negatives": disc_negatives}  # fmt: skip
    if resume:
        summary = _resume(out, "distill", output, config_file, flags, ablations, distill_flags,
                          init=init, corpus=corpus, store_path=store_path)  # fmt: skip
    else:
        _required(init=init, corpus=corpus, store_path=store_path)
        settings = _settings(config_file, "distill", flags, ablations, distill_flags)
        spec = distill_spec(
            init, corpus, store_path, settings.train, settings.distill, settings.loss
        )
        summary = start(spec, out, overwrite=overwrite, show_progress=output.progress)
    _print_run(out, summary, output)


@click.command("predict")
@click.option(
    "--checkpoint",
    required=True,
    type=click.Path(path_type=Path),
    help="A .pt file, or a run directory (its best.pt).",
)
@store_option("The store holding the split.", required=True)
@click.option("--split", required=True, help="The split to predict.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Predictions .jsonl.")
@click.option("--nms", type=float, default=None, help="Temporal NMS IoU threshold [default: off].")
@click.option("--overwrite", is_flag=True, help="Replace --out even if it is not predictions.")
@device_option()
@output_options()
def predict_command(checkpoint, store_path, split, out, nms, overwrite, device, output) -> None:
    """Write a model's predictions for a store split in the submission format (every query
    set of a stage-2 model ranked together). An existing --out is replaced only if it holds
    predictions (or with --overwrite)."""
    from amr.predict.split import predict_checkpoint  # torch loads only for the model

    check_output_file(out, is_submission, overwrite, "a predictions file")
    records = predict_checkpoint(checkpoint, store_path, split, nms, device, output.progress)
    write_submission(out, records)
    output.result(
        {"predictions": str(out), "queries": len(records)},
        lambda: Console().print(f"wrote [bold]{out}[/]: {len(records):,} queries", soft_wrap=True),
    )
