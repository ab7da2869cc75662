"""`make bench`: run every benchmark and print one table per area."""

from __future__ import annotations

import os
import platform
from datetime import date

from rich.console import Console
from rich.table import Table

from benchmarks import augment, loader, store, synthetic, train
from benchmarks import eval as eval_bench


def main() -> None:
    console = Console()
    if not console.is_terminal:
        console = Console(width=110)  # tables stay unwrapped in logs and pasted output
    console.print(
        f"amr benchmarks · {date.today()} · {platform.processor() or platform.machine()} · "
        f"{os.cpu_count()} cores · synthetic data (no real video features on this machine)"
    )
    table = Table(title="datasets: synthesis and store lookups", title_justify="left")
    for column in ("what", "size", "time", "speed"):
        table.add_column(column, justify="left" if column == "what" else "right")
    for row in store.run():
        table.add_row(*row)
    console.print(table)

    table = Table(title="synthetic world: how hard (val split)", title_justify="left")
    for column in ("preset", "variant", "coherence", "best outside", "confusable"):
        table.add_column(column, justify="left" if column in ("preset", "variant") else "right")
    for row in synthetic.run():
        table.add_row(*row)
    console.print(table)

    rows, layouts, note = augment.run()
    table = Table(
        title="augmentation (amr augment vs disk and the research-script way)",
        title_justify="left",
        caption=note,
        caption_justify="left",
    )
    for column in ("what", "size", "time", "speed", "compared"):
        table.add_column(column, justify="left" if column == "what" else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    table = Table(
        title="corpus feature column: Parquet layouts (200 samples × 75 clips × 2816-d float16)",
        title_justify="left",
    )
    for column in ("layout", "write + fsync", "read", "size / raw"):
        table.add_column(column, justify="left" if column == "layout" else "right")
    for row in layouts:
        table.add_row(*row)
    console.print(table)

    table = Table(title="evaluation: amr eval on one core (best of 3)", title_justify="left")
    for column in ("ground truth", "size", "read predictions", "read truth", "evaluate", "total"):
        table.add_column(column, justify="left" if column == "ground truth" else "right")
    for row in eval_bench.run():
        table.add_row(*row)
    console.print(table)

    table = Table(
        title="training input pipeline: 2816/512-d, x10 corpus of 1,000 queries, 2 cores",
        title_justify="left",
    )
    for column in ("what", "size", "time (3 epochs)", "speed"):
        table.add_column(column, justify="left" if column == "what" else "right")
    for row in loader.run():
        table.add_row(*row)
    console.print(table)

    table = Table(title="training step (model + losses + optimiser)", title_justify="left")
    for column in ("what", "size", "time", "speed"):
        table.add_column(column, justify="left" if column == "what" else "right")
    for row in train.run():
        table.add_row(*row)
    console.print(table)


if __name__ == "__main__":
    main()
