"""Worker processes for the data jobs (``generate``, ``dataset stats`` and ``verify``): :func:`pool_map`.

Spawned, not forked (``concurrent.futures.ProcessPoolExecutor`` over a ``spawn`` context): a forked worker inherits
the parent's threads' locks (the progress bar's monitor, PyTorch's OpenMP pool) and can wait on one forever, and
``multiprocessing.Pool.terminate`` waits on a lock an idle worker holds; together they made ``generate --workers N``
hang now and then. A script that calls a data job with more than one worker must do so under
``if __name__ == "__main__":`` (the workers import it), as for PyTorch's ``DataLoader`` workers.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from multiprocessing import get_context

from tqdm import tqdm

from ..errors import MaskDepthError

__all__ = ["WORKERS_DIED", "pool_map"]


def pool_map(
    fn,
    items: list,
    workers: int,
    initializer=None,
    initargs: tuple = (),
    desc: str = "",
    total: int | None = None,
    quiet: bool = False,
    weights: list[int] | None = None,
    unit: str = "it",
) -> list:
    """``[fn(it) for it in items]`` in order, over ``workers`` spawned processes (1: in this process), with a progress
    bar (the module docstring). A worker that dies breaks the pool instead of being respawned; a worker whose parent is
    killed finishes its task in hand and exits (:func:`_worker_start`). On the first error the tasks not yet started
    are cancelled and the error is raised (the running ones finish first).

    Args:
        fn: a module-level function (the workers import it) of one item.
        items: the items (picklable).
        workers: processes (<= 1: none, in this process).
        initializer, initargs: run once in each worker (in this process with ``workers`` <= 1) before its first item.
        desc, unit, quiet: the progress bar's label and unit, and whether to hide it.
        total, weights: the bar's total (default: the sum of the steps) and each item's step (default: a dict item's
            ``"count"``, else 1).
    Raises:
        whatever ``fn`` or ``initializer`` raises; MaskDepthError (``workers``, :data:`WORKERS_DIED`) when a worker dies
        or cannot start.
    """
    steps = list(weights) if weights is not None else [_items_in(it) for it in items]
    bar = tqdm(total=total if total is not None else sum(steps), desc=desc, unit=unit, disable=quiet, dynamic_ncols=True)
    results = []
    try:
        if workers <= 1:
            if initializer:
                initializer(*initargs)
            for it, step in zip(items, steps):
                results.append(fn(it))
                bar.update(step)
        else:
            start = (os.getpid(), initializer, initargs)
            pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_worker_start, initargs=start)
            try:
                for step, r in zip(steps, pool.map(partial(_worker_task, fn), items)):
                    results.append(r)
                    bar.update(step)
            except BrokenProcessPool:
                raise MaskDepthError(WORKERS_DIED, param="workers") from None
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        bar.close()
    return results


WORKERS_DIED = (
    "> 1: a worker process died (killed, out of memory) or could not start (a Python script that runs generate, "
    'dataset_stats or verify_dataset with workers > 1 must do so under `if __name__ == "__main__":`: the workers are '
    "spawned and import it)"
)
"""The message (after the parameter's name) of the error :func:`pool_map` raises when a worker is lost."""

_TASK = threading.Lock()
"""Held by a pool worker while it runs a task (:func:`_worker_task`), so that its parent watch lets the task finish."""


def _worker_start(parent: int, initializer, initargs: tuple) -> None:
    """A pool worker's start: a daemon thread that ends the worker once its parent process ``parent`` is gone (killed:
    nobody will send it work or read its results) after the task in hand, then ``initializer(*initargs)``."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        with _TASK:
            os._exit(1)

    threading.Thread(target=watch, daemon=True, name="maskdepth-parent-watch").start()
    if initializer:
        initializer(*initargs)


def _worker_task(fn, item):
    """``fn(item)`` in a pool worker, holding :data:`_TASK`."""
    with _TASK:
        return fn(item)


def _items_in(task) -> int:
    """How many items a task of :func:`pool_map` makes (a shard's ``count``; else 1), for the progress bar."""
    return task["count"] if isinstance(task, dict) and "count" in task else 1
