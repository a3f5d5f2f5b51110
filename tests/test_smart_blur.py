"""smart_blur against a plain brute-force reference and scikit-image's rank filter."""

import numpy as np
import pytest
from blur_checks import (
    ATOL,
    BAD_IMAGES,
    BAD_PARAMETERS,
    SCALE,
    SMALL_IMAGES,
    brute_force_window_mean,
    colour_of,
    with_channels,
)
from conftest import DTYPES, as_dtype
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage
from skimage.filters import rank

from skinsmooth_core.filters import smart_blur


def reference_smart_blur_levels(image, radius, levels):
    """Photoshop Smart Blur on integer levels: mean of neighbours with |x_i - x| <= levels."""
    return brute_force_window_mean(
        image, radius, lambda diff: (np.abs(diff) <= levels).astype(np.float64)
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_matches_brute_force(astronaut_small, dtype, channels):
    base = with_channels(astronaut_small, channels)
    image = as_dtype(base, dtype)
    out = smart_blur(image, radius=4, threshold=25 / 255)
    assert out.shape == image.shape and out.dtype == image.dtype

    # the reference decides "within 25 levels" on the exact 8-bit levels
    expected = reference_smart_blur_levels(colour_of(base), 4, 25) / 255 * SCALE[dtype]
    np.testing.assert_allclose(colour_of(out), expected, rtol=0, atol=ATOL[dtype])
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
    np.testing.assert_array_equal(np.floor(ours[inner] + 1e-9), theirs[inner])


def test_threshold_is_inclusive_on_uint8_levels():
    image = np.array([[100, 125, 126]], np.uint8)  # 25 and 26 levels from the first pixel
    out = smart_blur(image, radius=1, threshold=25 / 255)
    # window of pixel 0 (reflect): 125, 100, 125 (x3 rows); 126 is not in it
    assert out[0, 0] == round((100 + 2 * 125) / 3)
    assert out[0, 2] == round((126 + 2 * 125) / 3)  # 125 counts, 100 is 26 away


def test_smooths_skin_and_keeps_edges(astronaut):
    image = astronaut.astype(np.float32) / 255
    out = smart_blur(image, radius=5, threshold=25 / 255)
    skin = (slice(110, 150), slice(220, 260))

    def roughness(patch):
        return np.abs(np.diff(patch, axis=1)).mean()

    assert roughness(out[skin]) < 0.8 * roughness(image[skin])
    edge_in = np.abs(np.diff(image[:, :, 1], axis=1)).max()
    edge_out = np.abs(np.diff(out[:, :, 1], axis=1)).max()
    assert edge_out > 0.7 * edge_in


def test_radius_zero_is_identity(astronaut_small):
    np.testing.assert_array_equal(smart_blur(astronaut_small, radius=0), astronaut_small)


def test_many_tiles_and_large_radius(astronaut):
    image = astronaut[:180, :160]  # 2 x 2 tiles of 137 x 138 pixels
    expected = reference_smart_blur_levels(image, 7, 30)
    np.testing.assert_allclose(smart_blur(image, 7, 30 / 255), expected, atol=0.501)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_long_rows_and_many_strips_match_reference(astronaut, dtype):
    """Rows of several value blocks (903 values, not a multiple of a block), several strips."""
    base = astronaut[:150, 100:401]
    expected = reference_smart_blur_levels(base, 5, 25) / 255
    out = smart_blur((base / 255).astype(dtype), radius=5, threshold=25 / 255)
    np.testing.assert_allclose(out, expected, rtol=0, atol=ATOL[dtype])


@settings(max_examples=40, deadline=None)
@given(image=SMALL_IMAGES, radius=st.integers(0, 4), threshold=st.floats(1e-3, 2.0))
def test_shape_dtype_and_range_kept(image, radius, threshold):
    out = smart_blur(image, radius=radius, threshold=threshold)
    assert out.shape == image.shape and out.dtype == image.dtype
    assert colour_of(out).min() >= colour_of(image).min()
    assert colour_of(out).max() <= colour_of(image).max()
    if image.ndim == 3 and image.shape[2] == 4:
        np.testing.assert_array_equal(out[..., 3], image[..., 3])


@settings(max_examples=20, deadline=None)
@given(
    value=st.floats(0, 1),
    shape=st.tuples(st.integers(1, 10), st.integers(1, 10), st.sampled_from([1, 3])),
    radius=st.integers(0, 4),
    threshold=st.floats(1e-3, 10.0),
)
def test_constant_stays_constant(value, shape, radius, threshold):
    image = np.full(shape, value, np.float32)
    np.testing.assert_array_equal(smart_blur(image, radius, threshold), image)


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
    np.testing.assert_allclose(smart_blur(image, 4, threshold=2.0), expected, atol=1e-12)


@pytest.mark.parametrize(("kwargs", "message"), BAD_PARAMETERS)
def test_bad_parameters(astronaut_small, kwargs, message):
    with pytest.raises(ValueError, match=message):
        smart_blur(astronaut_small, **kwargs)


@pytest.mark.parametrize("image", BAD_IMAGES)
def test_bad_images(image):
    with pytest.raises(ValueError, match="image"):
        smart_blur(image)
