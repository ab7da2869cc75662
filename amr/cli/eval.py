"""`amr eval`: score predictions with the standard metrics, one file or several side by side."""

from __future__ import annotations

import json
from pathlib import Path

import rich_click as click
from rich.console import Console
from rich.table import Table

from amr.cli.options import Output, output_options, store_option
from amr.errors import AmrError
from amr.eval import DATASETS as DATASETS_EVAL
from amr.eval import evaluate, load_ground_truth, read_predictions
from amr.fileio import check_output_file, write_json


@click.command("eval")
@click.option(
    "--predictions",
    required=True,
    multiple=True,
    type=click.Path(path_type=Path),
    help="Predictions in the QVHighlights submission format (JSON lines); repeat to compare "
    "runs side by side.",
)
@click.option(
    "--annotations",
    type=click.Path(path_type=Path),
    default=None,
    help="Ground truth: an annotation file (JSON lines), or use --store and --split.",
)
@store_option("Ground truth: a store; with --split.")
@click.option("--split", default=None, help="The store split to evaluate against.")
@click.option(
    "--dataset",
    type=click.Choice(DATASETS_EVAL),
    default=None,
    help="Which metrics: qvhighlights (mAP and R1 by moment length; highlight detection); "
    "charades, tacos, activitynet (R1 and R5 at IoU 0.3/0.5/0.7, mIoU); nlq (R1 and R5 at IoU "
    "0.3/0.5) [default: the recall dataset a --store split came from; else qvhighlights "
    "when the ground truth has saliency scores, else charades].",
)
@click.option(
    "--clip-length",
    type=float,
    default=None,
    help="Seconds per clip, for saliency [default: the store's, or 2 for a file].",
)
@click.option(
    "--truth",
    "true_extents",
    is_flag=True,
    help="Synthetic stores: score against the events' true extents (truth.parquet), not "
    "the noisy labels.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Metrics JSON [default: NAME_metrics.json beside PREDICTIONS NAME.jsonl].",
)
@click.option("--overwrite", is_flag=True, help="Replace --out even if it is not metrics.")
@output_options("No tables; the metrics are still written.")
def eval_command(
    predictions, annotations, store_path, split, dataset, clip_length, true_extents, out,
    overwrite, output: Output,
) -> None:  # fmt: skip
    """Score predictions with the standard metrics (same definitions, keys and rounding as the
    QVHighlights standalone evaluation; Charades-STA: R1/R5 at IoU 0.3/0.5/0.7 and mIoU).

    Prints a table and writes the metrics as JSON.
    """
    if out is not None and len(predictions) > 1:
        raise AmrError(
            "--out takes one predictions file; with several, each gets NAME_metrics.json"
        )
    if true_extents and store_path is None:
        raise AmrError("--truth needs --store and --split (a synthetic store's truth.parquet)")
    targets = [out or path.with_name(f"{path.stem}_metrics.json") for path in predictions]
    for target in targets:  # before any work: a refused --out leaves everything as it was
        check_output_file(target, is_metrics, overwrite, "metrics amr eval wrote")
    truth = load_ground_truth(annotations, store_path, split, clip_length, true_extents)
    results = []
    for path, target in zip(predictions, targets, strict=True):
        result = evaluate(read_predictions(path), truth, dataset)
        write_json(target, result)
        results.append((path, result, target))
    data = [{"predictions": str(p), "metrics": str(t), **r} for p, r, t in results]
    if len(results) == 1:
        output.result(data[0], lambda: _print_eval(results[0][1], results[0][2]))
    else:
        output.result(data, lambda: _print_comparison(results))


def is_metrics(path: Path) -> bool:
    """Whether a file is metrics JSON that amr eval wrote (a `brief` and an `amr` block)."""
    if path.stat().st_size > 1 << 22:
        return False
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(body, dict) and "brief" in body and "amr" in body


def _print_comparison(results: list[tuple[Path, dict, Path]]) -> None:
    """One brief table, a column per predictions file (named by its run directory when the
    files share a name)."""
    stems = [path.stem for path, _, _ in results]
    names = stems if len(set(stems)) == len(stems) else [p.parent.name for p, _, _ in results]
    console = Console()
    info = results[0][1]["amr"]
    console.print(f"{info['dataset']}: {info['queries']:,} queries of {info['ground_truth']}")
    table = Table(title="brief", title_justify="left")
    table.add_column("metric")
    for name in names:
        table.add_column(name, justify="right")
    for key in results[0][1]["brief"]:
        cells = [r["brief"].get(key) for _, r, _ in results]
        table.add_row(key, *("–" if c is None else f"{c:.2f}" for c in cells))
    console.print(table)
    for _, _, target in results:
        console.print(f"wrote [bold]{target}[/]", soft_wrap=True)


def _print_eval(result: dict, out: Path) -> None:
    info = result["amr"]
    console = Console()
    console.print(
        f"{info['dataset']}: {info['queries']:,} queries of {info['ground_truth']}", soft_wrap=True
    )
    table = Table(title="brief", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result["brief"].items():
        table.add_row(key, "–" if value is None else f"{value:.2f}")
    console.print(table)
    buckets = [k for k in ("short", "middle", "long", "full") if "MR-mAP" in result.get(k, {})]
    if buckets:
        table = Table(title="moment retrieval by moment length", title_justify="left")
        for column in ("moments", "queries", "mAP", "mAP@0.5", "mAP@0.75", "R1@0.5", "R1@0.7"):
            table.add_column(column, justify="left" if column == "moments" else "right")
        for name in buckets:
            block = result[name]
            cells = [
                block["MR-mAP"]["average"],
                block["MR-mAP"]["0.5"],
                block["MR-mAP"]["0.75"],
                block["MR-R1"]["0.5"],
                block["MR-R1"]["0.7"],
            ]
            table.add_row(
                name,
                f"{info[f'queries_{name}']:,}",
                *("–" if c is None else f"{c:.2f}" for c in cells),
            )
        console.print(table)
    fixes = [
        f"{info[key]:,} {text}"
        for key, text in (
            ("windows_past_10", "windows past the first 10 of a query ignored"),
            ("queries_not_sorted_by_score", "queries not listing windows best first (R1: first)"),
            ("saliency_cut", "saliency lists cut to the clip count"),
            ("saliency_padded", "saliency lists zero-padded to the clip count"),
        )
        if info.get(key)
    ]
    for line in fixes:
        console.print(f"[yellow]note[/]: {line}", soft_wrap=True)
    console.print(f"wrote [bold]{out}[/]", soft_wrap=True)
