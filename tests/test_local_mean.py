"""Lee local-statistics filter: against a float64 brute-force reference, drift, properties."""

import numpy as np
import pytest
from conftest import DTYPES, as_dtype
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skinsmooth_core._image import to_float
from skinsmooth_core.filters import local_mean_filter


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


def _make(astronaut_small, dtype, channels):
    base = {1: astronaut_small[..., 0], 3: astronaut_small}.get(channels)
    if channels == 4:
        alpha = (np.arange(astronaut_small.size // 3) % 251).astype(np.uint8)
        base = np.dstack([astronaut_small, alpha.reshape(astronaut_small.shape[:2])])
    return as_dtype(base, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("radius, sigma", [(2, 0.02), (5, 0.05), (9, 0.2)])
def test_matches_brute_force(astronaut_small, dtype, channels, radius, sigma):
    image = _make(astronaut_small[:40, :56], dtype, channels)
    original = image.copy()
    out = local_mean_filter(image, radius=radius, sigma=sigma)
    np.testing.assert_array_equal(image, original)  # input untouched
    assert out.shape == image.shape and out.dtype == image.dtype
    colour = image[..., :3] if channels == 4 else image
    expected = _brute_force_lee(to_float(colour), radius, sigma).reshape(colour.shape)
    got = to_float(out[..., :3] if channels == 4 else out)
    level = {np.uint8: 0.5 / 255, np.uint16: 0.5 / 65535}.get(dtype, 0.0)
    np.testing.assert_allclose(got, expected, rtol=0, atol=level + 2e-5)
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


@pytest.mark.parametrize("dtype", [np.float32, np.uint16])
def test_no_drift_or_stripes_on_large_images(dtype):
    """Constant and ramp images of 800 x 1600: float32 integral images drift by
    ~1e-4 here and stripe between rows; per-window sums stay exact."""
    height, width = 800, 1600
    constant = np.full((height, width), 0.7, np.float32)
    ramp = np.add.outer(np.linspace(0.1, 0.4, height), np.linspace(0, 0.5, width))
    for image in (constant, ramp.astype(np.float32)):
        if dtype == np.uint16:
            image = np.rint(image * 65535).astype(np.uint16)
        out = local_mean_filter(image, radius=7, sigma=0.05)
        error = to_float(out).astype(np.float64) - to_float(image)
        interior = error[7:-7, 7:-7]  # a linear ramp is its own window mean inside
        tolerance = 1e-6 if dtype == np.float32 else 1.01 / 65535  # rounding to a level
        assert np.abs(interior).max() <= tolerance
        # no row-to-row stripes anywhere, border rows included
        row_means = error.mean(axis=1)
        assert np.abs(np.diff(row_means[7:-7])).max() <= max(tolerance, 1e-12)


def test_zero_radius_or_sigma_is_identity(astronaut_small):
    np.testing.assert_array_equal(local_mean_filter(astronaut_small, radius=0), astronaut_small)
    np.testing.assert_array_equal(local_mean_filter(astronaut_small, sigma=0), astronaut_small)


@st.composite
def _images(draw):
    height, width = draw(st.integers(1, 30)), draw(st.integers(1, 30))
    channels = draw(st.sampled_from([None, 1, 3, 4]))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = (height, width) if channels is None else (height, width, channels)
    if dtype.kind == "u":
        elements = st.integers(0, np.iinfo(dtype).max)
    else:
        elements = st.floats(-2, 2, width=dtype.itemsize * 8)
    return draw(arrays(dtype, shape, elements=elements))


@settings(max_examples=80, deadline=None)
@given(image=_images(), radius=st.integers(0, 12), sigma=st.floats(0, 1))
def test_properties(image, radius, sigma):
    original = image.copy()
    out = local_mean_filter(image, radius=radius, sigma=sigma)
    np.testing.assert_array_equal(image, original)  # input untouched
    assert out.shape == image.shape and out.dtype == image.dtype
    colour = image[..., :3] if image.ndim == 3 and image.shape[2] == 4 else image
    colour_out = out[..., :3] if image.ndim == 3 and image.shape[2] == 4 else out
    if image.ndim == 3 and image.shape[2] == 4:
        np.testing.assert_array_equal(out[..., 3], image[..., 3])
    # a convex combination of the pixel and its window mean: within the input range
    slack = 0 if image.dtype.kind == "u" else 1e-5
    assert colour_out.min() >= colour.min() - slack
    assert colour_out.max() <= colour.max() + slack
    constant = np.full_like(image, image.flat[0])
    np.testing.assert_allclose(
        local_mean_filter(constant, radius=radius, sigma=sigma), constant, atol=slack
    )


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
    np.testing.assert_allclose(got, _brute_force_lee(image, 6, 0.05), atol=2e-5)
