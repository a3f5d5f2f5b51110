"""Helpers of the pipeline's stages: a fast Gaussian-like blur, bounding boxes."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi


def bounding_box(where: np.ndarray, margin: int):
    """Row and column slices around the True pixels of `where`, `margin` pixels wider (within
    the image); None when there are none."""
    rows, columns = np.flatnonzero(where.any(axis=1)), np.flatnonzero(where.any(axis=0))
    if rows.size == 0:
        return None
    return (
        slice(max(0, rows[0] - margin), rows[-1] + margin + 1),
        slice(max(0, columns[0] - margin), columns[-1] + margin + 1),
    )


def box_gaussian(values: np.ndarray, sigma: float) -> np.ndarray:
    """Three box filters per axis approximating a Gaussian of `sigma` (H x W or H x W x C).

    Each box of width w has variance (w^2 - 1) / 12, so three of width
    ``round(sqrt(4 sigma^2 + 1))`` give about sigma^2; the cost is a few additions per pixel
    whatever `sigma` (``ndi.gaussian_filter`` costs 8 sigma per pixel). Borders: nearest.
    """
    width = max(1, round(math.sqrt(4.0 * sigma * sigma + 1.0)))
    if width == 1:
        return np.array(values, dtype=np.float32, copy=True)
    size = (width, width) + (1,) * (values.ndim - 2)
    out = ndi.uniform_filter(values, size, mode="nearest", output=np.float32)
    for _ in range(2):
        ndi.uniform_filter(out, size, mode="nearest", output=out)
    return out
