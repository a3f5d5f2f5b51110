"""Bilateral filter: exact mode against cv2.bilateralFilter, separable accuracy, properties."""

import math

import cv2
import numpy as np
import pytest
from conftest import DTYPES, as_dtype
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skinsmooth_core._image import to_float
from skinsmooth_core.filters import bilateral_filter


def _make(image_u8, dtype, channels):
    if channels == 1:
        base = image_u8[..., 1]
    elif channels == 3:
        base = image_u8
    else:
        alpha = (np.arange(image_u8.shape[0] * image_u8.shape[1]) % 253).astype(np.uint8)
        base = np.dstack([image_u8, alpha.reshape(image_u8.shape[:2])])
    return as_dtype(base, dtype)


def _opencv(image, sigma_spatial, sigma_color):
    """cv2.bilateralFilter with our window (disc of radius ceil(2 sigma)) and border."""
    diameter = 2 * max(1, math.ceil(2 * sigma_spatial)) + 1
    colour = image[..., :3] if image.ndim == 3 and image.shape[2] == 4 else image
    if colour.dtype == np.uint8:  # OpenCV's 8-bit path: sigma in levels
        result = cv2.bilateralFilter(
            np.ascontiguousarray(colour), diameter, sigma_color * 255, sigma_spatial,
            borderType=cv2.BORDER_REFLECT,
        )  # fmt: skip
        return result / 255.0
    colour = np.ascontiguousarray(to_float(colour).astype(np.float32))
    return cv2.bilateralFilter(
        colour, diameter, sigma_color, sigma_spatial, borderType=cv2.BORDER_REFLECT
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("sigma_spatial, sigma_color", [(2.0, 0.1), (1.2, 0.04)])
def test_exact_matches_opencv(astronaut_small, dtype, channels, sigma_spatial, sigma_color):
    image = _make(astronaut_small, dtype, channels)
    ours = bilateral_filter(image, sigma_spatial, sigma_color, mode="exact")
    assert ours.shape == image.shape and ours.dtype == image.dtype
    expected = _opencv(image, sigma_spatial, sigma_color)
    got = to_float(ours[..., :3] if channels == 4 else ours)
    # one level for rounded integer outputs (OpenCV's uint8 path rounds too); OpenCV's
    # float path looks the range weight up in a table: ~1e-6
    level = {np.uint8: 1.01 / 255, np.uint16: 0.51 / 65535}.get(dtype, 0.0)
    np.testing.assert_allclose(got, expected.reshape(got.shape), rtol=0, atol=level + 1e-5)
    if channels == 4:
        np.testing.assert_array_equal(ours[..., 3], image[..., 3])


def _brute_force(colour, offsets, sigma_spatial, sigma_color):
    """Float64 numpy reference: every tap of `offsets` (all (dy, dx), centre included),
    np.exp weights, symmetric (dcba|abcd) padding; `colour` is H x W x C."""
    radius = int(np.abs(offsets).max())
    padded = np.pad(colour, ((radius, radius), (radius, radius), (0, 0)), mode="symmetric")
    height, width = colour.shape[:2]
    numerator, denominator = np.zeros_like(colour), np.zeros(colour.shape[:2] + (1,))
    for dy, dx in offsets:
        shifted = padded[radius + dy : radius + dy + height, radius + dx : radius + dx + width]
        distance = np.abs(shifted - colour).sum(axis=2, keepdims=True)
        log_weight = -(dy**2 + dx**2) / (2 * sigma_spatial**2)
        weight = np.exp(log_weight - distance**2 / (2 * sigma_color**2))
        numerator += weight * shifted
        denominator += weight
    return numerator / denominator


def _reference(image, sigma_spatial, sigma_color, mode):
    """The exact filter (disc) or the separable one (1-d rows, then 1-d columns)."""
    colour = image[..., :3] if image.ndim == 3 and image.shape[2] == 4 else image
    colour = to_float(colour).astype(np.float64)
    colour = colour.reshape(colour.shape[:2] + (-1,))
    radius = max(1, math.ceil(2 * sigma_spatial))
    line = np.arange(-radius, radius + 1)
    if mode == "exact":
        dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
        disc = np.stack([dy.ravel(), dx.ravel()], 1)[(dy**2 + dx**2).ravel() <= radius**2]
        return _brute_force(colour, disc, sigma_spatial, sigma_color)
    rows = _brute_force(colour, np.stack([0 * line, line], 1), sigma_spatial, sigma_color)
    return _brute_force(rows, np.stack([line, 0 * line], 1), sigma_spatial, sigma_color)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("mode", ["exact", "separable"])
def test_matches_numpy_reference(astronaut_small, dtype, channels, mode):
    """The compiled kernels (paired taps, polynomial range weight) against np.exp brute force."""
    image = _make(astronaut_small[:64, :80], dtype, channels)
    ours = bilateral_filter(image, 2.5, 0.08, mode=mode)
    assert ours.shape == image.shape and ours.dtype == image.dtype
    expected = _reference(image, 2.5, 0.08, mode)
    got = to_float(ours[..., :3] if channels == 4 else ours).astype(np.float64)
    # rounded integer outputs: half a level, plus float32 work; float64 work is ~1e-8
    tolerance = {np.uint8: 0.5 / 255 + 1e-5, np.uint16: 0.5 / 65535 + 1e-5, np.float32: 1e-5}
    np.testing.assert_allclose(
        got, expected.reshape(got.shape), rtol=0, atol=tolerance.get(dtype, 1e-7)
    )
    if channels == 4:
        np.testing.assert_array_equal(ours[..., 3], image[..., 3])


@pytest.mark.parametrize("dtype, tolerance", [(np.float32, 2e-6), (np.float64, 1e-8)])
@pytest.mark.parametrize("sigma_color", [0.02, 0.1, 0.5])
def test_range_weight_close_to_exp(dtype, tolerance, sigma_color):
    """The compiled polynomial range weight against np.exp, over and beyond its cap."""
    from skinsmooth_core.filters.bilateral import _range_constants, _range_weight

    constants = _range_constants(sigma_color, dtype)
    distances = np.linspace(0, 10 * sigma_color, 1001, dtype=dtype)
    got = np.array([_range_weight(d, constants) for d in distances])
    expected = np.exp(-(distances.astype(np.float64) ** 2) / (2 * sigma_color**2))
    np.testing.assert_allclose(got, expected, rtol=0, atol=tolerance)
    assert np.all(got > 0) and np.all(np.diff(got) <= 0)


def _psnr(a, b):
    return 10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - b) ** 2))


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("sigma_spatial, sigma_color", [(3.0, 0.1), (2.0, 0.2)])
def test_separable_close_to_exact(astronaut, channels, sigma_spatial, sigma_color):
    image = as_dtype(astronaut[40:232, 140:332], np.float32)
    image = image if channels == 3 else image[..., 0]
    exact = bilateral_filter(image, sigma_spatial, sigma_color, mode="exact")
    fast = bilateral_filter(image, sigma_spatial, sigma_color, mode="separable")
    assert fast.shape == image.shape and fast.dtype == image.dtype
    assert 38.0 <= _psnr(fast, exact) < 200
    assert _psnr(fast, image) < _psnr(fast, exact) - 5  # and it really smooths


def test_auto_picks_exact_for_small_and_separable_for_large(astronaut):
    small = astronaut[:64, :64]
    np.testing.assert_array_equal(bilateral_filter(small), bilateral_filter(small, mode="exact"))
    large = as_dtype(np.tile(astronaut[..., 0], (2, 2)), np.float32)  # 1024 x 1024
    np.testing.assert_array_equal(
        bilateral_filter(large), bilateral_filter(large, mode="separable")
    )


@pytest.mark.parametrize("mode", ["exact", "separable"])
def test_smooths_noise_keeps_edges(mode):
    rng = np.random.default_rng(2)
    step = np.where(np.arange(64) < 32, 0.25, 0.75)[None, :].repeat(64, axis=0)
    noisy = np.clip(step + rng.normal(0, 0.02, step.shape), 0, 1)
    out = bilateral_filter(noisy, 2.0, 0.1, mode=mode)
    assert np.std(out[:, 4:26] - 0.25) < 0.4 * np.std(noisy[:, 4:26] - 0.25)
    assert out[:, 33].mean() - out[:, 30].mean() > 0.45


@st.composite
def _images(draw):
    height, width = draw(st.integers(1, 20)), draw(st.integers(1, 20))
    channels = draw(st.sampled_from([None, 1, 3, 4]))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = (height, width) if channels is None else (height, width, channels)
    if dtype.kind == "u":
        elements = st.integers(0, np.iinfo(dtype).max)
    else:
        elements = st.floats(-1, 2, width=dtype.itemsize * 8)
    return draw(arrays(dtype, shape, elements=elements))


@settings(max_examples=60, deadline=None)
@given(
    image=_images(),
    sigma_spatial=st.floats(0.3, 4),
    sigma_color=st.floats(0.01, 1),
    mode=st.sampled_from(["exact", "separable"]),
)
def test_properties(image, sigma_spatial, sigma_color, mode):
    original = image.copy()
    out = bilateral_filter(image, sigma_spatial, sigma_color, mode=mode)
    np.testing.assert_array_equal(image, original)  # input untouched
    assert out.shape == image.shape and out.dtype == image.dtype
    has_alpha = image.ndim == 3 and image.shape[2] == 4
    if has_alpha:
        np.testing.assert_array_equal(out[..., 3], image[..., 3])
    colour, colour_out = (image[..., :3], out[..., :3]) if has_alpha else (image, out)
    # weighted means: within the input range of each channel
    slack = 0 if image.dtype.kind == "u" else 1e-5
    axes = (0, 1)
    assert np.all(colour_out.min(axis=axes) >= colour.min(axis=axes) - slack)
    assert np.all(colour_out.max(axis=axes) <= colour.max(axis=axes) + slack)
    constant = np.full_like(image, image.flat[0])
    np.testing.assert_allclose(
        bilateral_filter(constant, sigma_spatial, sigma_color, mode=mode), constant, atol=slack
    )


@pytest.mark.parametrize(
    "image, kwargs, message",
    [
        (np.zeros((2, 2, 2, 2)), {}, "dimensions"),
        (np.zeros((4, 4, 2)), {}, "channels"),
        (np.zeros((4, 4, 6)), {}, "channels"),
        (np.zeros((0, 0)), {}, "empty"),
        (np.full((4, 4, 3), np.inf), {}, "NaN or infinite"),
        (np.zeros((4, 4), np.int16), {}, "dtype"),
        (np.zeros((4, 4)), {"sigma_spatial": 0}, "sigma_spatial"),
        (np.zeros((4, 4)), {"sigma_spatial": -1}, "sigma_spatial"),
        (np.zeros((4, 4)), {"sigma_color": 0}, "sigma_color"),
        (np.zeros((4, 4)), {"sigma_color": float("nan")}, "sigma_color"),
        (np.zeros((4, 4)), {"mode": "fast"}, "mode"),
    ],
)
def test_bad_input(image, kwargs, message):
    with pytest.raises(ValueError, match=message):
        bilateral_filter(image, **kwargs)


def test_exact_same_result_in_one_row_tiles(astronaut, monkeypatch):
    from skinsmooth_core.filters import _box

    image = as_dtype(astronaut[:150, 200:240], np.float32)
    default = bilateral_filter(image, 2.0, 0.1, mode="exact")
    for name, value in [("_MIN_STRIP_ROWS", 1), ("_HALO_MULTIPLE", 0)]:
        monkeypatch.setattr(_box, name, value)
    rows = bilateral_filter(image, 2.0, 0.1, mode="exact")
    np.testing.assert_allclose(rows, default, atol=1e-6)
    np.testing.assert_allclose(rows, _opencv(image, 2.0, 0.1), atol=1e-5)


def test_exact_same_result_in_tiny_tiles(astronaut, monkeypatch):
    """1 x 1 tiles, halos reflected at all four borders: the same result as default tiles."""
    from skinsmooth_core.filters import _box

    image = as_dtype(astronaut[:24, 200:230], np.float32)
    default = bilateral_filter(image, 2.0, 0.1, mode="exact")
    for name, value in [("_TILE_BYTES", 1), ("_MIN_STRIP_ROWS", 1), ("_HALO_MULTIPLE", 0)]:
        monkeypatch.setattr(_box, name, value)
    tiles = bilateral_filter(image, 2.0, 0.1, mode="exact")
    np.testing.assert_allclose(tiles, default, atol=1e-6)
    np.testing.assert_allclose(tiles, _opencv(image, 2.0, 0.1), atol=1e-5)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("band_rows", [1, 7])
def test_separable_same_result_in_thin_bands(astronaut, monkeypatch, channels, band_rows):
    """Bands of a few rows, each streaming its own (reflected) halo rows: the same result
    as the default bands, and as the numpy reference."""
    from skinsmooth_core.filters import bilateral as module

    image = as_dtype(astronaut[:150, 200:240], np.float32)
    image = image if channels == 3 else image[..., 1]
    default = bilateral_filter(image, 2.0, 0.1, mode="separable")
    starts = []

    def thin_bands(func, height, min_rows=1):
        for start in range(0, height, band_rows):
            starts.append(start)
            func(start, min(height, start + band_rows))

    monkeypatch.setattr(module, "for_row_bands", thin_bands)
    thin = bilateral_filter(image, 2.0, 0.1, mode="separable")
    assert len(starts) == -(-len(image) // band_rows)
    np.testing.assert_allclose(thin, default, atol=1e-6)
    expected = _reference(image, 2.0, 0.1, "separable").reshape(image.shape)
    np.testing.assert_allclose(thin, expected, atol=1e-5)
