"""Ctrl-C and SIGTERM during training: the engine finishes the batch, saves last.pt and
stops, so `--resume` continues from there; a second signal acts at once (the handlers are
restored as soon as the first arrives). A signal the launcher set to be ignored (`cmd &` from
a script ignores SIGINT) stays ignored: Ctrl-C in that terminal was not meant for the run."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """While active (a `with` block), records the first SIGINT or SIGTERM instead of dying."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.signal: str | None = None  # the name of the signal that asked to stop
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        if self.enabled:
            for sig in SIGNALS:
                if signal.getsignal(sig) is not signal.SIG_IGN:
                    self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signal = signal.Signals(signum).name
        self._restore()  # a second signal gets the usual behaviour: exit at once

    def _restore(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()

    def __exit__(self, *exc: object) -> None:
        self._restore()
