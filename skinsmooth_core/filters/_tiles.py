"""Tiles with a halo of neighbours, for filters that need a window around every pixel.

:func:`map_tiles` fills an output tile by tile on the package's thread pool;
each tile of the inputs carries `halo` pixels of neighbours on every side,
reflected at the image border (:func:`~._borders.reflect`). :func:`planar`
and :func:`interleaved` switch a tile between H x W x K (pixels of K values)
and H x K x W (whole rows of each plane, for loops that vectorise along x).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._parallel import run_parallel
from ._borders import reflect_range

# a tile of one plane is about this many bytes
_TILE_BYTES = 1 << 17
_MIN_TILE_ROWS = 16
# tiles are at least this many times the halo high, so that halo rows (computed twice)
# stay a small share
_HALO_MULTIPLE = 8


def planar(tile: np.ndarray) -> np.ndarray:
    """H x W x K tile -> contiguous H x K x W stack (whole rows of each plane)."""
    return np.ascontiguousarray(tile.transpose(0, 2, 1))


def interleaved(stack: np.ndarray) -> np.ndarray:
    """H x K x W stack -> H x W x K view (the inverse of :func:`planar`, without copying)."""
    return stack.transpose(0, 2, 1)


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
    rows = max(_MIN_TILE_ROWS, _HALO_MULTIPLE * halo * height_factor)
    columns = max(_MIN_TILE_ROWS, _TILE_BYTES // max(rows * planes * out.itemsize, 1))
    starts = [(y0, x0) for y0 in range(0, height, rows) for x0 in range(0, width, columns)]

    def run(start: tuple[int, int]) -> None:
        y0, x0 = start
        y1, x1 = min(height, y0 + rows), min(width, x0 + columns)
        if y0 < halo or y1 + halo > height or x0 < halo or x1 + halo > width:
            row_index = reflect_range(y0 - halo, y1 + halo, height)[:, None]
            column_index = reflect_range(x0 - halo, x1 + halo, width)
            tiles = [a[row_index, column_index] for a in inputs]
        else:
            tiles = [a[y0 - halo : y1 + halo, x0 - halo : x1 + halo] for a in inputs]
        out[y0:y1, x0:x1] = func(*tiles)

    run_parallel(run, starts)
    return out
