"""`amr corpus export`: a corpus in the layout of the field's trainers."""

from __future__ import annotations

from pathlib import Path

import rich_click as click
from rich.console import Console
from rich.text import Text

from amr.cli.options import Output, corpus_option, output_options, store_option
from amr.console import stderr_console
from amr.export import FORMATS, ExportConfig, export_corpus
from amr.export.plan import ROWS

FORMAT_HELP = "; ".join(f"{name}: {fmt.trainers}" for name, fmt in FORMATS.items())


@click.command("export")
@corpus_option("The corpus to export (materialised: with features).")
@click.option(
    "--format",
    "format_name",
    required=True,
    type=click.Choice(list(FORMATS)),
    help=f"The trainer's layout ({FORMAT_HELP}).",
)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Export directory.")
@store_option("The store the corpus was made from [default: the one beside the corpus].")
@click.option(
    "--rows",
    type=click.Choice(list(ROWS)),
    default="all",
    show_default=True,
    help="Which corpus rows train: all (and also the augmented and real rows as two more "
    "files, for the two-step recipe), only the augmented ones, or only the real ones.",
)
@click.option(
    "--eval-split",
    "eval_splits",
    multiple=True,
    help="A store split whose real rows are written for the trainer's own evaluation "
    "(repeatable) [default: val, and test when it is labelled].",
)
@click.option(
    "--max-v-l",
    type=int,
    default=ExportConfig.max_v_l,
    show_default=True,
    help="The trainer's max_v_l: rows with more clips are counted and warned about (the "
    "loaders cut them silently).",
)
@click.option(
    "--overwrite", is_flag=True, help="Replace an export at --out (or an unfinished one)."
)
@click.option("--resume", is_flag=True, help="Finish an interrupted export of the same options.")
@output_options()
def export_command(
    corpus, format_name, out, store_path, rows, eval_splits, max_v_l, overwrite, resume,
    output: Output,
) -> None:  # fmt: skip
    """Write a corpus in the layout Moment-DETR-family trainers, lighthouse or UniVTG read.

    Annotation files in the Moment-DETR JSON-lines form, one `.npz` per video and feature
    source, one per query, plus `export.json` (paths and dims, for scripts) and a README.md
    with the exact training commands. Nothing at --out changes unless the export finishes.
    """
    summary = export_corpus(
        ExportConfig(
            corpus=corpus,
            out=out,
            format=format_name,
            store=store_path,
            rows=rows,
            eval_splits=tuple(eval_splits) or None,
            max_v_l=max_v_l,
            overwrite=overwrite,
            resume=resume,
        ),
        show_progress=output.progress,
    )
    err = stderr_console()
    for warning in summary.warnings if not output.quiet else ():
        err.print(Text("warning: ", style="bold yellow") + Text(warning), soft_wrap=True)

    def show() -> None:
        console = Console()
        r = summary.rows
        console.print(
            f"exported [bold]{summary.out}[/] ({summary.format}, dset_name "
            f"{summary.dset_name}): {r.written:,} training rows, {r.dropped:,} dropped, "
            f"{summary.videos:,} videos, {summary.queries:,} queries, "
            f"{summary.feature_bytes / 1e6:,.1f} MB in {summary.seconds:.1f} s",
            soft_wrap=True,
        )
        for split, counts in summary.eval_rows.items():
            console.print(f"  eval {split}: {counts.written:,} rows ({summary.files[split]})")
        console.print(f"  how to train on it: {summary.out / 'README.md'}")

    output.result(summary.to_json(), show)
