"""Scale stage: how large the effect is, from the size of the skin.

A skin region of ``REFERENCE_SKIN_SIZE``^2 pixels (about the face and neck of a 512 x 512
head-and-shoulders portrait) is scale 1; the other stages give their sizes at scale 1 and
multiply them by the scale. The work runs on a "working" copy of about ``WORKING_PIXELS``
pixels, no coarser than the texture band allows.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi

from .._resample import area_downsample

__all__ = ["auto_scale", "largest_skin_area", "finest_factor"]

REFERENCE_SKIN_SIZE = 128.0
WORKING_PIXELS = 0.5e6  # smoothing runs at about this many pixels; finer detail is texture
TEXTURE_SIGMA = 1.0  # detail finer than this is texture (pores) and is put back


def auto_scale(skin_area: float, height: int, width: int) -> float:
    """The ``scale`` that ``scale="auto"`` picks for a skin area in an image of height x width.

    ``sqrt(skin_area) / 128``, with the skin size bounded to 1/16 .. 0.8 of
    the frame side (an empty mask, or a frame full of skin-coloured pixels).
    `skin_area` is in pixels: the pipeline passes :func:`largest_skin_area`
    of its mask. Useful to smooth with a mask of one's own at the scale the
    pipeline would choose.

    Examples
    --------
    >>> auto_scale(256 * 256, 1024, 1024)
    2.0
    """
    side = math.sqrt(height * width)
    size = min(max(math.sqrt(max(skin_area, 0.0)), side / 16.0), 0.8 * side)
    return size / REFERENCE_SKIN_SIZE


def largest_skin_area(mask: np.ndarray) -> float:
    """Area in pixels of the largest connected skin region of a soft mask in [0, 1].

    Regions are the 8-connected parts of ``mask > 0.5``; the result is the
    mask's total (soft) area times the largest region's share of those pixels,
    so one face gives its whole area and four equal faces a quarter of it:
    the size of one person, not of the group. Masks over ~0.5 MP are
    labelled on a block-averaged copy (the share barely moves).

    Examples
    --------
    >>> mask = np.zeros((100, 100))
    >>> mask[10:30, 10:30] = mask[60:80, 60:80] = 1.0
    >>> largest_skin_area(mask)
    400.0
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (H x W), got shape {mask.shape}")
    total = float(mask.sum(dtype=np.float64))
    factor = math.ceil(math.sqrt(mask.size / WORKING_PIXELS))
    if factor > 1:
        mask = area_downsample(mask[:, :, None], factor, 1.0)[:, :, 0]
    labels, count = ndi.label(mask > 0.5, structure=np.ones((3, 3), bool))
    if count <= 1:
        return total
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    return total * float(sizes.max()) / float(sizes.sum())


def finest_factor(scale: float) -> int:
    """The coarsest working grid that still resolves the texture band (sigma >= 0.5 px)."""
    return max(1, int(2.0 * TEXTURE_SIGMA * scale))
