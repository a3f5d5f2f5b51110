"""Border modes of the compiled kernels: where an index outside [0, size) reads.

Named after scipy.ndimage's modes, for an image ``abcd``:

* :func:`reflect`: ``dcba|abcd|dcba``, the edge pixel repeated (scipy ``"reflect"``,
  OpenCV ``BORDER_REFLECT``);
* :func:`mirror`: ``dcb|abcd|cba``, the edge pixel not repeated (scipy ``"mirror"``,
  numpy's ``np.pad(mode="reflect")``, OpenCV ``BORDER_REFLECT_101``);
* :func:`nearest`: ``aaa|abcd|ddd``, the edge pixel replicated (scipy ``"nearest"``).

Each maps one integer index (any distance past the border) and is compiled, for
use inside kernels; :func:`reflect_range` is :func:`reflect` over a range.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit


@jit
def reflect(index, size):
    """`index` mapped into [0, size) by ``dcba|abcd|dcba`` (scipy's ``"reflect"``)."""
    period = 2 * size
    index %= period
    return index if index < size else period - 1 - index


@jit
def mirror(index, size):
    """`index` mapped into [0, size) by ``dcb|abcd|cba`` (scipy's ``"mirror"``)."""
    if size == 1:
        return 0
    period = 2 * (size - 1)
    index %= period
    return period - index if index >= size else index


@jit
def nearest(index, size):
    """`index` clamped into [0, size) (``aaa|abcd|ddd``, scipy's ``"nearest"``)."""
    return min(max(index, 0), size - 1)


@jit
def reflect_range(start, stop, size):
    """The indices ``start .. stop - 1`` mapped by :func:`reflect`, as an array."""
    out = np.empty(max(stop - start, 0), np.intp)
    for i in range(out.size):
        out[i] = reflect(start + i, size)
    return out
