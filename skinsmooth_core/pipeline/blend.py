"""Blend stage: the retouched working layer over the full-resolution photo, strip by strip."""

from __future__ import annotations

import numpy as np

from .._parallel import for_strips
from .._resample import BilinearUpsampler
from ..filters._guided_kernels import bilinear_taps
from ..filters._jit import jit

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
    out = np.empty_like(colour)
    float64 = colour.dtype == np.float64  # computed in float64, else float32
    small_shape = layer.shape[:2]
    upsampler = BilinearUpsampler((height, width), small_shape, factor)
    offset = np.float32(0.5 if max_value != 1.0 else 0.0)
    if full_mask is None:
        # planes: A (C channels), w; A is built whole first (strided writes cost twice)
        planes = np.empty(small_shape + (channels + 1,), np.float32)
        add = layer * (small_mask * np.float32(max_value))[:, :, None]
        add += offset
        if shift is not None:  # the tone's colour shift, at the mask's own opacity
            add += shift * (skin * np.float32(max_value))[:, :, None]
        planes[:, :, :channels] = add
        planes[:, :, channels] = 1.0 - small_mask * (1.0 - keep)
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
    mask = np.zeros((0, 0), np.float32) if full_mask is None else full_mask
    # each row's and column's two small neighbours and weight
    taps = (
        bilinear_taps(height, factor, small_shape[0]),
        bilinear_taps(width, factor, small_shape[1]),
    )
    low, high = (
        (np.float64(low), np.float64(high)) if float64 else (np.float32(low), np.float32(high))
    )

    def work(start, stop):
        spans = np.flatnonzero(active[upsampler.rows(start, stop)].any(axis=0))
        if spans.size == 0:
            out[start:stop] = colour[start:stop]
            return
        first, last = upsampler.columns(spans[0], spans[-1] + 1)
        out[start:stop, :first] = colour[start:stop, :first]
        out[start:stop, last:] = colour[start:stop, last:]
        _blend_rows(colour, out, planes, mask, taps, start, stop, first, last, offset, low, high)

    for_strips(work, height, 4 * width)  # about 4 bytes of each plane per pixel
    return out


@jit
def _blend_rows(colour, out, planes, mask, taps, start, stop, first, last, offset, low, high):
    """Rows ``start:stop``, columns ``first:last`` of :func:`blend`: `planes` upsampled
    bilinearly (`taps`: :func:`bilinear_taps` of the rows and columns, a small row at a time) and
    applied to `colour`, written to `out`. An empty `mask`: planes A and w; else the
    caller's full-size mask with planes S - k D, 1 - k, opacity (and the shift)."""
    count = planes.shape[2]
    channels = colour.shape[2]
    full = mask.shape[0] > 0
    shifted = full and count == 2 * channels + 2
    (row_low, row_high, row_weight), (column_low, column_high, column_weight) = taps
    base = column_low[first]  # the first small column the span reads
    row = np.empty((column_high[last - 1] + 1 - base, count), np.float32)
    for y in range(start, stop):
        top, bottom, down = row_low[y], row_high[y], np.float32(row_weight[y])
        for j in range(row.shape[0]):
            for p in range(count):
                upper = planes[top, base + j, p]
                row[j, p] = upper + (planes[bottom, base + j, p] - upper) * down
        for x in range(first, last):
            left, right = column_low[x] - base, column_high[x] - base
            across = np.float32(column_weight[x])
            if full:
                alpha = row[left, channels + 1]
                alpha = mask[y, x] * (alpha + (row[right, channels + 1] - alpha) * across)
                detail = row[left, channels]
                weight = np.float32(1.0) - alpha * (
                    detail + (row[right, channels] - detail) * across
                )
            else:
                weight = row[left, channels]
                weight += (row[right, channels] - weight) * across
            for c in range(channels):
                add = row[left, c]
                add += (row[right, c] - add) * across
                if full:
                    add = alpha * add + offset
                    if shifted:
                        more = row[left, channels + 2 + c]
                        add += mask[y, x] * (more + (row[right, channels + 2 + c] - more) * across)
                out[y, x, c] = min(max(colour[y, x, c] * weight + add, low), high)
