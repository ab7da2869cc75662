"""What the commands that write a store share (`amr datasets import/synth/subset/remine`,
`amr features extract`): the --annotations/--split pairing, the --json record of a store and
the import summary table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import rich_click as click
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from amr.datasets import ImportSummary
    from amr.datasets.store import StoreMeta


def annotation_pairs(
    annotations: tuple[Path, ...], splits: tuple[str, ...]
) -> list[tuple[str, Path]]:
    """(split, file) for each repeated --annotations/--split; a usage error if they differ in
    number."""
    if len(annotations) != len(splits):
        raise click.UsageError(
            f"give one --split per --annotations ({len(annotations)} files, {len(splits)} splits)"
        )
    return list(zip(splits, annotations, strict=True))


def store_record(root: Path, meta: StoreMeta) -> dict[str, Any]:
    """A written store for --json: its path and its store.json."""
    return {"store": str(root), **meta.to_json()}


def print_import(summary: ImportSummary, out: Path) -> None:
    """The table `amr datasets import` prints: one row per split read."""
    console = Console()
    table = Table(title=f"imported into {out}", title_justify="left")
    for column in ("split", "file", "queries", "videos", "labeled", "windows clamped"):
        table.add_column(column, justify="left" if column in ("split", "file") else "right")
    for split, report in summary.reports.items():
        table.add_row(
            split,
            report.path.name,
            str(report.queries),
            str(report.videos),
            "yes" if report.labeled else "no",
            str(report.clamped_windows),
        )
    console.print(table)
    console.print(
        f"read {summary.videos_read} video and {summary.queries_read} query feature files · "
        f"video dim {summary.meta.video_dim} · text dim {summary.meta.text_dim}"
    )
    widened = sum(report.widened_windows for report in summary.reports.values())
    if widened:
        console.print(
            f"[yellow]note:[/] widened {widened} windows shorter than a clip to one clip "
            "around their centre"
        )
    stripped = sum(report.stripped_queries for report in summary.reports.values())
    if stripped:
        console.print(f"[yellow]note:[/] stripped the spaces around {stripped} queries")
    if summary.clips_past_features:
        console.print(
            f"[yellow]note:[/] {summary.clips_past_features} relevant clip ids lie at or past "
            "their video's last feature clip (kept as annotated)"
        )
