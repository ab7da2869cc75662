"""`make bench`: run every benchmark and print one table per area."""

from __future__ import annotations

import os
import platform
from datetime import date

from rich.console import Console
from rich.table import Table

from benchmarks import store, synthetic


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


if __name__ == "__main__":
    main()
