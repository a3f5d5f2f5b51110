"""Box (moving-average) filters and strip-parallel execution shared by the filters.

Box sums work on H x K x W stacks (rows outermost, then K planes, then
columns: every numpy operation then runs over long contiguous rows) with the
border reflected like OpenCV's ``BORDER_REFLECT`` and scipy.ndimage's
``mode="reflect"`` (``dcba|abcd``).

No float32 integral images or long float32 running sums (they drift and
stripe): row sums are running sums accumulated in float64, column sums are
built per window by binary doubling (sums of 1, 2, 4, ... neighbours combined
per the bits of the window size).

Large images are processed in horizontal strips, each with a halo of rows
above and below, by a small thread pool: numpy releases the GIL inside its
loops, and strips small enough to stay in cache make the many elementwise
passes of these filters much cheaper than whole-image passes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# strip height is chosen so a strip of one plane-stack is about this many bytes
_STRIP_BYTES = 1 << 18
_MIN_STRIP_ROWS = 16
# and at least this many times the halo, so that halo rows (computed twice) stay a small share
_HALO_MULTIPLE = 8


def reflect_index(index: np.ndarray, size: int) -> np.ndarray:
    """Map any integer indices into [0, size) by reflection ``dcba|abcd|dcba``."""
    index = np.mod(index, 2 * size)
    return np.where(index >= size, 2 * size - 1 - index, index)


def _flat_window_sum(flat: np.ndarray, size: int) -> np.ndarray:
    """Sums of `size` consecutive entries of a 1-d array ('valid'), by binary doubling."""
    length = flat.size - size + 1
    total = None
    power, span, offset = flat, 1, 0  # power[i] = sum of flat[i : i + span]
    bits = size
    while True:
        if bits & 1:
            term = power[offset : offset + length]
            total = term.copy() if total is None else np.add(total, term, out=total)
            offset += span
        bits >>= 1
        if not bits:
            return total
        power = power[:-span] + power[span:]
        span *= 2


def _row_sums(stack: np.ndarray, size: int) -> np.ndarray:
    """Sums of `size` consecutive rows (axis 0, 'valid'), accumulated in float64."""
    rows = stack.shape[0] - size + 1
    out = np.empty((rows,) + stack.shape[1:], stack.dtype)
    total = stack[:size].sum(axis=0, dtype=np.float64)
    out[0] = total
    for i in range(1, rows):
        total += stack[i + size - 1]
        total -= stack[i - 1]
        out[i] = total
    return out


def _column_sums(stack: np.ndarray, radius: int) -> np.ndarray:
    """Sums over 2 * radius + 1 columns (last axis), the border reflected."""
    width = stack.shape[-1]
    size = 2 * radius + 1
    shape = stack.shape[:-1] + (width + 2 * radius,)
    # rows of the padded stack laid end to end, plus size - 1 spare entries so that there is
    # a window start at every entry; windows straddling two rows are computed but never read
    flat = np.empty(int(np.prod(shape)) + size - 1, stack.dtype)
    padded = flat[: flat.size - size + 1].reshape(shape)
    flat[padded.size :] = 0
    padded[..., radius : radius + width] = stack
    if radius <= width:
        padded[..., :radius] = stack[..., :radius][..., ::-1]
        padded[..., radius + width :] = stack[..., ::-1][..., :radius]
    else:  # reflected more than once
        left = reflect_index(np.arange(-radius, 0), width)
        right = reflect_index(np.arange(width, width + radius), width)
        padded[..., :radius] = stack[..., left]
        padded[..., radius + width :] = stack[..., right]
    return _flat_window_sum(flat, size).reshape(shape)[..., :width]


def box_mean_valid_rows(stack: np.ndarray, radius: int) -> np.ndarray:
    """Box means of an H x K x W stack (rows outermost, K planes, W columns): 'valid'
    along rows (H - 2 * radius rows out), border reflected along columns."""
    sums = _column_sums(_row_sums(stack, 2 * radius + 1), radius)
    sums *= sums.dtype.type(1.0 / (2 * radius + 1) ** 2)
    return sums


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


def map_row_strips(
    func: Callable[..., np.ndarray],
    inputs: list[np.ndarray],
    halo: int,
    out: np.ndarray,
    *,
    planes: int | None = None,
    with_rows: bool = False,
) -> np.ndarray:
    """Fill `out` (H x W x ...) strip by strip with ``func(*strips)``.

    Each strip of `inputs` (arrays H x W x ...) covers output rows [y0, y1)
    plus `halo` rows above and below, reflected at the image border; `func`
    must return the y1 - y0 central rows. With `with_rows`, `func` also gets
    ``rows=slice(y0, y1)``. `planes` (default: the largest input's plane
    count) sizes the strips.
    """
    height, width = inputs[0].shape[:2]  # (`out` may be H x planes x W)
    if planes is None:
        planes = max(int(np.prod(a.shape[2:])) for a in inputs)
    row_bytes = width * planes * out.itemsize
    rows = max(_MIN_STRIP_ROWS, _STRIP_BYTES // max(row_bytes, 1), _HALO_MULTIPLE * halo)
    starts = range(0, height, rows)

    def run(y0: int) -> None:
        y1 = min(height, y0 + rows)
        index = np.arange(y0 - halo, y1 + halo)
        if y0 - halo < 0 or y1 + halo > height:
            index = reflect_index(index, height)
            strips = [a[index] for a in inputs]
        else:
            strips = [a[y0 - halo : y1 + halo] for a in inputs]
        if with_rows:
            out[y0:y1] = func(*strips, rows=slice(y0, y1))
        else:
            out[y0:y1] = func(*strips)

    workers = min(worker_count(), len(starts))
    if workers <= 1:
        for y0 in starts:
            run(y0)
    else:
        with ThreadPoolExecutor(workers) as pool:
            for _ in pool.map(run, starts):
                pass
    return out
