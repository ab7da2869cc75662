"""The one exception type that means "the user's input is wrong", not "amr has a bug"."""


class AmrError(Exception):
    """A problem with a user's files or options.

    The message names the culprit (file:line, video id, query id, option) and fits on one line;
    the CLI prints it without a traceback and exits non-zero.
    """


class Interrupted(AmrError):
    """Training stopped by Ctrl-C or SIGTERM after saving where it was (exit status 130)."""

    exit_code = 130
