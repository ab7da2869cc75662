"""Terminal output shared by the library and the CLI: progress bars on stderr."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")


def stderr_console() -> Console:
    return Console(stderr=True)


def track(
    items: Iterable[T], total: int | None, description: str, enabled: bool = True
) -> Iterator[T]:
    """Iterate `items` with a progress bar on stderr (nothing is drawn when `enabled` is false)."""
    if not enabled:
        yield from items
        return
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr_console(), transient=False) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)
