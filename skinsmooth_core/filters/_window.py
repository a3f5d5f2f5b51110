"""Range-weighted means over a square window, shared by the Photoshop-style blurs.

Both :func:`~skinsmooth_core.filters.surface_blur` and
:func:`~skinsmooth_core.filters.smart_blur` compute, for every pixel ``x`` and
each channel separately,

    out = sum_i w(|x_i - x|) * x_i / sum_i w(|x_i - x|)

over the ``(2 r + 1)**2`` square window around it, with a range weight ``w``
that has ``w(0) = 1``. The sum is evaluated exactly (brute force, no
quantisation), written as ``x + sum_i w_i (x_i - x) / sum_i w_i`` so that a
pixel whose neighbours all get weight 0 is returned bit for bit. A compiled
kernel (numba) streams over the rows:

* each horizontal strip of rows is copied once into a buffer with its borders
  mirrored, so that a window offset ``(dy, dx)`` is a fixed shift in the
  flattened buffer and every inner loop runs over contiguous values (all
  channels of a row at once, vectorised by the compiler);
* a row is processed in blocks of a few hundred values whose two running sums
  stay in the L1 cache, and each pass over a block adds four window offsets,
  so the sums are loaded and stored once per four neighbours (the
  ``4 r (r + 1)`` offsets other than the centre are always a multiple of four);
* strips run on the filters' thread pool (the kernel releases the GIL).

Borders: :func:`~._borders.mirror` (``dcb|abcd|cba``: scipy.ndimage's
``mode="mirror"``, OpenCV's ``BORDER_REFLECT_101``).
"""

from __future__ import annotations

import numpy as np

from .._parallel import for_strips
from ._borders import mirror
from ._jit import jit

# Values of a row summed together: their two running sums stay in the L1 cache.
_BLOCK = 512
# Strips of rows are at least this high, so that their halo rows stay a small share.
_MIN_STRIP_ROWS = 16
# Window offsets added per pass over a block, as written out in _add_offsets
# (the 4 r (r + 1) offsets other than the centre are a multiple of it).
_GROUP = 4

RANGE_KERNELS = ("tent", "step")
"""``"tent"``: ``w = max(0, 1 - |d| / width)``; ``"step"``: ``w = 1 if |d| <= width else 0``."""


def window_mean(image: np.ndarray, radius: int, kernel: str, width: float) -> np.ndarray:
    """Range-weighted mean of a float H x W x C image over a square window.

    `kernel` is one of :data:`RANGE_KERNELS` and `width` (> 0) its size on the
    intensity scale of `image`. Returns an array of the same shape and dtype as
    `image` (float32 or float64, computed in that precision), clipped to each
    channel's range (the exact result is a convex combination, so this only
    removes round-off). Where all other weights are 0 the pixel is returned bit
    for bit.
    """
    if kernel not in RANGE_KERNELS:
        raise ValueError(f"kernel must be one of {RANGE_KERNELS}, got {kernel!r}")
    if radius == 0:
        return image.copy()
    image = np.ascontiguousarray(image)
    dtype = image.dtype.type
    if kernel == "tent":
        # the weight uses |d| * (1 / width); a huge factor saturates to weight 0 either way
        parameter = dtype(min(1.0 / width, float(np.finfo(dtype).max)))
    else:
        parameter = dtype(width)
    low, high = _channel_range(image)
    out = np.empty_like(image)
    height, columns, channels = image.shape
    row_bytes = (columns + 2 * radius) * channels * image.itemsize

    def strip(start: int, stop: int) -> None:
        _window_rows(image, out, start, stop, radius, kernel == "tent", parameter, low, high)

    for_strips(strip, height, row_bytes, min_rows=_MIN_STRIP_ROWS)
    return out


@jit
def _channel_range(image):
    """Per-channel minimum and maximum of an H x W x C array."""
    channels = image.shape[2]
    values = image.reshape(image.size // channels, channels)
    low = values[0].copy()
    high = values[0].copy()
    for i in range(values.shape[0]):
        for c in range(channels):
            low[c] = min(low[c], values[i, c])
            high[c] = max(high[c], values[i, c])
    return low, high


@jit
def _mirrored_strip(image, y0, y1, radius):
    """Rows [y0 - radius, y1 + radius) of `image` with `radius` columns on each side,
    mirrored at the borders, as a 2-D array of rows (W + 2 radius) x C values long."""
    height, width, channels = image.shape
    rows = y1 - y0 + 2 * radius
    padded = np.empty((rows, (width + 2 * radius) * channels), image.dtype)
    left = radius * channels
    right = (radius + width) * channels
    for i in range(rows):
        source = image[mirror(y0 - radius + i, height)].reshape(width * channels)
        target = padded[i]
        target[left:right] = source
        for x in range(radius):
            inside_left = mirror(x - radius, width) * channels
            inside_right = mirror(width + x, width) * channels
            for c in range(channels):
                target[x * channels + c] = source[inside_left + c]
                target[right + x * channels + c] = source[inside_right + c]
    return padded


@jit
def _add_offsets(values, starts, centre, count, tent, parameter, weighted_diff, weight_sum):
    """Add to the sums of the `count` values from `centre` on the four neighbours
    ``values[starts[k] + j]`` (k = 0..3) of each ``values[centre + j]``."""
    one = values.dtype.type(1)
    zero = values.dtype.type(0)
    x = values[centre : centre + count]
    a = values[starts[0] : starts[0] + count]
    b = values[starts[1] : starts[1] + count]
    c = values[starts[2] : starts[2] + count]
    d = values[starts[3] : starts[3] + count]
    for j in range(count):
        da = a[j] - x[j]
        db = b[j] - x[j]
        dc = c[j] - x[j]
        dd = d[j] - x[j]
        if tent:
            wa = max(one - abs(da) * parameter, zero)
            wb = max(one - abs(db) * parameter, zero)
            wc = max(one - abs(dc) * parameter, zero)
            wd = max(one - abs(dd) * parameter, zero)
        else:
            wa = one if abs(da) <= parameter else zero
            wb = one if abs(db) <= parameter else zero
            wc = one if abs(dc) <= parameter else zero
            wd = one if abs(dd) <= parameter else zero
        weight_sum[j] += (wa + wb) + (wc + wd)
        weighted_diff[j] += (wa * da + wb * db) + (wc * dc + wd * dd)


@jit
def _window_rows(image, out, y0, y1, radius, tent, parameter, low, high):
    """Fill rows [y0, y1) of `out` with the range-weighted window means of `image`."""
    width, channels = image.shape[1], image.shape[2]
    padded = _mirrored_strip(image, y0, y1, radius)
    stride = padded.shape[1]
    values = padded.reshape(padded.size)
    # flat shifts of the window offsets other than the centre, in groups of _GROUP
    shifts = np.empty((((2 * radius + 1) ** 2 - 1) // _GROUP, _GROUP), np.int64)
    k = 0
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dy != 0 or dx != 0:
                shifts[k // _GROUP, k % _GROUP] = dy * stride + dx * channels
                k += 1
    starts = np.empty(_GROUP, np.int64)
    weighted_diff = np.empty(_BLOCK, image.dtype)
    weight_sum = np.empty(_BLOCK, image.dtype)
    row_values = width * channels
    for i in range(y1 - y0):
        target = out[y0 + i].reshape(row_values)
        for block in range(0, row_values, _BLOCK):
            count = min(_BLOCK, row_values - block)
            centre = (i + radius) * stride + radius * channels + block
            weighted_diff[:count] = 0
            weight_sum[:count] = 1  # the centre pixel: w(0) = 1
            for group in range(shifts.shape[0]):
                for m in range(_GROUP):
                    starts[m] = centre + shifts[group, m]
                _add_offsets(
                    values, starts, centre, count, tent, parameter, weighted_diff, weight_sum
                )
            for j in range(count):
                target[block + j] = values[centre + j] + weighted_diff[j] / weight_sum[j]
        for x in range(width):
            for c in range(channels):
                value = target[x * channels + c]
                target[x * channels + c] = min(max(value, low[c]), high[c])
