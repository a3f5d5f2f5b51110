"""Compiled helpers for sliding-window sums over rows (numba, ``nogil``).

Row-streaming kernels keep per-column sums of the window's rows in float64,
adding the row that enters and subtracting the one that leaves, then slide
along each row the same way: every window sum costs a few additions whatever
the radius, and float64 keeps the running sums from drifting (a float32
running sum over a 12 MP image would stripe). Borders: :func:`~._borders.reflect`.
"""

from __future__ import annotations

import numpy as np

from ._borders import reflect
from ._jit import jit


@jit
def window_row(columns, radius, out):
    """out[x, k] = sum of columns[reflect(x + j), k] for |j| <= radius (W x K arrays)."""
    width, count = columns.shape
    acc = np.zeros(count)
    for j in range(-radius, radius + 1):
        jj = reflect(j, width)
        for k in range(count):
            acc[k] += columns[jj, k]
    inner_start = min(radius, width)
    inner_stop = max(inner_start, width - radius - 1)
    for x in range(inner_start):
        enter, leave = reflect(x + radius + 1, width), reflect(x - radius, width)
        for k in range(count):
            out[x, k] = acc[k]
            acc[k] += columns[enter, k] - columns[leave, k]
    for x in range(inner_start, inner_stop):  # no reflection: plain offsets
        for k in range(count):
            out[x, k] = acc[k]
            acc[k] += columns[x + radius + 1, k] - columns[x - radius, k]
    for x in range(inner_stop, width):
        enter, leave = reflect(x + radius + 1, width), reflect(x - radius, width)
        for k in range(count):
            out[x, k] = acc[k]
            acc[k] += columns[enter, k] - columns[leave, k]
