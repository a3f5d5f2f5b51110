"""The learned skin mask: a small UNet run with LiteRT (placeholder, predictor follows)."""

from __future__ import annotations

import numpy as np
from PIL import Image


def letterbox(rgb: np.ndarray, size: int):
    """Fit an H x W x 3 uint8 image into `size` x `size`, keeping its aspect, padding with 0.

    Returns the canvas and the box ``(top, left, height, width)`` the photo occupies.
    """
    height, width = rgb.shape[:2]
    scale = size / max(height, width)
    new_h = min(size, max(1, round(height * scale)))
    new_w = min(size, max(1, round(width * scale)))
    resized = np.asarray(Image.fromarray(rgb).resize((new_w, new_h), Image.BILINEAR))
    top, left = (size - new_h) // 2, (size - new_w) // 2
    canvas = np.zeros((size, size, 3), np.uint8)
    canvas[top : top + new_h, left : left + new_w] = resized
    return canvas, (top, left, new_h, new_w)
