"""Where a benchmark writes its stores and corpora while it runs."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scratch_dir(prefix: str = "amr-bench-") -> Iterator[Path]:
    """A temporary directory, removed afterwards: under ./runs when the project has one (a real
    disk, where a corpus of several GB fits and writes at disk speed; /tmp may be a small
    tmpfs), else the system's temporary directory."""
    runs = Path.cwd() / "runs"
    with tempfile.TemporaryDirectory(prefix=prefix, dir=runs if runs.is_dir() else None) as tmp:
        yield Path(tmp)
