"""What every `amr` command shares: the error handling (a user mistake is one red line and
exit status 1, never a traceback) and the options several commands declare."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import rich_click as click
from rich.text import Text

from amr.console import stderr_console
from amr.errors import AmrError

click.rich_click.TEXT_MARKUP = "markdown"
DEVICES = ("auto", "cpu", "cuda")  # as amr.train.device.DEVICES, without importing torch


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


def quiet_option(what: str = "No progress bars."):
    return click.option("--quiet", is_flag=True, help=what)


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))
