"""surface_blur against a plain brute-force reference on real pixels."""

import numpy as np
import pytest
from blur_checks import (
    as_unit,
    blur_bound,
    brute_force_window_mean,
    kernel_input,
)
from bounds import U64, perturbed_weights, range_weighted_mean, tent_weight, uniform_filter
from conftest import DTYPES, as_dtype, with_channels
from scipy import ndimage

from skinsmooth_core.filters import surface_blur

pytestmark = pytest.mark.numerical


def reference_surface_blur(image, radius, threshold):
    """Photoshop Surface Blur: weights max(0, 1 - |x_i - x| / (2.5 threshold))."""
    return brute_force_window_mean(
        image, radius, lambda diff: np.maximum(0.0, 1.0 - np.abs(diff) / (2.5 * threshold))
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_matches_brute_force(astronaut_small, dtype, channels):
    image = as_dtype(with_channels(astronaut_small, channels), dtype)
    out = surface_blur(image, radius=4, threshold=15 / 255)
    assert out.shape == image.shape and out.dtype == image.dtype

    # on the pixels the kernel gets (integers: float32 k / max), so only arithmetic differs
    expected = reference_surface_blur(kernel_input(image), 4, 15 / 255)
    bound = blur_bound(dtype, 4, 2.5 * 15 / 255, tent=True)
    np.testing.assert_allclose(as_unit(out), expected, rtol=0, atol=bound)
    if channels == 4:
        np.testing.assert_array_equal(out[..., 3], image[..., 3])


def test_radius_larger_than_image(astronaut_small):
    small = astronaut_small[:5, :7] / 255.0
    # a radius past the larger side acts as that side less one (6 here)
    np.testing.assert_allclose(
        surface_blur(small, radius=9, threshold=0.2),
        reference_surface_blur(small, 6, 0.2),
        rtol=0,
        atol=blur_bound(np.float64, 6, 2.5 * 0.2, tent=True),
    )


def test_many_tiles_match_reference(astronaut):
    """An image larger than one tile: tile seams must not show."""
    image = astronaut[:300, :260, 1] / 255.0
    np.testing.assert_allclose(
        surface_blur(image, radius=2, threshold=0.1),
        reference_surface_blur(image[:, :, None], 2, 0.1)[:, :, 0],
        rtol=0,
        atol=blur_bound(np.float64, 2, 2.5 * 0.1, tent=True),
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_long_rows_and_many_strips_match_reference(astronaut, dtype):
    """Rows of several value blocks (903 values, not a multiple of a block), several strips."""
    image = (astronaut[:150, 100:401] / 255).astype(dtype)
    np.testing.assert_allclose(
        surface_blur(image, radius=5, threshold=15 / 255),
        reference_surface_blur(image, 5, 15 / 255),
        rtol=0,
        atol=blur_bound(dtype, 5, 2.5 * 15 / 255, tent=True),
    )


@pytest.mark.parametrize(("dtype", "threshold"), [(np.float32, 1e-40), (np.float64, 1e-310)])
def test_threshold_below_float_resolution_returns_input(astronaut_small, dtype, threshold):
    image = (astronaut_small / 255).astype(dtype)  # 1 / threshold overflows the dtype
    np.testing.assert_array_equal(surface_blur(image, radius=2, threshold=threshold), image)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tiny_threshold_returns_input(astronaut_small, dtype):
    image = as_dtype(astronaut_small, dtype)  # neighbours differ by >= 1/255 or not at all
    np.testing.assert_array_equal(surface_blur(image, radius=3, threshold=1e-4), image)


def test_huge_threshold_is_box_mean(astronaut_small):
    image = astronaut_small / 255.0
    expected = ndimage.uniform_filter(image, size=(7, 7, 1), mode="mirror")  # = numpy "reflect"
    # the tent's weights 1 - |x_i - x| / 2.5e6 fall short of the box's 1 by at most 1 / 2.5e6:
    # the mean of the 49 box weights moves by perturbed_weights; plus the kernel's float64
    # arithmetic (differences up to 1) and scipy's running means
    width = 2.5 * 1e6
    bound = (
        perturbed_weights(1.0, 48, 1 / width, 49.0)
        + range_weighted_mean(49, U64, 1.0, tent_weight(U64))
        + uniform_filter(7, image.shape[:2])
    )
    np.testing.assert_allclose(surface_blur(image, 3, threshold=1e6), expected, rtol=0, atol=bound)
