"""A map over forked worker processes that each inherit one job object at fork time.

The job (a generator, a video pool, paths) is sent once, not per item; items are small (part
indices, id ranges) and results come back in item order.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any

PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies
_JOB: Any = None  # the job a worker inherited; set only while a map runs


def current_job() -> Any:
    assert _JOB is not None, "called outside parallel_map"
    return _JOB


def _set_job(job: Any) -> None:
    global _JOB
    _JOB = job


def _start_worker(job: Any, parent: int) -> None:
    """A worker ignores Ctrl-C (the parent handles it and stops the pool) and dies with its
    parent: on Linux the kernel sends it SIGTERM when the parent exits, so a killed `amr
    augment` leaves no orphans that print BrokenPipe tracebacks later."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(0)
    _set_job(job)


def parallel_map(func: Callable, items: list, job: Any, workers: int) -> Iterator:
    """func over items, results in order; in `workers` forked processes when more than one."""
    if workers <= 1 or len(items) <= 1:
        _set_job(job)
        try:
            yield from map(func, items)
        finally:
            _set_job(None)
        return
    context = multiprocessing.get_context("fork")
    pool = context.Pool(
        min(workers, len(items)), initializer=_start_worker, initargs=(job, os.getpid())
    )
    try:
        yield from pool.imap(func, items)
        pool.close()  # a clean shutdown: workers exit and the pool's threads are joined
    finally:
        pool.terminate()
        pool.join()
