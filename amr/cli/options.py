"""What every `amr` command shares: the error handling (a user mistake is one red line and
exit status 1, never a traceback) and the options several commands declare."""

from __future__ import annotations

import errno
import functools
import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import rich_click as click
from rich.text import Text

from amr.console import stderr_console
from amr.errors import AmrError

click.rich_click.TEXT_MARKUP = "markdown"
DEVICES = ("auto", "cpu", "cuda")  # as amr.device.DEVICES, without importing torch


class AmrGroup(click.RichGroup):
    """Reports a user mistake as one red `error:` line, never a traceback: exit status 1 for
    bad input (AmrError), 2 for a usage mistake (click's errors, which would otherwise draw a
    box of their own)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort:
            _error("aborted")
            sys.exit(1)
        except click.ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            _error(exc.format_message() + hint)
            sys.exit(exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AmrError as exc:
            _error(str(exc))
            ctx.exit(getattr(exc, "exit_code", 1))
        except OSError as exc:  # the OS's refusals (a full disk, a read-only place) are input too
            _error(os_error_line(exc))
            ctx.exit(1)
        except MemoryError:
            _error("out of memory; ask for less (a smaller --multiplier, --batch-size or split)")
            ctx.exit(1)


# What to do about the OS errors a user can meet, by errno; the others say what the OS said.
OS_ERROR_HINTS = {
    errno.ENOSPC: "no space left on the device; free some, or write elsewhere (earlier output "
    "there is unchanged)",
    errno.EDQUOT: "disk quota exceeded; free some space, or write elsewhere (earlier output "
    "there is unchanged)",
    errno.EACCES: "permission denied; choose a place you can write to",
    errno.EPERM: "operation not permitted; choose a place you can write to",
    errno.EROFS: "read-only file system; choose a place you can write to",
    errno.ENOTDIR: "a path in it is a file, not a directory",
    errno.EISDIR: "is a directory, where a file was expected",
    errno.EFBIG: "file too large (for the file system, or this process's file-size limit); "
    "earlier output there is unchanged",
}


def os_error_line(exc: OSError) -> str:
    """One line for an OSError: the path it is about and what to do. Arrow's I/O errors carry
    the errno only in their text ("... [errno 28] No space left on device")."""
    code = exc.errno
    if code is None:
        found = re.search(r"\[errno (\d+)\]", str(exc), re.IGNORECASE)
        code = int(found.group(1)) if found else None
    reason = OS_ERROR_HINTS.get(code or 0) or exc.strerror or str(exc).splitlines()[0]
    if code == errno.EEXIST and exc.filename is not None and Path(exc.filename).is_file():
        reason = "is a file, not a directory"
    return f"{exc.filename}: {reason}" if exc.filename is not None else reason


def _error(message: str) -> None:
    stderr_console().print(Text("error: ", style="bold red") + Text(message), soft_wrap=True)


def store_option(help: str, required: bool = False):
    """`--store STORE` (passed as `store_path`), which most commands take."""
    return click.option(
        "--store",
        "store_path",
        type=click.Path(path_type=Path),
        required=required,
        default=None,
        help=help,
    )


def device_option(help: str = "cuda runs with bf16 autocast."):
    return click.option(
        "--device", type=click.Choice(DEVICES), default="auto", show_default=True, help=help
    )


def corpus_option(help: str, required: bool = True):
    """`--corpus CORPUS` (passed as `corpus`)."""
    return click.option(
        "--corpus", type=click.Path(path_type=Path), required=required, default=None, help=help
    )


def workers_option(help: str = "Processes."):
    """`--workers N`, with the one default every command uses."""
    return click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=default_workers,
        show_default="CPU cores, at most 8",
        help=help,
    )


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


@dataclass(frozen=True)
class Output:
    """What a command prints: a human summary, nothing (--quiet) or JSON (--json)."""

    quiet: bool = False
    as_json: bool = False

    @property
    def progress(self) -> bool:
        """Progress bars (stderr) only for a person reading along."""
        return not (self.quiet or self.as_json)

    def result(self, data: Any, show: Callable[[], None]) -> None:
        """The command's result: `data` as JSON with --json, else `show()` unless --quiet."""
        if self.as_json:
            click.echo(json.dumps(data, indent=2, default=str))
        elif not self.quiet:
            show()


def output_options(quiet: str = "No progress bars and no summary; errors still print."):
    """`--quiet` and `--json`, which every command that prints takes; the command receives
    them as one `output` (an Output)."""

    def decorate(command):
        @functools.wraps(command)
        def wrapper(*args, quiet: bool, as_json: bool, **kwargs):
            return command(*args, output=Output(quiet, as_json), **kwargs)

        wrapper = click.option(
            "--json", "as_json", is_flag=True, help="Print the result as JSON (no progress bars)."
        )(wrapper)
        return click.option("--quiet", is_flag=True, help=quiet)(wrapper)

    return decorate


def retired(old: str, new: str) -> NoReturn:
    """An old spelling is refused with the one line that says how to write it now."""
    raise click.UsageError(f"{old} is no longer accepted; write {new}")


class _LegacyArgument(click.Argument):
    """An old positional spelling: caught to say the new one, left out of the usage line."""

    def get_usage_pieces(self, ctx: click.Context) -> list[str]:
        return []


def positional_moved(param: str, flag: str, required: bool = True):
    """Refuse the old positional spelling of an option that `flag` now names, in one line
    that gives the new spelling; `param` is the option's parameter name."""

    def decorate(command):
        legacy = f"legacy_{param}"

        @functools.wraps(command)
        def wrapper(*args, **kwargs):
            old = kwargs.pop(legacy)
            ctx = click.get_current_context()
            if old is not None:
                path = ctx.command_path
                retired(f"'{path} {old}'", f"'{path} {flag} {old}'")
            if required and kwargs.get(param) is None:
                raise click.UsageError(f"Missing option '{flag}'.", ctx)
            return command(*args, **kwargs)

        argument = click.argument(
            legacy, cls=_LegacyArgument, required=False, type=click.Path(path_type=Path)
        )
        return argument(wrapper)

    return decorate
