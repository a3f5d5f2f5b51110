"""The package's thread pool and the row ranges it runs in parallel.

Compiled kernels release the GIL and numpy releases it inside its loops, so
work split into ranges of rows runs in parallel on one pool of threads per
process (:func:`run_parallel`). Two ways to split an image of `height` rows,
both calling ``func(start, stop)`` for row ranges that cover it once:

* :func:`for_bands`: two bands per worker thread, for compiled kernels that
  pay a fixed start-up per band (halo rows, buffers);
* :func:`for_strips`: strips sized by their working memory, so that the
  temporaries of numpy code stay in the CPU caches.

This module imports nothing of the package: every layer may use it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait

# a strip (for_strips) is about this many bytes of working memory
_STRIP_BYTES = 1 << 18


def worker_count() -> int:
    """Threads for parallel work: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


_pool: tuple[int, ThreadPoolExecutor] | None = None  # (process id, pool)
_pool_lock = threading.Lock()
_in_pool = threading.local()


def _mark_pool_thread() -> None:
    _in_pool.active = True


def _shared_pool() -> ThreadPoolExecutor | None:
    """The process's worker threads, made on first use (and again in a forked child);
    None on one CPU and inside a worker, where nested waits could deadlock the pool."""
    global _pool
    if worker_count() <= 1 or getattr(_in_pool, "active", False):
        return None
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            pool = ThreadPoolExecutor(worker_count(), "skinsmooth", initializer=_mark_pool_thread)
            _pool = (os.getpid(), pool)
        return _pool[1]


def run_parallel(func: Callable, items: Iterable) -> None:
    """Call ``func(item)`` for every item on the shared thread pool and wait for all;
    the first exception raised is re-raised once every call has ended."""
    items = list(items)
    pool = _shared_pool() if len(items) > 1 else None
    if pool is None:
        for item in items:
            func(item)
        return
    futures = [pool.submit(func, item) for item in items]
    wait(futures)
    for future in futures:
        future.result()


def run_all(calls: Iterable[Callable]) -> list:
    """Call each function of `calls` (no arguments) on the shared thread pool; return their
    results in the same order (independent steps, such as scipy.ndimage filters, which
    release the GIL)."""
    calls = list(calls)
    results = [None] * len(calls)

    def call(index):
        results[index] = calls[index]()

    run_parallel(call, range(len(calls)))
    return results


def for_bands(
    func: Callable[[int, int], None], height: int, *, min_rows: int = 1, per_worker: int = 2
) -> None:
    """Call ``func(start, stop)`` for `per_worker` bands of rows per worker thread covering
    [0, height) (fewer when bands would be under `min_rows` rows), in parallel."""
    count = max(1, min(per_worker * worker_count(), height // max(min_rows, 1)))
    edges = [height * i // count for i in range(count + 1)]
    run_parallel(lambda i: func(edges[i], edges[i + 1]), range(count))


def for_strips(
    func: Callable[[int, int], None], height: int, row_bytes: int, *, min_rows: int = 1
) -> None:
    """Call ``func(start, stop)`` for strips of rows covering [0, height), in parallel;
    a strip is about 256 KiB of working memory at `row_bytes` per row, and at least
    `min_rows` rows."""
    rows = max(min_rows, 1, _STRIP_BYTES // max(row_bytes, 1))
    run_parallel(lambda start: func(start, min(height, start + rows)), range(0, height, rows))
