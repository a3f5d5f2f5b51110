"""Box (moving-average) filters shared by the filters of this package.

All work on H x W x K stacks (any number K of planes at once) with the
border reflected like OpenCV's ``BORDER_REFLECT`` (``dcba|abcd``), which is
scipy.ndimage's ``mode="reflect"``. The running sums are accumulated in
float64 inside scipy.ndimage, so they neither drift nor stripe on large
images, unlike float32 integral images.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def box_mean(stack: np.ndarray, radius: int) -> np.ndarray:
    """Mean over the (2 * radius + 1)^2 window of every plane of an H x W x K stack."""
    if radius == 0:
        return stack.copy()
    size = 2 * radius + 1
    return ndi.uniform_filter(stack, size=(size, size, 1), mode="reflect")
