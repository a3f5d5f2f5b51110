"""Bilateral filter: exact mode against cv2.bilateralFilter, separable accuracy, properties."""

import math

import cv2
import numpy as np
import pytest
from bounds import (
    U32,
    bilateral_input_perturbation,
    bilateral_range,
    bilateral_reference,
    distance_roundings,
    float_store,
    half_level,
    input_rounding,
    levels,
    opencv_bilateral_float,
    opencv_bilateral_u8,
    ours_bilateral,
    output,
    range_weight,
    spatial_sum,
    unit_roundoff,
)
from conftest import DTYPES, as_dtype, image_arrays, image_shapes, with_channels
from hypothesis import example, given, settings
from hypothesis import strategies as st

from skinsmooth_core._image import to_float
from skinsmooth_core.filters import bilateral_filter

pytestmark = pytest.mark.numerical


def _colour(image):
    """The colour channels (no alpha)."""
    return image[..., :3] if image.ndim == 3 and image.shape[2] == 4 else image


def _opencv_float_input(image):
    """The float32 [0, 1] colour pixels OpenCV's float path gets (float64 pixels rounded)."""
    return np.ascontiguousarray(to_float(_colour(image)).astype(np.float32))


def _opencv(image, sigma_spatial, sigma_color):
    """cv2.bilateralFilter with our window (disc of radius ceil(2 sigma)) and border."""
    diameter = 2 * max(1, math.ceil(2 * sigma_spatial)) + 1
    colour = _colour(image)
    if colour.dtype == np.uint8:  # OpenCV's 8-bit path: sigma in levels
        result = cv2.bilateralFilter(
            np.ascontiguousarray(colour), diameter, sigma_color * 255, sigma_spatial,
            borderType=cv2.BORDER_REFLECT,
        )  # fmt: skip
        return result / 255.0
    return cv2.bilateralFilter(
        _opencv_float_input(image), diameter, sigma_color, sigma_spatial,
        borderType=cv2.BORDER_REFLECT,
    )  # fmt: skip


def _opencv_bound(image, sigma_spatial, sigma_color):
    """|OpenCV - the exact filter of our kernel's float pixels| (tests/bounds.py).

    uint8: OpenCV's 8-bit path (float weight tables, float32 sums) rounded to a level, and
    its pixels are the exact levels / 255 while our kernel's are float32(k) * float32(1/255)
    (input_rounding): the exact filter moves by bilateral_input_perturbation of that. Float:
    OpenCV's interpolated exp table over the image's value range, float32 sums; float64
    pixels reach it rounded to float32 (u, values <= 1).
    """
    channels = 1 if _colour(image).ndim == 2 or _colour(image).shape[2] == 1 else 3
    spatial = spatial_sum(sigma_spatial, max(1, math.ceil(2 * sigma_spatial)), True)
    if image.dtype == np.uint8:
        moved = bilateral_input_perturbation(
            input_rounding(np.uint8), sigma_color, channels, spatial
        )
        return opencv_bilateral_u8(sigma_spatial, sigma_color) + half_level(np.uint8) + moved
    pixels = _opencv_float_input(image)
    value_range = float(pixels.max() - pixels.min())
    theirs = opencv_bilateral_float(sigma_spatial, sigma_color, channels, value_range, value_range)
    if image.dtype == np.float64:
        theirs += bilateral_input_perturbation(U32, sigma_color, channels, spatial)
    return theirs


def _bound(image, sigma_spatial, sigma_color, mode, reference=None):
    """|to_float(our output) - reference| for `image`'s dtype, channels and value range:
    our float result against the exact filter (ours_bilateral), stored in the dtype (output),
    read back by to_float (input_rounding), plus the reference's own error: "opencv"
    (_opencv_bound) or "numpy" (the float64 brute force: bilateral_reference)."""
    colour = to_float(_colour(image))
    channels = 1 if colour.ndim == 2 or colour.shape[2] == 1 else 3
    spread = float(colour.max() - colour.min())  # |x_i - mean| <= the value range
    ours = ours_bilateral(image.dtype, sigma_spatial, sigma_color, channels, mode, spread)
    if reference == "numpy":
        ours += bilateral_reference(sigma_spatial, sigma_color, channels, mode, spread)
    bound = output(image.dtype, ours) + input_rounding(image.dtype)
    if reference == "opencv":
        bound += _opencv_bound(image, sigma_spatial, sigma_color)
    return bound


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("sigma_spatial, sigma_color", [(2.0, 0.1), (1.2, 0.04)])
def test_exact_matches_opencv(astronaut_small, dtype, channels, sigma_spatial, sigma_color):
    image = as_dtype(with_channels(astronaut_small, channels), dtype)
    ours = bilateral_filter(image, sigma_spatial, sigma_color, mode="exact")
    assert ours.shape == image.shape and ours.dtype == image.dtype
    expected = _opencv(image, sigma_spatial, sigma_color)
    got = to_float(_colour(ours)).astype(np.float64)
    # integer outputs: both rounded to a level (half a level each), plus both filters' float
    # error; float outputs: OpenCV's interpolated exp table and float32 sums, and ours
    bound = _bound(image, sigma_spatial, sigma_color, "exact", reference="opencv")
    np.testing.assert_allclose(got, expected.reshape(got.shape), rtol=0, atol=bound)
    # OpenCV's table and float32 sums make that bound loose: the float64 brute force, tightly
    exact = _reference(image, sigma_spatial, sigma_color, "exact").reshape(got.shape)
    bound = _bound(image, sigma_spatial, sigma_color, "exact", reference="numpy")
    np.testing.assert_allclose(got, exact, rtol=0, atol=bound)
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
    image = as_dtype(with_channels(astronaut_small[:64, :80], channels), dtype)
    ours = bilateral_filter(image, 2.5, 0.08, mode=mode)
    assert ours.shape == image.shape and ours.dtype == image.dtype
    expected = _reference(image, 2.5, 0.08, mode)
    got = to_float(_colour(ours)).astype(np.float64)
    # our weights (polynomial for exp, float spatial weights) and float sums against the
    # float64 brute force, stored in the dtype (a level's half for integers)
    bound = _bound(image, 2.5, 0.08, mode, reference="numpy")
    np.testing.assert_allclose(got, expected.reshape(got.shape), rtol=0, atol=bound)
    if channels == 4:
        np.testing.assert_array_equal(ours[..., 3], image[..., 3])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sigma_color", [0.02, 0.1, 0.5])
def test_range_weight_close_to_exp(dtype, sigma_color):
    """The compiled polynomial range weight against np.exp, over and beyond its cap."""
    from skinsmooth_core.filters.bilateral import _range_constants, _range_weight

    constants = _range_constants(sigma_color, dtype)
    distances = np.linspace(0, 10 * sigma_color, 1001, dtype=dtype)
    got = np.array([_range_weight(d, constants) for d in distances])
    expected = np.exp(-(distances.astype(np.float64) ** 2) / (2 * sigma_color**2))
    # Taylor remainder s^6 / 6! raised to the 32nd power (~6e-9 at most, t ~ 6), Horner's
    # and the five squarings' roundings (~63 u near t = 0), the argument's 4 roundings (the
    # distance is given exactly): bounds.range_weight
    bound = range_weight(unit_roundoff(dtype), distance_roundings(0))
    np.testing.assert_allclose(got, expected, rtol=0, atol=bound)
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
    # not a tolerance: 38 dB is an RMS difference of 1.3e-2, the separable approximation's
    # own; rounding (ours_bilateral, both modes together: < 3.3e-4 here) moves it < 0.25 dB
    assert 38.0 <= _psnr(fast, exact) < 200
    assert _psnr(fast, image) < _psnr(fast, exact) - 5  # and it really smooths


def test_auto_picks_exact_for_small_and_separable_for_large(astronaut):
    small = astronaut[:64, :64]
    # the same kernel on the same pixels in the same tiles or bands: bit for bit
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


@settings(max_examples=60, deadline=None)
@given(
    image=image_arrays(image_shapes(20), floats=(-1, 2)),
    sigma_spatial=st.floats(0.3, 4),
    sigma_color=st.floats(0.01, 1),
    mode=st.sampled_from(["exact", "separable"]),
)
# subnormal values (found by hypothesis in CI): off by 2 subnormal units, not relatively
@example(np.array([[2.22507386e-309]]), 0.3, 1.0, "exact")
@example(np.array([[2.22507386e-309, 0.0]]), 0.3125, 1.0, "separable")
def test_properties(image, sigma_spatial, sigma_color, mode):
    original = image.copy()
    out = bilateral_filter(image, sigma_spatial, sigma_color, mode=mode)
    np.testing.assert_array_equal(image, original)  # input untouched
    assert out.shape == image.shape and out.dtype == image.dtype
    has_alpha = image.ndim == 3 and image.shape[2] == 4
    if has_alpha:
        np.testing.assert_array_equal(out[..., 3], image[..., 3])
    colour, colour_out = _colour(image), _colour(out)
    # weighted means with weights >= 0: within the input range of each channel, up to the
    # float sums and quotient (bilateral_range: (2 gamma(n + 1) + u) max|x| per pass), the
    # store (float32: u max|x|), for integers whole levels (0 unless that error nears half one)
    magnitude = float(np.abs(to_float(colour)).max())
    error = bilateral_range(image.dtype, sigma_spatial, mode, magnitude)
    if image.dtype.kind == "u":
        slack, wide = levels(image.dtype, error), np.int64
    else:
        slack, wide = float_store(image.dtype, error, magnitude), np.float64
    axes = (0, 1)
    colour, colour_out = colour.astype(wide), colour_out.astype(wide)
    assert np.all(colour_out.min(axis=axes) >= colour.min(axis=axes) - slack)
    assert np.all(colour_out.max(axis=axes) <= colour.max(axis=axes) + slack)
    constant = np.full_like(image, image.flat[0])
    smoothed = bilateral_filter(constant, sigma_spatial, sigma_color, mode=mode)
    np.testing.assert_allclose(smoothed.astype(wide), constant.astype(wide), rtol=0, atol=slack)


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
    from skinsmooth_core.filters import _tiles

    image = as_dtype(astronaut[:150, 200:240], np.float32)
    default = bilateral_filter(image, 2.0, 0.1, mode="exact")
    for name, value in [("_MIN_TILE_ROWS", 1), ("_HALO_MULTIPLE", 0)]:
        monkeypatch.setattr(_tiles, name, value)
    rows = bilateral_filter(image, 2.0, 0.1, mode="exact")
    # both runs within ours_bilateral of the exact filter: sums may be ordered differently
    # (fastmath, vector and scalar loops) in other tiles, so at most twice that apart
    np.testing.assert_allclose(rows, default, rtol=0, atol=2 * _bound(image, 2.0, 0.1, "exact"))
    bound = _bound(image, 2.0, 0.1, "exact", reference="opencv")
    np.testing.assert_allclose(rows, _opencv(image, 2.0, 0.1), rtol=0, atol=bound)


def test_exact_same_result_in_tiny_tiles(astronaut, monkeypatch):
    """1 x 1 tiles, halos reflected at all four borders: the same result as default tiles."""
    from skinsmooth_core.filters import _tiles

    image = as_dtype(astronaut[:24, 200:230], np.float32)
    default = bilateral_filter(image, 2.0, 0.1, mode="exact")
    for name, value in [("_TILE_BYTES", 1), ("_MIN_TILE_ROWS", 1), ("_HALO_MULTIPLE", 0)]:
        monkeypatch.setattr(_tiles, name, value)
    tiles = bilateral_filter(image, 2.0, 0.1, mode="exact")
    # each within ours_bilateral of the exact filter, whatever order the tiles sum in
    np.testing.assert_allclose(tiles, default, rtol=0, atol=2 * _bound(image, 2.0, 0.1, "exact"))
    bound = _bound(image, 2.0, 0.1, "exact", reference="opencv")
    np.testing.assert_allclose(tiles, _opencv(image, 2.0, 0.1), rtol=0, atol=bound)


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

    def thin_bands(func, height, *, min_rows=1):
        for start in range(0, height, band_rows):
            starts.append(start)
            func(start, min(height, start + band_rows))

    monkeypatch.setattr(module, "for_bands", thin_bands)
    thin = bilateral_filter(image, 2.0, 0.1, mode="separable")
    assert len(starts) == -(-len(image) // band_rows)
    # each within ours_bilateral (two passes) of the exact filter, whatever the band order
    bound = _bound(image, 2.0, 0.1, "separable")
    np.testing.assert_allclose(thin, default, rtol=0, atol=2 * bound)
    expected = _reference(image, 2.0, 0.1, "separable").reshape(image.shape)
    bound = _bound(image, 2.0, 0.1, "separable", reference="numpy")
    np.testing.assert_allclose(thin, expected, rtol=0, atol=bound)
