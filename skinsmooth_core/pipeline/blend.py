"""Blend stage: the retouched working layer over the full-resolution photo, strip by strip."""

from __future__ import annotations

import numpy as np

from .._parallel import for_strips
from .._resample import BilinearUpsampler

__all__ = ["opacity", "blend"]


def opacity(strength, heal):
    """The blend's opacity where the skin mask is 1: `strength`, raised to 1 inside spots."""
    return np.float32(strength) + np.float32(1.0 - strength) * heal


def blend(
    colour, layer, keep, heal, shift, skin, small_mask, full_mask, strength, factor, max_value
):
    """Blend at full resolution, strip by strip.

    With x the original, m the mask times strength, k the fraction of
    sub-grid detail kept and S the retouched working image, the result is
    ``x + m (up(S) + k (x - up(D)) - x)``, computed as ``x w + up(A)`` with
    ``w = 1 - m (1 - k)`` and ``A = m (S - k D)`` prepared at working size
    (and ``+ 0.5`` for integers, which are then truncated: rounding). Where
    m = 0 this is exactly x, and rows and columns whose working-size `skin`
    blocks are all 0 are copied without arithmetic.
    """
    height, width, channels = colour.shape
    work_dtype = np.float64 if colour.dtype == np.float64 else np.float32
    out = np.empty_like(colour)
    small_shape = layer.shape[:2]
    upsampler = BilinearUpsampler((height, width), small_shape, factor)
    offset = np.float32(0.5 if max_value != 1.0 else 0.0)
    if full_mask is None:
        # planes: A (C channels), w
        planes = np.empty(small_shape + (channels + 1,), np.float32)
        planes[:, :, :channels] = layer
        planes[:, :, channels] = 1.0 - small_mask * (1.0 - keep)
        planes[:, :, :channels] *= (small_mask * np.float32(max_value))[:, :, None]
        planes[:, :, :channels] += offset
        if shift is not None:  # the tone's colour shift, at the mask's own opacity
            planes[:, :, :channels] += shift * (skin * np.float32(max_value))[:, :, None]
    else:
        # planes: S - k D (C channels), 1 - k, opacity, the tone's shift (C channels, or none);
        # the mask is applied at full resolution
        extra = 0 if shift is None else channels
        planes = np.empty(small_shape + (channels + 2 + extra,), np.float32)
        planes[:, :, :channels] = layer * np.float32(max_value)
        planes[:, :, channels] = 1.0 - keep
        planes[:, :, channels + 1] = opacity(strength, heal)
        if shift is not None:
            planes[:, :, channels + 2 :] = shift * np.float32(max_value)
    active = skin > 0  # working-size blocks with any skin: the rest is copied
    # Integers are clipped to their range; floats to [0, 1] or the photo's own wider range,
    # as edge-preserving filters can overshoot a little next to a strong step.
    if max_value != 1.0:
        low, high = 0.0, max_value
    else:
        low, high = min(0.0, float(colour.min())), max(1.0, float(colour.max()))

    def work(start, stop):
        spans = np.flatnonzero(active[upsampler.rows(start, stop)].any(axis=0))
        if spans.size == 0:
            out[start:stop] = colour[start:stop]
            return
        first, last = upsampler.columns(spans[0], spans[-1] + 1)
        out[start:stop, :first] = colour[start:stop, :first]
        out[start:stop, last:] = colour[start:stop, last:]
        x = colour[start:stop, first:last]
        upsampled = upsampler.strip(planes, start, stop, (first, last))
        weight, detail = upsampled[:, :, channels : channels + 1], upsampled[:, :, :channels]
        if full_mask is not None:
            mask = full_mask[start:stop, first:last, None]
            alpha = mask * upsampled[:, :, channels + 1 : channels + 2]
            weight *= -alpha
            weight += 1.0
            detail *= alpha
            detail += offset
            if shift is not None:
                detail += mask * upsampled[:, :, channels + 2 :]
        x = np.multiply(x, weight, dtype=work_dtype)
        x += detail
        np.clip(x, low, high, out=x)
        out[start:stop, first:last] = x

    for_strips(work, height, 4 * width)  # about 4 bytes of each plane per pixel
    return out
