"""`make bench`: run every benchmark and print one table per area."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable
from datetime import date

from rich.console import Console
from rich.table import Table

from benchmarks import augment, loader, store, synthetic, train
from benchmarks import eval as eval_bench

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


def main() -> None:
    console = Console()
    if not console.is_terminal:
        console = Console(width=110)  # tables stay unwrapped in logs and pasted output
    console.print(
        f"amr benchmarks · {date.today()} · {platform.processor() or platform.machine()} · "
        f"{os.cpu_count()} cores · synthetic data (no real video features on this machine)"
    )
    console.print(_table("datasets: synthesis and store lookups", SPEED_COLUMNS, store.run()))
    console.print(
        _table(
            "synthetic world: how hard (val split)",
            ("preset", "variant", "coherence", "best outside", "confusable"),
            synthetic.run(),
            labels=2,
        )
    )
    rows, layouts, note = augment.run()
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
    console.print(
        _table(
            "evaluation: amr eval on one core (best of 3)",
            ("ground truth", "size", "read predictions", "read truth", "evaluate", "total"),
            eval_bench.run(),
        )
    )
    console.print(
        _table(
            "training input pipeline: 2816/512-d, x10 corpus of 1,000 queries, 2 cores",
            ("what", "size", "time (3 epochs)", "speed"),
            loader.run(),
        )
    )
    console.print(_table("training step (model + losses + optimiser)", SPEED_COLUMNS, train.run()))


if __name__ == "__main__":
    main()
