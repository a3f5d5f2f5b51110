"""Integer-factor area downsampling and bilinear upsampling.

The pipeline smooths at a reduced "working" resolution and only blends at full
resolution. These helpers move between the two without full-resolution float
temporaries: downsampling accumulates strided row and column phases, and
upsampling produces one strip of rows at a time (for
:func:`skinsmooth_core._parallel.for_strips`), so memory stays at a few strips.
"""

from __future__ import annotations

import numpy as np

from ._parallel import for_bands


def _accumulator(dtype: np.dtype, factor: int) -> np.dtype:
    """A dtype that sums `factor` values of `dtype` exactly and fast."""
    if dtype == np.uint8 and factor <= 257:
        return np.dtype(np.uint16)
    if dtype.kind == "u":
        return np.dtype(np.uint32) if factor <= 65537 else np.dtype(np.float64)
    return np.dtype(np.float64 if dtype == np.float64 else np.float32)


def _phase_sum(array: np.ndarray, factor: int, axis: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Sum blocks of `factor` along `axis` (a partial last block sums what exists), and counts."""
    size = array.shape[axis]
    blocks = -(-size // factor)
    shape = list(array.shape)
    shape[axis] = blocks
    total = np.zeros(shape, dtype)
    for phase in range(min(factor, size)):
        part = array[(slice(None),) * axis + (slice(phase, None, factor),)]
        total[(slice(None),) * axis + (slice(0, part.shape[axis]),)] += part
    counts = np.minimum(factor, size - np.arange(blocks) * factor)
    return total, counts


def area_downsample(image: np.ndarray, factor: int, scale: float) -> np.ndarray:
    """Average `factor` x `factor` blocks of an H x W x C image, times `scale`, as float32.

    The output is ceil(H / factor) x ceil(W / factor); the last row and column
    of blocks average only the pixels that exist.
    """
    if factor == 1:
        out = image.astype(np.float32)
        out *= np.float32(scale)
        return out
    height, width = image.shape[:2]
    out = np.empty((-(-height // factor), -(-width // factor)) + image.shape[2:], np.float32)

    def work(start, stop):  # output rows start:stop, from whole blocks of input rows
        part = image[start * factor : stop * factor]
        rows, row_counts = _phase_sum(part, factor, 0, _accumulator(image.dtype, factor))
        block, col_counts = _phase_sum(rows, factor, 1, np.float32)
        block *= (np.float32(scale) / row_counts.astype(np.float32))[:, None, None]
        block /= col_counts.astype(np.float32)[None, :, None]
        out[start:stop] = block

    for_bands(work, len(out))
    return out


class BilinearUpsampler:
    """Bilinear upsampling of small H' x W' x K arrays to H x W, one strip of rows at a time.

    Sample ``i`` of the small grid sits at the centre of block ``i``
    (full-resolution coordinate ``(i + 0.5) * factor - 0.5``), matching
    :func:`area_downsample`; the border is replicated. Along rows the output
    is ``repeat(left) + repeat(right - left) * weights``, shifted so each
    block of `factor` output columns shares its left neighbour: contiguous
    work, no gather at full resolution.
    """

    def __init__(self, shape: tuple[int, int], small_shape: tuple[int, int], factor: int):
        self.factor = factor
        self.width = shape[1]
        self.small_width = small_shape[1]
        coord = (np.arange(shape[0]) + 0.5) / factor - 0.5
        coord = np.clip(coord, 0.0, small_shape[0] - 1)
        self.low = np.floor(coord).astype(np.intp)
        self.high = np.minimum(self.low + 1, small_shape[0] - 1)
        self.weight = (coord - self.low).astype(np.float32)[:, None, None]
        # Output column x has left neighbour (x + shift) // factor - 1 in the small grid.
        self.shift = (factor + 1) // 2
        phase = (np.arange(factor) + 0.5 - self.shift) / factor + 0.5
        self.column_weight = np.tile(phase.astype(np.float32), self.small_width + 1)[None, :, None]

    def strip(self, small: np.ndarray, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of the upsampled `small`, as float32.

        `small` is H' x W' x K; the result is (stop - start) x width x K.
        """
        if self.factor == 1:
            return small[start:stop].astype(np.float32, copy=True)
        rows = small[self.low[start:stop]].astype(np.float32, copy=True)
        rows += (small[self.high[start:stop]] - rows) * self.weight[start:stop]
        padded = np.concatenate([rows[:, :1], rows, rows[:, -1:]], axis=1)
        # Blocks of the repeated row that cover output columns 0 .. width - 1.
        block_first = self.shift // self.factor
        block_last = (self.width - 1 + self.shift) // self.factor + 1
        left = padded[:, block_first:block_last]
        step = padded[:, block_first + 1 : block_last + 1] - left
        out = np.repeat(left, self.factor, axis=1)
        increment = np.repeat(step, self.factor, axis=1)
        increment *= self.column_weight[:, : increment.shape[1]]
        out += increment
        offset = self.shift - block_first * self.factor
        return out[:, offset : offset + self.width]
