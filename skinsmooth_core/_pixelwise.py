"""Per-pixel maps shared by the skin masks and the pipeline's stages: luma and a ramp."""

from __future__ import annotations

import numpy as np

LUMA_WEIGHTS = (0.299, 0.587, 0.114)
"""Rec. 601 luma weights of R, G and B."""

CB_SCALE, CR_SCALE = 0.564, 0.713
"""Rec. 601 chroma: Cb = CB_SCALE (B - Y), Cr = CR_SCALE (R - Y), about neutral."""


def luma(image: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of an H x W x C (C = 1 or 3) float image, as H x W."""
    if image.shape[2] == 1:
        return image[:, :, 0]
    return image @ np.array(LUMA_WEIGHTS, dtype=image.dtype)


def ramp(values, low, high, *, out=None) -> np.ndarray:
    """0 at or below `low`, 1 at or above `high`, linear in between, as float32.

    `out` (float32, the shape of `values`; may be `values` itself) receives the
    result; by default a new array does.
    """
    out = np.subtract(values, np.float32(low), out=out, dtype=np.float32)
    out *= np.float32(1.0 / (high - low))
    return np.clip(out, 0.0, 1.0, out=out)
