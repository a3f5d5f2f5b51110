"""Blend stage: the retouched working layer over the full-resolution photo, band by band."""

from __future__ import annotations

import numpy as np

from .._parallel import for_bands
from ..filters._guided_kernels import bilinear_taps
from ..filters._jit import jit

__all__ = ["opacity", "blend"]


def opacity(strength, heal):
    """The blend's opacity where the skin mask is 1: `strength`, raised to 1 inside spots."""
    return np.float32(strength) + np.float32(1.0 - strength) * heal


def blend(
    colour, layer, keep, heal, shift, skin, small_mask, full_mask, strength, factor, max_value
):
    """Blend at full resolution, band by band.

    With x the original, m the mask times strength, k the fraction of
    sub-grid detail kept and S the retouched working image, the result is
    ``x + m (up(S) + k (x - up(D)) - x)``, computed as ``x w + up(A)`` with
    ``w = 1 - m (1 - k)`` and ``A = m (S - k D)`` prepared at working size
    (and ``+ 0.5`` for integers, which are then truncated: rounding). Where
    m = 0 this is exactly x, and pixels whose working-size `skin` neighbours are
    all 0 are copied without arithmetic.
    """
    height, width, channels = colour.shape
    out = np.empty_like(colour)
    float64 = colour.dtype == np.float64  # computed in float64, else float32
    small_shape = layer.shape[:2]
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

    def band(start, stop):
        out[start:stop] = colour[start:stop]  # pixels without skin nearby stay as they are
        _blend_rows(out, planes, mask, active, taps, start, stop, offset, low, high)

    for_bands(
        band,
        height,
        per_worker=8,  # the skin often fills a few of the rows: many bands balance the work
    )
    return out


@jit
def _blend_rows(out, planes, mask, active, taps, start, stop, offset, low, high):
    """Rows ``start:stop`` of :func:`blend`: where a pixel's small neighbours are
    `active`, `planes` upsampled bilinearly (`taps`: :func:`bilinear_taps` of the rows
    and columns, a small row at a time) and applied to the photo in `out`, in place. An
    empty `mask`: planes A and w; else the caller's full-size mask with planes S - k D,
    1 - k, opacity (and the shift)."""
    count = planes.shape[2]
    small_width = planes.shape[1]
    width, channels = out.shape[1:]
    full = mask.shape[0] > 0
    shifted = full and count == 2 * channels + 2
    (row_low, row_high, row_weight), (column_low, column_high, column_weight) = taps
    row = np.empty((small_width, count), np.float32)
    on = np.empty(small_width, np.bool_)  # small columns active above or below this row
    for y in range(start, stop):
        top, bottom, down = row_low[y], row_high[y], np.float32(row_weight[y])
        for j in range(small_width):
            on[j] = active[top, j] or active[bottom, j]
        j = 0
        x = 0  # pixels of this row before x are done
        while j < small_width:
            if not on[j]:
                j += 1
                continue
            first = j  # a run of active small columns: first .. j - 1
            while j < small_width and on[j]:
                j += 1
            # its pixels: those with a tap in the run (and those beside them, harmlessly)
            while x < width and column_high[x] < first:
                x += 1
            begin = end = x
            while end < width and column_low[end] < j:
                end += 1
            if end <= begin:
                continue
            for k in range(column_low[begin], column_high[end - 1] + 1):
                for p in range(count):
                    upper = planes[top, k, p]
                    row[k, p] = upper + (planes[bottom, k, p] - upper) * down
            for x in range(begin, end):
                left, right = column_low[x], column_high[x]
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
                            add += mask[y, x] * (
                                more + (row[right, channels + 2 + c] - more) * across
                            )
                    out[y, x, c] = min(max(out[y, x, c] * weight + add, low), high)
            x = end
