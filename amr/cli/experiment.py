"""`amr experiment`: the paper's claim, every arm and seed on one budget."""

from __future__ import annotations

from pathlib import Path

import rich_click as click
from rich.console import Console

from amr.cli.options import device_option, quiet_option, store_option
from amr.experiment.arms import ARMS, DEFAULT_ARMS
from amr.experiment.budget import BUDGETS


@click.command("experiment")
@store_option(
    "A store with labeled train and val splits (e.g. `datasets synth --preset qvh`).", required=True
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("runs/experiment"),
    show_default=True,
    help="Experiment directory; rerun with the same one to continue an interrupted experiment.",
)
@click.option("--seeds", type=int, default=3, show_default=True, help="Seeds 0..N-1 per arm.")
@click.option(
    "--budget",
    type=click.Choice(list(BUDGETS)),
    default="small",
    show_default=True,
    help="small: a 128-d model, ~20 min per seed on 2 CPU cores at 128/64-d; "
    "full: the reference model and epochs, for a GPU.",
)
@click.option(
    "--arms",
    default=",".join(DEFAULT_ARMS),
    show_default=True,
    help=f"Comma-separated arms ({', '.join(a.name for a in ARMS)}); amr always runs.",
)
@device_option()
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Augmentation workers and loader threads [default: cores, at most 4].",
)
@quiet_option("No progress display.")
def experiment_command(store_path, out, seeds, budget, arms, device, workers, quiet) -> None:
    """Check the paper's claim: real data only vs augmented data only vs AMR's two stages,
    and the ablations (no curriculum, no hard negatives, no distillation loss, no Active
    Queries).

    Every arm trains the same model on the same number of samples (the AMR arm's) for each
    seed. Writes `results.md` (mean ± std over seeds of R1@0.5, R1@0.7, mAP, and by moment
    length), `curves.png`, `by_length.png` and `difficulty.png` into --out, and prints the
    table.
    """
    from amr.experiment import ExperimentConfig, run_experiment, terminal_table, write_report
    from amr.experiment.runner import default_workers

    config = ExperimentConfig(
        store=store_path,
        out=out,
        seeds=seeds,
        budget=budget,
        arms=tuple(a.strip() for a in arms.split(",") if a.strip()),
        device=device,
        workers=workers or default_workers(),
        show_progress=not quiet,
    )
    summaries = write_report(config, run_experiment(config))
    title = (
        f"val metrics, mean ± std over {seeds} seed{'s' if seeds > 1 else ''} ({out}/results.md)"
    )
    console = Console()
    if not console.is_terminal:
        console = Console(width=130)  # the table stays unwrapped in logs
    console.print(terminal_table(summaries, title))
