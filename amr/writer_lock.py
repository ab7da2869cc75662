"""One writer per output. Every command that writes an output holds an exclusive lock on it for
as long as it runs: a second writer of the same output stops at once with one line naming the
holder, instead of interleaving its epochs or parts with the first's.

The lock is `fcntl.flock` on `.NAME.lock` beside the output (beside, not inside: an output is
replaced by a rename, and the lock must outlive that), removed when the writer finishes. The OS
releases a lock when its process ends, however it ends, so the file a killed process leaves
never blocks anyone.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import inspect
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from amr.errors import AmrError
from amr.fileio import existing_ancestor

F = TypeVar("F", bound=Callable[..., Any])


def lock_path(out: Path, role: str = "") -> Path:
    out = Path(out)
    return out.parent / f".{out.name}{role}.lock"


@contextlib.contextmanager
def exclusive_output(out: str | Path, role: str = "") -> Iterator[None]:
    """Hold `out`'s writer lock (`role` names a lock of its own, e.g. one shard's parts).

    Re-entrant within a process: a command whose steps are commands of their own (features
    extract imports a store) takes its output's lock once, and the inner steps find it theirs
    (the lock file names the holding process)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise AmrError(f"{out}: is a file; --out takes a directory")
    path = lock_path(out, role)
    fd = _acquire(out, path)
    if fd is None:  # this process holds it already
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError):  # removed while held, so no one can lock it after
            os.unlink(path)
        os.close(fd)  # releases the lock


def _acquire(out: Path, path: Path) -> int | None:
    """The locked file's descriptor, or None when this process holds the lock already. A lock
    file its holder removed on finishing is not the one at `path` any more: locking it would
    lock nothing, so open again."""
    me = f"process {os.getpid()} "
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise AmrError(f"{out}: cannot write there ({_why(path.parent, error)})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 1024, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            if holder.startswith(me):
                return None
            raise AmrError(
                f"{out}: {holder} is writing it; wait for it to finish, or use another --out"
            ) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            command = " ".join(["amr", *sys.argv[1:]]) if sys.argv[1:] else "amr"
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{me}({command[:300]})".encode(), 0)
            return fd
        os.close(fd)


def _why(directory: Path, error: OSError) -> str:
    """The reason in words: a file where a directory should be reads better than EEXIST."""
    above = existing_ancestor(directory)
    if not above.is_dir():
        return f"{above} is a file, not a directory"
    return error.strerror or str(error)


def one_writer(output_of: Callable[[dict[str, Any]], Path | tuple[Path, str] | None]):
    """Decorate a library function that writes one output so that it holds that output's lock
    while it runs. `output_of` takes the call's arguments by name and returns the output (with a
    role, or None for a call that writes nothing)."""

    def wrap(function: F) -> F:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def locked(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            output = output_of(bound.arguments)
            if output is None:
                return function(*args, **kwargs)
            out, role = output if isinstance(output, tuple) else (output, "")
            with exclusive_output(out, role):
                return function(*args, **kwargs)

        return locked  # type: ignore[return-value]

    return wrap
