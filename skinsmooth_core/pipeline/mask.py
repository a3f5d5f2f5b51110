"""Mask stage: the skin mask a retouch uses (a source name, or the caller's array)."""

from __future__ import annotations

import numpy as np

from .scale import largest_skin_area

__all__ = ["MASK_SOURCES", "check_mask", "working_mask"]

MASK_SOURCES = ("auto", "unet", "color", "none")


def check_mask(mask, shape):
    """Validate `mask`: a source name, or an H x W array turned into float32 in [0, 1]."""
    if isinstance(mask, str):
        if mask not in MASK_SOURCES:
            raise ValueError(
                f"mask must be one of {', '.join(map(repr, MASK_SOURCES))} or an H x W array, "
                f"got {mask!r}"
            )
        return mask
    if not isinstance(mask, np.ndarray):
        raise ValueError(
            f"mask must be one of {', '.join(map(repr, MASK_SOURCES))} or an H x W numpy array, "
            f"got {type(mask).__name__}"
        )
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[:, :, 0]
    if mask.shape != tuple(shape):
        raise ValueError(f"mask has shape {mask.shape}; it must be H x W = {tuple(shape)}")
    if mask.dtype == np.bool_:
        return mask.astype(np.float32)
    if mask.dtype == np.uint8:
        return mask.astype(np.float32) * np.float32(1 / 255)
    if mask.dtype.kind != "f":
        raise ValueError(
            f"mask has dtype {mask.dtype}; accepted are bool, uint8 (0..255) or float in [0, 1]"
        )
    if not np.isfinite(mask).all() or mask.min() < 0 or mask.max() > 1:
        raise ValueError("a float mask must hold finite values in [0, 1]")
    return mask.astype(np.float32)


def working_mask(small, source, factor):
    """Skin mask of the working image (refined edge-aware by skin_mask) and the full-size
    area of its largest region."""
    from ..masks import skin_mask

    mask = skin_mask(small, source)
    return mask, largest_skin_area(mask) * factor**2
