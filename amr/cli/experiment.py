"""`amr experiment`: the paper's claim, tested as pre-registered in docs/benchmark.md."""

from __future__ import annotations

from pathlib import Path

import rich_click as click
from rich.console import Console

from amr.cli.options import Output, device_option, output_options, store_option, workers_option
from amr.experiment.arms import ARMS, DEFAULT_ARMS
from amr.experiment.budget import BUDGETS


def _fractions(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of numbers") from None


@click.command("experiment")
@store_option(
    "A store with labelled train, val and test splits (e.g. `datasets synth --preset qvh`).",
    required=True,
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("runs/experiment"),
    show_default=True,
    help="Experiment directory; rerun with the same one to continue an interrupted experiment "
    "or to add seeds, arms or fractions.",
)
@click.option(
    "--fractions",
    default="1",
    show_default=True,
    help="Comma-separated shares of the train split (nested subsets), e.g. 0.1,0.25,1.",
)
@click.option("--seeds", type=int, default=3, show_default=True, help="Seeds 0..N-1 per arm.")
@click.option(
    "--headline-seeds",
    type=int,
    default=None,
    help="Seeds for baseline, amr and the controls at the smallest fraction listed "
    "(to finish a larger fraction, list the smallest too) [default: --seeds].",
)
@click.option(
    "--budget",
    type=click.Choice(list(BUDGETS)),
    default="cpu",
    show_default=True,
    help="cpu: a 128-d model, the 10 % fraction's baseline + AMR in about 9 minutes a seed "
    "on 2 cores; full: the reference model and schedules, for a GPU.",
)
@click.option(
    "--arms",
    default=",".join(DEFAULT_ARMS),
    help=f"Comma-separated arms ({', '.join(a.name for a in ARMS)}) [default: all of them].",
)
@device_option()
@workers_option("Augmentation workers and loader threads (results do not depend on it).")
@click.option(
    "--report-only",
    is_flag=True,
    help="Write the report from the runs that have finished; train nothing (for a long "
    "experiment still running or stopped).",
)
@click.option(
    "--restore-from",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    default=None,
    help="An evidence folder (OUT/evidence of an earlier report, or a published copy of it) "
    "to read back the finished runs --out lacks: their scores and curves, not their weights. "
    "They are reported, not retrained; a stage 1 is retrained only for a stage 2 still to run.",
)
@output_options("No progress display and no table; errors still print.")
def experiment_command(
    store_path, out, fractions, seeds, headline_seeds, budget, arms, device, workers,
    report_only, restore_from, output: Output,
) -> None:  # fmt: skip
    """Test the paper's claim: the real-data baseline, AMR's two stages, the ablations and two
    controls (one stage on augmented + real rows; two stages whose first re-reads the real
    rows), on nested fractions of the train split.

    Every arm trains to convergence under one rule (the baseline and stage 2 stop on a val
    mAP plateau, stage 1 runs its schedule) and is scored on the test split with its best
    checkpoint on val. Writes results.json (one record per arm, fraction and seed),
    results.md (95 % bootstrap intervals over seeds and queries, gains paired by seed, the
    hypotheses of docs/benchmark.md), fractions.png, curves.png, difficulty.png, and
    evidence/: each run's config, curve and per-query test scores, small enough to commit,
    from which --restore-from rebuilds the report after the runs themselves are lost.
    """
    from amr.experiment import ExperimentConfig, run_experiment, terminal_table, write_report

    config = ExperimentConfig(
        store=store_path,
        out=out,
        fractions=_fractions(fractions),
        seeds=seeds,
        headline_seeds=headline_seeds,
        budget=budget,
        arms=tuple(a.strip() for a in arms.split(",") if a.strip()),
        device=device,
        workers=workers,
        show_progress=output.progress,
        report_only=report_only,
        restore_from=restore_from,
    )
    figures = write_report(config, run_experiment(config))

    def show() -> None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=130)  # the table stays unwrapped in logs
        title = f"test metrics, 95 % intervals ({out}/results.md)"
        console.print(terminal_table(figures, title))

    output.result(
        {"results": str(Path(out) / "results.json"), "report": str(Path(out) / "results.md")}, show
    )
