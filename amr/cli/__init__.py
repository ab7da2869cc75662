"""The `amr` command. Thin: every command parses options and calls a library function.

One module per command group: `datasets` (import, synth, info), `corpus` (augment, inspect,
corpus info/verify/merge/materialize), `export` (corpus export), `eval`, `train` (baseline,
cold-start, distill, and predict), `experiment`, `show`; `options` holds what they share.
"""

from __future__ import annotations

import rich_click as click

from amr import __version__
from amr.cli import corpus, datasets, eval, experiment, export, features, show, train
from amr.cli.options import AmrGroup


@click.group(cls=AmrGroup)
@click.version_option(__version__, prog_name="amr")
def cli() -> None:
    """**amr** — augmented moment retrieval (ICCV 2025) as a toolkit.

    Build a store from community formats (or synthesise one), augment it offline into a
    shareable Parquet corpus, and train a DETR-style model in two stages.
    """


for command in (
    datasets.datasets,
    features.features,
    corpus.augment_command,
    corpus.inspect_command,
    corpus.corpus,
    eval.eval_command,
    train.train,
    train.predict_command,
    experiment.experiment_command,
    show.show_command,
):
    cli.add_command(command)


corpus.corpus.add_command(export.export_command)


def main() -> None:
    cli(prog_name="amr")
