"""`make bench`: run every benchmark, each in its own process, print one table per area and
then one summary table of every stage."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterable
from datetime import date
from typing import Any

from rich.console import Console
from rich.table import Table

SPEED_COLUMNS = ("what", "size", "time", "speed")


def _table(
    title: str,
    columns: tuple[str, ...],
    rows: Iterable[tuple[str, ...]],
    labels: int = 1,
    caption: str | None = None,
) -> Table:
    """A left-titled table: the first `labels` columns are names, the rest numbers."""
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i < labels else "right")
    for row in rows:
        table.add_row(*row)
    return table


def _fresh(name: str) -> tuple[Any, float]:
    """A benchmark module's run() in its own interpreter, and that process's peak RSS."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.child", name],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    body = json.loads(done.stdout.strip().splitlines()[-1])
    return body["result"], body["peak_mb"]


def _stage(name: str, summary: list[tuple[str, ...]]) -> list[Any]:
    """A stage's benchmark in its own process; its headline (the last item its run() returns)
    joins the summary, and the rest is returned."""
    (*result, headline), peak_mb = _fresh(name)
    summary.append(_headline(headline, peak_mb))
    return result


def _headline(headline: dict, peak_mb: float) -> tuple[str, ...]:
    """One summary row; a module's own peak (e.g. of its augment child) beats the process's."""
    peak = headline.get("peak_mb", peak_mb)
    peak_of = headline.get("peak_of", "whole benchmark process")
    return (
        headline["stage"],
        headline["figure"],
        headline["comparison"],
        f"{peak:,.0f} MB ({peak_of})",
    )


def main() -> None:
    console = Console()
    if not console.is_terminal:
        console = Console(width=110)  # tables stay unwrapped in logs and pasted output
    console.print(
        f"amr benchmarks · {date.today()} · {platform.processor() or platform.machine()} · "
        f"{os.cpu_count()} cores · synthetic data (no real video features on this machine)"
    )
    summary = []
    (rows,) = _stage("store", summary)
    console.print(_table("datasets: synthesis and store lookups", SPEED_COLUMNS, rows))
    rows, _ = _fresh("synthetic")
    console.print(
        _table(
            "synthetic world: how hard (val split)",
            ("preset", "variant", "coherence", "best outside", "confusable"),
            rows,
            labels=2,
        )
    )
    rows, layouts, note = _stage("augment", summary)
    console.print(
        _table(
            "augmentation (amr augment vs disk and the research-script way)",
            (*SPEED_COLUMNS, "compared"),
            rows,
            caption=note,
        )
    )
    console.print(
        _table(
            "corpus feature column: Parquet layouts (200 samples × 75 clips × 2816-d float16)",
            ("layout", "write + fsync", "read", "size / raw"),
            layouts,
        )
    )
    (rows,) = _stage("export", summary)
    console.print(
        _table(
            "amr corpus export: the field's layout vs the disk (2304 + 512 / 512-d, 500 queries)",
            (*SPEED_COLUMNS, "compared"),
            rows,
        )
    )
    (rows,) = _stage("eval", summary)
    console.print(
        _table(
            "evaluation: amr eval on one core (best of 3)",
            ("ground truth", "size", "read predictions", "read truth", "evaluate", "total"),
            rows,
        )
    )
    (rows,) = _stage("loader", summary)
    console.print(
        _table(
            "training input pipeline: 2816/512-d, x10 corpus of 1,000 queries, 2 cores",
            ("what", "size", "time (3 epochs)", "speed"),
            rows,
        )
    )
    (rows,) = _stage("show", summary)
    console.print(
        _table("amr show: PNG contact sheets (best of 3, in one process)", ("what", "size", "time"),
               rows)
    )  # fmt: skip
    (rows,) = _stage("features", summary)
    console.print(_table("amr features extract (tiny random CLIP, CPU)", SPEED_COLUMNS, rows))
    (rows,) = _stage("train", summary)
    console.print(
        _table(
            "training step (model + losses + optimiser), batch 32 × 75 clips; before and "
            "after issue 53",
            ("what", "time", "speed", "vs before", "operators per step", "compiling"),
            rows,
        )
    )
    (rows,) = _stage("long_video", summary)
    console.print(
        _table(
            "long videos: Predictor over windows of 75 clips, reference model, 2816/512-d, CPU",
            ("video", "size", "time (best)", "speed", "peak memory (its process)"),
            rows,
        )
    )
    console.print(
        _table(
            "every stage at a glance (each compared within this run)",
            ("stage", "figure", "compared with", "peak memory"),
            summary,
        )
    )


if __name__ == "__main__":
    main()
