"""The layers stage's helpers (pipeline/layers.py) against brute-force float64 references."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skinsmooth_core.pipeline.layers import extend_skin

pytestmark = pytest.mark.numerical

EPS32 = float(np.finfo(np.float32).eps)


def _box_mean(values, size):
    """Mean over size x size windows, the borders replicated (scipy's mode "nearest")."""
    reach = size // 2
    padded = np.pad(
        values.astype(np.float64),
        [(reach, size - 1 - reach)] * 2 + [(0, 0)] * (values.ndim - 2),
        mode="edge",
    )
    height, width = values.shape[:2]
    total = np.zeros(values.shape, np.float64)
    for dy in range(size):
        for dx in range(size):
            total += padded[dy : dy + height, dx : dx + width]
    return total / size**2


def _extend_reference(small, skin, size):
    sure = np.clip((skin.astype(np.float64) - 0.5) / 0.3, 0.0, 1.0)
    weight = _box_mean(sure, size)
    fill = _box_mean(small * sure[:, :, None], size) / np.maximum(weight, 1e-3)[:, :, None]
    replaced = (1.0 - sure) * (weight > 1e-3)
    return small + (fill - small) * replaced[:, :, None], weight


@settings(max_examples=40, deadline=None)
@given(
    height=st.integers(1, 24),
    width=st.integers(1, 24),
    channels=st.sampled_from([1, 3]),
    size=st.integers(1, 11),
    seed=st.integers(0, 2**31),
)
def test_extend_skin_is_the_normalised_box_mean_of_sure_skin(height, width, channels, size, seed):
    rng = np.random.default_rng(seed)
    small = rng.random((height, width, channels)).astype(np.float32)
    # a mask with sure skin, none and values between
    skin = rng.choice([0.0, 0.3, 0.6, 0.7, 0.9, 1.0], (height, width)).astype(np.float32)
    got = extend_skin(small, skin, size)
    expected, weight = _extend_reference(small, skin, size)
    assert got.shape == small.shape and got.dtype == np.float32
    # float32 sums of size**2 terms, divided by the weight (>= 1e-3 where it replaces)
    bound = 4 * EPS32 * size**2 * (1.0 + 1.0 / np.maximum(weight, 1e-3))[:, :, None]
    assert np.all(np.abs(got - expected) <= bound + 1e-6)


def test_extend_skin_keeps_sure_skin_and_far_pixels_and_fills_near_ones():
    small = np.zeros((20, 30, 3), np.float32)
    small[:, :10] = (0.8, 0.6, 0.5)  # skin
    small[:, 10:] = (0.1, 0.2, 0.9)  # background
    skin = np.zeros((20, 30), np.float32)
    skin[:, :10] = 1.0
    out = extend_skin(small, skin, 5)
    np.testing.assert_array_equal(out[:, :10], small[:, :10])  # sure skin: its own colour
    # near: the skin's colour (float32 box sums of 25 terms, divided by their weight 0.4)
    np.testing.assert_allclose(
        out[:, 10:12], np.broadcast_to(small[0, 0], (20, 2, 3)), atol=4 * EPS32 * 25 / 0.4
    )
    np.testing.assert_array_equal(out[:, 13:], small[:, 13:])  # no skin within reach: kept
