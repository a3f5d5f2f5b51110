"""Batches in worker processes on this machine (``skinsmooth --jobs N``), surviving dead workers.

A worker process may die mid-task (killed, e.g. by the out-of-memory killer), which breaks
the whole ``ProcessPoolExecutor``. :func:`run_pool` keeps at most two tasks per worker in
flight, so only those few are lost with the broken pool: it builds a new pool and retries
each of them alone, in a pool of one, so that a task which kills its worker again is the
cause and is reported as failed, by name. Every other task goes on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from ..io import remove_partial
from ._jobs import (
    Outcome,
    Settings,
    Task,
    init_worker,
    own_outputs,
    process_in_worker,
    targets_of,
    with_absent,
)

__all__ = ["run_pool"]


def run_pool(
    tasks,
    settings: Settings,
    workers: int,
    report: Callable[[Outcome], object],
    *,
    on_retry: Callable[[Task], object] | None = None,
) -> None:
    """Run `tasks` in `workers` processes, calling `report` with each outcome as it comes.

    Parameters
    ----------
    tasks : iterable of Task
        The photos and their outputs.
    settings : Settings
        The options every task shares (each worker receives them once).
    workers : int
        The number of worker processes (spawned, not forked).
    report : callable
        Called in this process with the :class:`Outcome` of each task.
    on_retry : callable, optional
        Called with a task whose worker died, before it is retried alone.

    Raises
    ------
    KeyboardInterrupt
        Passed on after the tasks not started were cancelled.
    """
    pending = deque(map(with_absent, tasks))
    while pending:
        suspects = []
        pool = _new_pool(workers, settings)
        try:
            in_flight = {}
            while pending or in_flight:
                while pending and len(in_flight) < 2 * workers and not suspects:
                    task = pending.popleft()
                    try:
                        in_flight[pool.submit(process_in_worker, task)] = task
                    except BrokenProcessPool:  # a worker died before this task was sent
                        suspects.append(task)
                if not in_flight:
                    break
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    task = in_flight.pop(future)
                    try:
                        report(future.result())
                    except BrokenProcessPool:
                        suspects.append(task)
                    except Exception as exc:  # noqa: BLE001 - e.g. the result could not be sent
                        error = f"{task.source}: worker failed: {exc!r}"
                        report(Outcome(task.source, error=error, target=task.target))
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        for task in suspects:
            if on_retry is not None:
                on_retry(task)
            report(_run_alone(task, settings))


def _new_pool(workers: int, settings: Settings) -> ProcessPoolExecutor:
    context = get_context("spawn")  # no fork of a process that may hold threads
    return ProcessPoolExecutor(workers, context, init_worker, (settings,))


def _run_alone(task: Task, settings: Settings) -> Outcome:
    """Retry a task whose worker died, in a pool of its own: if the worker dies again,
    this task is the cause. Outputs that the dead worker finished in this batch (the set
    is written together, after the work) are kept, not written again."""
    targets = targets_of(task)
    for path in targets:
        remove_partial(path)  # what the dead worker was writing
    if len(own_outputs(task)) == len(targets):
        return Outcome(task.source, written=targets, target=task.target)
    pool = _new_pool(1, settings)
    try:
        return pool.submit(process_in_worker, task).result()
    except BrokenProcessPool:
        return Outcome(
            task.source,
            target=task.target,
            error=f"{task.source}: the worker process died retouching it, twice (killed, e.g. "
            "out of memory: try --jobs 1 or a smaller --max-megapixels)",
        )
    except Exception as exc:  # noqa: BLE001
        error = f"{task.source}: worker failed: {exc!r}"
        return Outcome(task.source, error=error, target=task.target)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
