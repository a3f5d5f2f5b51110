"""Edge-aware refinement of a soft skin mask computed at a reduced size.

A mask from colour statistics (or any coarse mask) is noisy at pixel level and
does not follow the image's edges. The guided filter with the image luma as
guide turns it into a locally linear function of the image: smooth inside the
skin, snapped to the jaw line, hairline and collar at its border. Computed on
the reduced image and applied to the full-size guide (the fast guided filter's
upsampling), it stays cheap on large photos and has no blocks.
"""

from __future__ import annotations

import math

import numpy as np

from .._resample import BilinearUpsampler
from ..filters import guided_filter

# Refinement radius as a fraction of the skin region's size (sqrt of its area): 4 px for a
# face-and-neck of 128 x 128 px.
RADIUS_FRACTION = 1.0 / 32.0
EPS = 1e-4  # guided-filter regularisation on the [0, 1] luma scale: snaps to edges above ~0.01


def refinement_radius(mask: np.ndarray) -> int:
    """Refinement radius in pixels of `mask`, from the skin area it covers."""
    area = float(mask.sum(dtype=np.float64))
    return max(1, round(RADIUS_FRACTION * math.sqrt(area)))


def refine_mask(mask: np.ndarray, guide: np.ndarray, factor: int, radius: int) -> np.ndarray:
    """Refine a mask computed at 1/`factor` of `guide`'s size and bring it to that size.

    Parameters
    ----------
    mask : ndarray, float32 (h, w)
        Soft mask of the image reduced by `factor` (block averages, sizes rounded up).
    guide : ndarray, float (H, W)
        Full-size guide (the image luma) on the [0, 1] scale.
    factor : int
        Reduction of `mask` relative to `guide`, >= 1.
    radius : int
        Guided-filter radius in pixels of `mask`.

    Returns
    -------
    ndarray of float32, shape (H, W), values in [0, 1]
    """
    height, width = guide.shape
    if factor > 1:
        upsampler = BilinearUpsampler((height, width), mask.shape, factor)
        mask = upsampler.strip(mask[:, :, None], 0, height)[:, :, 0]
    subsample = factor * (2 if radius >= 4 else 1)
    refined = guided_filter(
        mask, guide=guide, radius=radius * factor, eps=EPS, subsample=subsample
    ).astype(np.float32, copy=False)
    return np.clip(refined, 0.0, 1.0, out=refined)
