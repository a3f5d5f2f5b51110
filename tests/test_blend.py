"""The full-resolution blend (pipeline/blend.py) against its formula in float64.

The blend upsamples small working-size planes bilinearly and applies them to the photo in
one compiled pass. The reference upsamples the same float32 planes in float64 (the formula
of ``BilinearUpsampler``) and applies them in float64.
"""

import numpy as np
import pytest
from bounds import U32, bilinear_upsample

from skinsmooth_core._image import max_value
from skinsmooth_core._resample import area_downsample
from skinsmooth_core.pipeline.blend import blend, opacity

pytestmark = pytest.mark.numerical

SHAPE = (37, 53)


def _upsample(small, shape, factor):
    """Bilinear upsampling in float64, samples at block centres, borders replicated."""
    height, width = shape
    small = small.astype(np.float64)
    cy = np.clip((np.arange(height) + 0.5) / factor - 0.5, 0, small.shape[0] - 1)
    cx = np.clip((np.arange(width) + 0.5) / factor - 0.5, 0, small.shape[1] - 1)
    y0, x0 = np.floor(cy).astype(int), np.floor(cx).astype(int)
    y1 = np.minimum(y0 + 1, small.shape[0] - 1)
    x1 = np.minimum(x0 + 1, small.shape[1] - 1)
    wy, wx = (cy - y0)[:, None, None], (cx - x0)[None, :, None]
    top = small[y0][:, x0] * (1 - wx) + small[y0][:, x1] * wx
    bottom = small[y1][:, x0] * (1 - wx) + small[y1][:, x1] * wx
    return top * (1 - wy) + bottom * wy


def _islands(shape):
    """True in a few separate rectangles (at the borders, in a corner, two side by side):
    rows without skin and runs of skin with gaps between them."""
    height, width = shape
    inside = np.zeros(shape, bool)
    inside[: height // 4, width // 8 : width // 4] = True
    inside[height // 3 : height // 2, width // 2 : width // 2 + 2] = True
    inside[height // 3 : height // 2, 3 * width // 4 :] = True
    inside[-2:, :3] = True
    return inside


def _case(dtype, channels, factor, full, tone, layout="half", seed=0):
    rng = np.random.default_rng(seed)
    top = max_value(np.dtype(dtype))
    colour = rng.random(SHAPE + (channels,)) * top
    colour = colour.astype(dtype) if top == 1.0 else np.rint(colour).astype(dtype)
    small_shape = (-(-SHAPE[0] // factor), -(-SHAPE[1] // factor))
    uniform = lambda *extra: rng.random(small_shape + extra).astype(np.float32)  # noqa: E731
    layer, keep, heal = uniform(channels) - 0.2, uniform(), uniform() * (uniform() < 0.3)
    shift = (uniform(channels) - 0.5) * np.float32(0.1) if tone else None
    strength = 0.6
    if full:
        full_mask = rng.random(SHAPE).astype(np.float32)
        if layout == "half":
            full_mask[:, : SHAPE[1] // 2] = 0.0  # a half without skin: copied
        else:
            full_mask[~_islands(SHAPE)] = 0.0
        skin = area_downsample(full_mask[:, :, None], factor, 1.0)[:, :, 0]
        small_mask = None
    else:
        skin = uniform()
        if layout == "half":
            skin[:, : small_shape[1] // 2] = 0.0
        else:
            skin[~_islands(small_shape)] = 0.0
        small_mask = skin * opacity(strength, heal)
        full_mask = None
    args = (colour, layer, keep, heal, shift, skin, small_mask, full_mask, strength, factor, top)
    return args


def _reference(
    colour, layer, keep, heal, shift, skin, small_mask, full_mask, strength, factor, top
):
    """``x w + A`` in float64 from the float32 working-size planes (see blend's docstring)."""
    up = lambda plane: _upsample(np.atleast_3d(plane), SHAPE, factor)  # noqa: E731
    x = colour.astype(np.float64)
    offset = 0.5 if top != 1.0 else 0.0
    if full_mask is None:
        planes_a = layer * (small_mask * np.float32(top))[:, :, None] + np.float32(offset)
        if shift is not None:
            planes_a += shift * (skin * np.float32(top))[:, :, None]
        weight = up((1.0 - small_mask * (1.0 - keep)).astype(np.float32))
        out = x * weight + up(planes_a.astype(np.float32))
    else:
        mask = full_mask[:, :, None].astype(np.float64)
        alpha = mask * up(opacity(strength, heal).astype(np.float32))
        out = x * (1.0 - alpha * up((1.0 - keep).astype(np.float32)))
        out += alpha * up((layer * np.float32(top)).astype(np.float32)) + offset
        if shift is not None:
            out += mask * up((shift * np.float32(top)).astype(np.float32))
    low, high = (0.0, top) if top != 1.0 else (min(0.0, x.min()), max(1.0, x.max()))
    return np.clip(out, low, high)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("factor", [1, 3, 5])
@pytest.mark.parametrize("full, tone", [(False, False), (False, True), (True, False), (True, True)])
@pytest.mark.parametrize("layout", ["half", "islands"])
def test_blend_is_its_formula(dtype, channels, factor, full, tone, layout):
    args = _case(dtype, channels, factor, full, tone, layout)
    out = blend(*args)
    reference = _reference(*args)
    top = args[-1]
    # Four upsampled planes (each off by at most bilinear_upsample of its magnitude, at most
    # the top of the range with the tone's shift and the offset), combined by at most 16
    # float32 roundings of values up to the top (products, sums, weights).
    bound = top * (4 * bilinear_upsample(1.2, max(SHAPE)) + 16 * U32)
    if top == 1.0:
        np.testing.assert_allclose(out, reference, rtol=0, atol=bound)
    else:
        # integers: truncated after + 0.5 (rounding); off by one only next to a boundary
        floor = np.floor(reference)
        near = np.minimum(reference - floor, floor + 1 - reference) <= bound
        assert np.abs(out.astype(np.int64) - floor).max() <= 1
        np.testing.assert_array_equal(out[~near], floor[~near].astype(out.dtype))
    # no skin in the working-size blocks a pixel is interpolated from: the photo, bit for bit
    copied = _upsample((args[5] > 0).astype(np.float32)[:, :, None], SHAPE, factor)[:, :, 0] == 0
    assert copied.mean() > 0.3
    np.testing.assert_array_equal(out[copied], args[0][copied])
