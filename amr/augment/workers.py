"""A map over forked worker processes that each inherit one job object at fork time.

The job (a generator, a video pool, paths) is sent once, not per item; items are small (part
indices, id ranges) and results come back in item order.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from typing import Any

_JOB: Any = None  # the job a worker inherited; set only while a map runs


def current_job() -> Any:
    assert _JOB is not None, "called outside parallel_map"
    return _JOB


def _set_job(job: Any) -> None:
    global _JOB
    _JOB = job


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
    pool = context.Pool(min(workers, len(items)), initializer=_set_job, initargs=(job,))
    try:
        yield from pool.imap(func, items)
        pool.close()  # a clean shutdown: workers exit and the pool's threads are joined
    finally:
        pool.terminate()
        pool.join()
