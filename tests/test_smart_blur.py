"""smart_blur against a plain brute-force reference and scikit-image's rank filter."""

import numpy as np
import pytest
from blur_checks import (
    as_unit,
    blur_bound,
    brute_force_window_mean,
    colour_of,
    kernel_input,
)
from bounds import U32, U64, gamma, range_weighted_mean, uniform_filter
from conftest import DTYPES, as_dtype, with_channels
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage
from skimage.filters import rank

from skinsmooth_core.filters import smart_blur

pytestmark = pytest.mark.numerical

# smart_blur counts differences up to its threshold plus this (its documented tolerance)
TOLERANCE = 1e-6
# The kernel's pixels are within gamma(2) (float32) of k / 255 (to_float, or as_dtype's one
# rounding), so a difference it forms is within 2 gamma(2) + u of (k_i - k) / 255; with the
# limit's own rounding (u) that stays below the tolerance, and the next level is 1 / 255
# away: the kernel counts exactly the pixels within the threshold's 8-bit levels.
LEVEL_SLACK = 2 * gamma(2, U32) + 2 * U32
assert LEVEL_SLACK < TOLERANCE < 1 / 255 - TOLERANCE - LEVEL_SLACK


def reference_smart_blur(values, levels_image, radius, levels):
    """Photoshop Smart Blur: the mean of `values` over the neighbours whose 8-bit level in
    `levels_image` is within `levels` of the centre's (decided on exact integers)."""
    return brute_force_window_mean(
        values,
        radius,
        lambda diff: (np.abs(diff) <= levels).astype(np.float64),
        guide=colour_of(levels_image),
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_matches_brute_force(astronaut_small, dtype, channels):
    base = with_channels(astronaut_small, channels)
    image = as_dtype(base, dtype)
    out = smart_blur(image, radius=4, threshold=25 / 255)
    assert out.shape == image.shape and out.dtype == image.dtype

    # the reference decides "within 25 levels" on the exact 8-bit levels (as the kernel does,
    # see LEVEL_SLACK) and averages the pixels the kernel gets: only arithmetic differs
    expected = reference_smart_blur(kernel_input(image), base, 4, 25)
    bound = blur_bound(dtype, 4, 25 / 255 + TOLERANCE, tent=False)
    np.testing.assert_allclose(as_unit(out), expected, rtol=0, atol=bound)
    if channels == 4:
        np.testing.assert_array_equal(out[..., 3], image[..., 3])


@pytest.mark.parametrize("levels", [5, 25, 60])
def test_matches_skimage_mean_bilateral(astronaut_small, levels):
    """skimage's interval is open and its mean rounds down; compare away from the border."""
    grey = astronaut_small[:, :, 1].copy()
    radius = 3
    ours = smart_blur(grey.astype(np.float64) / 255, radius, threshold=levels / 255) * 255
    theirs = rank.mean_bilateral(
        grey, np.ones((2 * radius + 1,) * 2, bool), s0=levels + 1, s1=levels + 1
    )
    inner = (slice(radius, -radius), slice(radius, -radius))
    # ours: the float64 mean (off by range_weighted_mean) of pixels k / 255 (each rounded once)
    # times 255 (rounded once more): within `slack` levels of the exact mean, which is an
    # integer or at least 1 / 49 below the next one (a mean of at most 49 integers), so
    # floor(ours + slack) is the exact mean's floor, skimage's integer result
    taps = (2 * radius + 1) ** 2
    slack = 255 * (range_weighted_mean(taps, U64, levels / 255 + TOLERANCE) + 2 * U64)
    assert 2 * slack < 1 / taps
    np.testing.assert_array_equal(np.floor(ours[inner] + slack), theirs[inner])


def test_threshold_is_inclusive_on_uint8_levels():
    image = np.array([[100, 125, 126]], np.uint8)  # 25 and 26 levels from the first pixel
    out = smart_blur(image, radius=1, threshold=25 / 255)
    # window of pixel 0 (mirror): 125, 100, 125 (x3 rows); 126 is not in it
    assert out[0, 0] == round((100 + 2 * 125) / 3)
    assert out[0, 2] == round((126 + 2 * 125) / 3)  # 125 counts, 100 is 26 away


def test_many_tiles_and_large_radius(astronaut):
    image = astronaut[:180, :160]  # 2 x 2 tiles of 137 x 138 pixels
    expected = reference_smart_blur(kernel_input(image), image, 7, 30)
    np.testing.assert_allclose(
        as_unit(smart_blur(image, 7, 30 / 255)),
        expected,
        rtol=0,
        atol=blur_bound(np.uint8, 7, 30 / 255 + TOLERANCE, tent=False),
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_long_rows_and_many_strips_match_reference(astronaut, dtype):
    """Rows of several value blocks (903 values, not a multiple of a block), several strips."""
    base = astronaut[:150, 100:401]
    image = (base / 255).astype(dtype)
    expected = reference_smart_blur(image, base, 5, 25)
    out = smart_blur(image, radius=5, threshold=25 / 255)
    bound = blur_bound(dtype, 5, 25 / 255 + TOLERANCE, tent=False)
    np.testing.assert_allclose(out, expected, rtol=0, atol=bound)


@settings(max_examples=20, deadline=None)
@given(
    image=arrays(
        np.float64, st.tuples(st.integers(1, 10), st.integers(1, 10)), elements=st.floats(0, 1)
    ),
    radius=st.integers(1, 3),
)
def test_threshold_below_every_difference_returns_input(image, radius):
    diffs = np.abs(np.subtract.outer(image.ravel(), image.ravel()))
    positive = diffs[diffs > 0]
    smallest = positive.min() if positive.size else 1.0
    if smallest <= 1e-5:  # differences within the documented 1e-6 tolerance would count
        image = np.round(image * 255) / 255
        smallest = 1 / 255
    np.testing.assert_array_equal(smart_blur(image, radius, threshold=smallest / 4), image)


def test_huge_threshold_is_box_mean(astronaut_small):
    image = astronaut_small / 255.0
    expected = ndimage.uniform_filter(image, size=(9, 9, 1), mode="mirror")  # = numpy "reflect"
    # every weight is exactly 1 (differences <= 1 < 2): the kernel's float64 arithmetic
    # (differences up to 1) and scipy's running means
    bound = range_weighted_mean(81, U64, 1.0) + uniform_filter(9, image.shape[:2])
    np.testing.assert_allclose(smart_blur(image, 4, threshold=2.0), expected, rtol=0, atol=bound)
