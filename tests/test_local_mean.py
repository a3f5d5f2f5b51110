"""Lee local-statistics filter: against a float64 brute-force reference, drift, properties."""

import numpy as np
import pytest
from bounds import (
    U32,
    U64,
    float_store,
    half_level,
    input_rounding,
    lee,
    lee_brute_force,
    lee_fit,
    lee_range,
    levels,
    moments_variance,
    output,
    uniform_filter,
)
from conftest import DTYPES, as_dtype, image_arrays, image_shapes, with_channels
from hypothesis import given, settings
from hypothesis import strategies as st

from skinsmooth_core._image import to_float
from skinsmooth_core.filters import local_mean_filter

pytestmark = pytest.mark.numerical


def _noise_rounding(dtype):
    """Relative error of the noise sigma^2 the kernel gets (src dtype's sigma * sigma) against
    the reference's sigma**2: float32 work rounds it (u), plus the float64 products (2 u)."""
    return (U32 if np.dtype(dtype) != np.float64 else 0.0) + 2 * U64


def _brute_force_lee(image, radius, sigma):
    """Explicit windows (sliding_window_view) in float64, reflected border."""
    image = image.reshape(*image.shape[:2], -1).astype(np.float64)
    padded = np.pad(image, ((radius, radius), (radius, radius), (0, 0)), mode="symmetric")
    side = 2 * radius + 1
    windows = np.lib.stride_tricks.sliding_window_view(padded, (side, side), axis=(0, 1))
    mean = windows.mean(axis=(-2, -1))
    var = windows.var(axis=(-2, -1))
    gain = var / (var + sigma**2)
    return mean + gain * (image - mean)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("radius, sigma", [(2, 0.02), (5, 0.05), (9, 0.2)])
def test_matches_brute_force(astronaut_small, dtype, channels, radius, sigma):
    image = as_dtype(with_channels(astronaut_small[:40, :56], channels), dtype)
    original = image.copy()
    out = local_mean_filter(image, radius=radius, sigma=sigma)
    np.testing.assert_array_equal(image, original)  # input untouched
    assert out.shape == image.shape and out.dtype == image.dtype
    colour = image[..., :3] if channels == 4 else image
    expected = _brute_force_lee(to_float(colour), radius, sigma).reshape(colour.shape)
    got = to_float(out[..., :3] if channels == 4 else out)
    # float64 sliding sums and fit (lee) plus the brute force's own float64 error, stored in
    # the dtype (output: float32 u, integers half a level) and read back (input_rounding)
    pixels = to_float(colour)
    spread = float(pixels.max() - pixels.min())
    side, noise = 2 * radius + 1, sigma**2
    error = lee(side, image.shape, noise, _noise_rounding(dtype), 1.0, spread)
    error += lee_brute_force(side, noise, 1.0, spread)
    bound = output(dtype, error) + input_rounding(dtype)
    np.testing.assert_allclose(got, expected, rtol=0, atol=bound)
    if channels == 4:
        np.testing.assert_array_equal(out[..., 3], image[..., 3])


def test_smooths_flat_noise_keeps_edges():
    rng = np.random.default_rng(1)
    step = np.where(np.arange(80) < 40, 0.3, 0.7)[None, :].repeat(80, axis=0)
    noisy = (step + rng.normal(0, 0.01, step.shape)).astype(np.float32)
    out = local_mean_filter(noisy, radius=4, sigma=0.05)
    assert np.std(out[:, :30]) < 0.4 * np.std(noisy[:, :30])
    # across the edge the variance dominates sigma: the step survives sharply
    assert out[:, 41].mean() - out[:, 38].mean() > 0.38


def _uniform_lee(image, radius, sigma):
    """The Lee filter from scipy's float64 uniform_filter (reflected border, as ours)."""
    from scipy.ndimage import uniform_filter as box

    x = image.astype(np.float64)
    size = 2 * radius + 1
    mean = box(x, size, mode="reflect")
    var = np.maximum(box(x * x, size, mode="reflect") - mean * mean, 0.0)
    return mean + var / (var + sigma**2) * (x - mean)


@pytest.mark.parametrize("dtype", [np.float32, np.uint16])
def test_no_drift_or_stripes_on_large_images(dtype):
    """Constant and ramp images of 800 x 1600: float32 integral images drift by
    ~1e-4 here and stripe between rows; per-window sums stay exact."""
    height, width, radius, sigma = 800, 1600, 7, 0.05
    side = 2 * radius + 1
    constant = np.full((height, width), 0.7, np.float32)
    ramp = np.add.outer(np.linspace(0.1, 0.4, height), np.linspace(0, 0.5, width))
    for image in (constant, ramp.astype(np.float32)):
        if dtype == np.uint16:
            image = np.rint(image * 65535).astype(np.uint16)
        out = local_mean_filter(image, radius=radius, sigma=sigma)
        pixels = to_float(image).astype(np.float64)
        got = to_float(out).astype(np.float64)
        # our float64 result against the exact filter of the same pixels (lee)
        ours = lee(side, image.shape, sigma**2, _noise_rounding(dtype))
        # a linear ramp is its own window mean inside, so there out = x exactly; the pixels
        # are the ramp rounded (float32: u of values <= 0.9, the float64 ramp a few u64;
        # uint16: half a level, and to_float's float32), which moves the window mean from
        # the centre by at most twice that, and out - x = (1 - k) (mean - x)
        if dtype == np.float32:
            moved = 2 * (0.9 * U32 + 4 * U64)
            tolerance = output(dtype, moved + ours)
        else:
            moved = 2 * (half_level(dtype) + input_rounding(dtype) + 4 * U64)
            # whole levels, each read back by to_float (input_rounding)
            tolerance = levels(dtype, moved + ours) / 65535 + 2 * input_rounding(dtype)
        interior = (got - pixels)[radius:-radius, radius:-radius]
        assert np.abs(interior).max() <= tolerance
        # everywhere, border rows and columns included: against the float64 reference of
        # the same pixels (scipy's running sums: bounds.uniform_filter for both means)
        m = uniform_filter(side, (height, width))
        reference = lee_fit(m, moments_variance(m, m), side, sigma**2)
        bound = output(dtype, ours + reference) + input_rounding(dtype)
        difference = got - _uniform_lee(pixels, radius, sigma)
        assert np.abs(difference).max() <= bound
        # so no row-to-row stripes: row means of that difference at most 2 bounds apart
        assert np.abs(np.diff(difference.mean(axis=1))).max() <= 2 * bound


def test_zero_radius_or_sigma_is_identity(astronaut_small):
    np.testing.assert_array_equal(local_mean_filter(astronaut_small, radius=0), astronaut_small)
    np.testing.assert_array_equal(local_mean_filter(astronaut_small, sigma=0), astronaut_small)


@settings(max_examples=80, deadline=None)
@given(
    image=image_arrays(image_shapes(30), floats=(-2, 2)),
    radius=st.integers(0, 12),
    sigma=st.floats(0, 1),
)
def test_properties(image, radius, sigma):
    original = image.copy()
    out = local_mean_filter(image, radius=radius, sigma=sigma)
    np.testing.assert_array_equal(image, original)  # input untouched
    assert out.shape == image.shape and out.dtype == image.dtype
    colour = image[..., :3] if image.ndim == 3 and image.shape[2] == 4 else image
    colour_out = out[..., :3] if image.ndim == 3 and image.shape[2] == 4 else out
    if image.ndim == 3 and image.shape[2] == 4:
        np.testing.assert_array_equal(out[..., 3], image[..., 3])
    # a convex combination of the pixel and its window mean: within the input range, up to
    # the float64 window mean's error and three roundings (lee_range), the store (float32:
    # u max|x|), for integers whole levels (0: the float64 error is far below half a level)
    magnitude = float(np.abs(to_float(colour)).max())
    error = lee_range(2 * radius + 1, image.shape, magnitude)
    if image.dtype.kind == "u":
        slack, wide = levels(image.dtype, error), np.int64
    else:
        slack, wide = float_store(image.dtype, error, magnitude), np.float64
    colour, colour_out = colour.astype(wide), colour_out.astype(wide)
    assert colour_out.min() >= colour.min() - slack
    assert colour_out.max() <= colour.max() + slack
    constant = np.full_like(image, image.flat[0])
    smoothed = local_mean_filter(constant, radius=radius, sigma=sigma)
    np.testing.assert_allclose(smoothed.astype(wide), constant.astype(wide), rtol=0, atol=slack)


@pytest.mark.parametrize(
    "image, kwargs, message",
    [
        (np.zeros((4, 4, 4, 1)), {}, "dimensions"),
        (np.zeros((4, 4, 2)), {}, "channels"),
        (np.zeros((4, 4, 5), np.uint8), {}, "channels"),
        (np.zeros((4, 0, 3)), {}, "empty"),
        (np.full((4, 4), np.nan), {}, "NaN"),
        (np.zeros((4, 4), np.int64), {}, "dtype"),
        (np.zeros((4, 4), np.float16), {}, "dtype"),
        (np.zeros((4, 4)), {"radius": -2}, "radius"),
        (np.zeros((4, 4)), {"radius": "5"}, "radius"),
        (np.zeros((4, 4)), {"sigma": -0.1}, "sigma"),
        (np.zeros((4, 4)), {"sigma": np.inf}, "sigma"),
    ],
)
def test_bad_input(image, kwargs, message):
    with pytest.raises(ValueError, match=message):
        local_mean_filter(image, **kwargs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bands_of_any_height_match_brute_force(astronaut, dtype):
    """The row-streaming kernel on bands of 1 to 13 rows (edges inside the border halo,
    bands under the radius) agrees with the brute-force filter."""
    from skinsmooth_core.filters.local_mean import _lee_band

    image = as_dtype(astronaut[:37, 200:236], dtype)
    got = np.empty_like(image)
    edges = np.cumsum([0, 1, 2, 3, 5, 8, 13, 5])
    for start, stop in zip(edges[:-1], edges[1:], strict=True):
        _lee_band(image, 6, 0.05**2, start, stop, got)
    # the same noise as the reference (nu = 0); each band restarts its sliding sums, which
    # lee's count of streamed rows (height + 2 r) covers; stored in the image's float
    spread = float(image.max() - image.min())
    error = lee(13, image.shape, 0.05**2, 0.0, 1.0, spread) + lee_brute_force(13, 0.05**2)
    np.testing.assert_allclose(
        got, _brute_force_lee(image, 6, 0.05), rtol=0, atol=output(dtype, error)
    )
