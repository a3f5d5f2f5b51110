"""Range-weighted means over a square window, shared by the Photoshop-style blurs.

Both :func:`~skinsmooth_core.filters.surface_blur` and
:func:`~skinsmooth_core.filters.smart_blur` compute, for every pixel ``x`` and
each channel separately,

    out = sum_i w(|x_i - x|) * x_i / sum_i w(|x_i - x|)

over the ``(2 r + 1)**2`` square window around it, with a range weight ``w``
that is symmetric in the two pixels. The sum is evaluated exactly (brute force,
no quantisation), written as ``x + sum_i w_i (x_i - x) / sum_i w_i`` so that
each pair of pixels is visited once for both of them:

* the image is cut into tiles of about 50 000 values (with a ``radius`` halo)
  so that the working arrays stay in the CPU cache;
* inside a flattened tile a window offset ``(dy, dx)`` is a 1-D shift, so every
  operation runs on contiguous 1-D slices (shifts that wrap around a row only
  pair up halo pixels, whose results are discarded);
* the weight ``w`` of the pair ``(p, p + o)`` is computed once and added to both
  pixels, halving the work;
* tiles are spread over a thread pool (numpy releases the GIL in its loops).

Borders are handled by reflection without repeating the edge pixel (numpy's
``mode="reflect"``, OpenCV's ``BORDER_REFLECT_101``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Values per tile (halo included): small enough for the working arrays to stay in L2.
_TILE_VALUES = 1 << 16

Weight = Callable[[np.ndarray, np.ndarray], None]
"""``weight(abs_diff, out)`` writes ``w(|d|)`` into `out` (which may alias `abs_diff`)."""


def window_mean(image: np.ndarray, radius: int, weight: Weight, *, unit: float = 1.0) -> np.ndarray:
    """Range-weighted mean of a float H x W x C image over a square window.

    `weight` receives differences divided by `unit`; it must satisfy ``w(0) = 1``,
    be symmetric and non-negative. Returns an array of the same shape and dtype as
    `image`, clipped to each channel's range (the exact result is a convex
    combination, so this only removes round-off). Where all other weights are 0
    the pixel is returned bit for bit.
    """
    if radius == 0:
        return image.copy()
    height, width, channels = image.shape
    padded = np.pad(image, ((radius, radius), (radius, radius), (0, 0)), mode="reflect")
    out = np.empty_like(image)

    halo_rows = 2 * radius
    # at least as wide as the halo, so that large radii do not drown in halo work
    tile_rows = max(16, halo_rows, int(np.sqrt(_TILE_VALUES / channels)) - halo_rows)
    tile_cols = max(16, halo_rows, _TILE_VALUES // (channels * (tile_rows + halo_rows)) - halo_rows)
    tiles = [
        (y, min(y + tile_rows, height), x, min(x + tile_cols, width))
        for y in range(0, height, tile_rows)
        for x in range(0, width, tile_cols)
    ]
    max_values = (tile_rows + halo_rows) * (tile_cols + halo_rows) * channels

    def run(my_tiles):
        scratch = (np.empty(max_values, image.dtype), np.empty(max_values, image.dtype))
        for tile in my_tiles:
            _tile_mean(padded, out, tile, radius, weight, unit, scratch)

    workers = min(os.cpu_count() or 1, len(tiles))
    if workers == 1:
        run(tiles)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, [tiles[i::workers] for i in range(workers)]))

    low = image.min(axis=(0, 1))
    high = image.max(axis=(0, 1))
    return np.clip(out, low, high, out=out)


def _tile_mean(padded, out, tile, radius, weight, unit, scratch):
    """Fill ``out[y0:y1, x0:x1]`` from the tile of `padded` with its halo."""
    y0, y1, x0, x1 = tile
    block = padded[y0 : y1 + 2 * radius, x0 : x1 + 2 * radius]
    rows, cols, channels = block.shape
    values = np.multiply(block, block.dtype.type(1.0 / unit)).reshape(-1)  # contiguous copy
    size = values.size
    weight_sum = np.ones(size, block.dtype)  # the centre pixel, w(0) = 1
    weighted_diff = np.zeros(size, block.dtype)
    diff_buf, weight_buf = scratch

    for dy in range(radius + 1):
        for dx in range(-radius, radius + 1):
            if dy == 0 and dx <= 0:
                continue  # each unordered pair once: offsets after (0, 0) in raster order
            shift = (dy * cols + dx) * channels
            n = size - shift
            if n <= 0:
                continue
            first, second = slice(0, n), slice(shift, size)
            diff = np.subtract(values[second], values[first], out=diff_buf[:n])
            w = np.abs(diff, out=weight_buf[:n])
            weight(w, w)
            weight_sum[first] += w
            weight_sum[second] += w
            np.multiply(w, diff, out=w)
            weighted_diff[first] += w
            weighted_diff[second] -= w

    inner = (slice(radius, rows - radius), slice(radius, cols - radius))
    shape = block.shape
    correction = weighted_diff.reshape(shape)[inner] / weight_sum.reshape(shape)[inner]
    if unit != 1.0:
        correction *= block.dtype.type(unit)
    out[y0:y1, x0:x1] = block[inner] + correction
