"""Band-, strip- and tile-parallel execution shared by the filters.

Border pixels are reflected like OpenCV's ``BORDER_REFLECT`` and scipy.ndimage's
``mode="reflect"`` (``dcba|abcd``).

Large images are processed in bands of rows, strips or tiles (with a halo of
pixels around them) by one thread pool per process (:func:`run_parallel`): the
compiled kernels release the GIL, so the bands run in parallel.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

# a strip (for_row_strips) is about this many bytes of working memory
_STRIP_BYTES = 1 << 18
# and a tile (map_tiles) of one plane about this many
_TILE_BYTES = 1 << 17
_MIN_STRIP_ROWS = 16
# tiles are at least this many times the halo high, so that halo rows (computed twice)
# stay a small share
_HALO_MULTIPLE = 8


def reflect_index(index: np.ndarray, size: int) -> np.ndarray:
    """Map any integer indices into [0, size) by reflection ``dcba|abcd|dcba``."""
    index = np.mod(index, 2 * size)
    return np.where(index >= size, 2 * size - 1 - index, index)


def planar(strip: np.ndarray) -> np.ndarray:
    """H x W x K image strip -> contiguous H x K x W stack (whole rows of each plane)."""
    return np.ascontiguousarray(strip.transpose(0, 2, 1))


def interleaved(stack: np.ndarray) -> np.ndarray:
    """H x K x W stack -> H x W x K view (the inverse of :func:`planar`, without copying)."""
    return stack.transpose(0, 2, 1)


def worker_count() -> int:
    """Threads for strip processing: the CPUs this process may use."""
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


def for_row_strips(func: Callable[[slice], None], height: int, row_bytes: int) -> None:
    """Call ``func(rows)`` for strips ``rows = slice(y0, y1)`` covering [0, height), on a
    thread pool; `row_bytes` (the working memory per row) sizes the strips."""
    rows = max(_MIN_STRIP_ROWS, _STRIP_BYTES // max(row_bytes, 1))
    run_parallel(lambda y0: func(slice(y0, min(height, y0 + rows))), range(0, height, rows))


def for_row_bands(func: Callable[[int, int], None], height: int, min_rows: int = 1) -> None:
    """Call ``func(start, stop)`` for two bands of rows per worker thread covering
    [0, height) (fewer when bands would be under `min_rows` rows), on a thread pool.

    For compiled row-streaming kernels, which pay a fixed start-up per band.
    """
    count = max(1, min(2 * worker_count(), height // max(min_rows, 1)))
    edges = [height * i // count for i in range(count + 1)]
    run_parallel(lambda i: func(edges[i], edges[i + 1]), range(count))


def map_tiles(
    func: Callable[..., np.ndarray],
    inputs: list[np.ndarray],
    halo: int,
    out: np.ndarray,
    *,
    planes: int | None = None,
    height_factor: int = 1,
) -> np.ndarray:
    """Fill `out` (H x W x ...) tile by tile with ``func(*tiles)``.

    Each tile of `inputs` (arrays H x W x ...) covers output rows [y0, y1) and
    columns [x0, x1) plus `halo` pixels on every side, reflected at the image
    border; `func` must return the central (y1 - y0) x (x1 - x0) pixels. Tiles
    are small enough for their temporaries to stay in the CPU caches; `planes`
    (default: the largest input's plane count) sizes them, `height_factor` makes
    them that many times taller (and narrower).
    """
    height, width = inputs[0].shape[:2]
    if planes is None:
        planes = max(int(np.prod(a.shape[2:])) for a in inputs)
    rows = max(_MIN_STRIP_ROWS, _HALO_MULTIPLE * halo * height_factor)
    columns = max(_MIN_STRIP_ROWS, _TILE_BYTES // max(rows * planes * out.itemsize, 1))
    starts = [(y0, x0) for y0 in range(0, height, rows) for x0 in range(0, width, columns)]

    def run(start: tuple[int, int]) -> None:
        y0, x0 = start
        y1, x1 = min(height, y0 + rows), min(width, x0 + columns)
        if y0 < halo or y1 + halo > height or x0 < halo or x1 + halo > width:
            row_index = reflect_index(np.arange(y0 - halo, y1 + halo), height)[:, None]
            column_index = reflect_index(np.arange(x0 - halo, x1 + halo), width)
            tiles = [a[row_index, column_index] for a in inputs]
        else:
            tiles = [a[y0 - halo : y1 + halo, x0 - halo : x1 + halo] for a in inputs]
        out[y0:y1, x0:x1] = func(*tiles)

    run_parallel(run, starts)
    return out
