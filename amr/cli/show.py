"""`amr show`: PNG timelines of augmented samples, or of a query's ground truth and predictions."""

from __future__ import annotations

from pathlib import Path

import rich_click as click
from rich.console import Console

from amr.cli.options import Output, corpus_option, output_options, store_option
from amr.errors import AmrError

ONE = {"samples": "sample", "queries": "query"}


@click.command("show")
@corpus_option("Draw rows of this corpus (with --sample-id or --where).", required=False)
@click.option(
    "--sample-id", "sample_ids", type=int, multiple=True, help="A corpus row; repeatable."
)
@click.option(
    "--where",
    default=None,
    help="A SQL condition over the view `corpus`, e.g. \"kind='negative' ORDER BY difficulty "
    'DESC".',
)
@click.option(
    "--limit", type=int, default=12, show_default=True, help="At most this many rows for --where."
)
@store_option("Draw queries of this store's --split (with --qid).")
@click.option("--split", default=None, help="The store split holding the --qid queries.")
@click.option(
    "--qid",
    "qids",
    multiple=True,
    help="A query of --split (its integer or string id); repeatable.",
)
@click.option(
    "--predictions",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A predictions file (amr predict's); repeat to compare runs, one track each.",
)
@click.option(
    "--top-k", type=int, default=5, show_default=True, help="Predicted windows drawn per run."
)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="The PNG to write.")
@click.option("--overwrite", is_flag=True, help="Replace --out even if amr show did not draw it.")
@output_options("Print nothing; the PNG is still written.")
def show_command(
    corpus, sample_ids, where, limit, store_path, split, qids, predictions, top_k, out,
    overwrite, output: Output,
) -> None:  # fmt: skip
    """Draw timelines into one PNG, one panel per sample or query (a contact sheet).

    With --corpus: the host video, each pasted segment on its own track (the labelled moment in
    blue, negatives in red, cross-fades as ramps), the labels and the saliency curve, and the
    difficulty with its components in the title.

    With --store, --split and --qid: the ground truth and saliency, then each --predictions
    file's top windows with their rank and score, so two runs can be compared on one query.
    """
    if (corpus is None) == (store_path is None):
        raise click.UsageError("give --corpus (samples) or --store (queries), one of the two")
    if corpus is not None:
        from amr.show.samples import Selection, show_samples

        drawn = show_samples(corpus, Selection(tuple(sample_ids), where, limit), out, overwrite)
        what = "samples"
    else:
        if split is None:
            raise AmrError("--store needs --split and --qid")
        from amr.show.queries import show_queries

        drawn = show_queries(
            store_path, split, list(qids), list(predictions), out, top_k, overwrite
        )
        what = "queries"
    output.result(
        {"png": str(out), what: drawn},
        lambda: Console().print(
            f"wrote [bold]{out}[/]: {len(drawn)} {what if len(drawn) != 1 else ONE[what]}",
            soft_wrap=True,
        ),
    )
