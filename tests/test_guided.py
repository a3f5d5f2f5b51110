"""Guided filter: against OpenCV's ximgproc.guidedFilter, fast-variant accuracy, properties."""

import cv2
import numpy as np
import pytest
from bounds import U32, U64, gamma, opencv_guided, ours_guided, output, running_window_sum
from conftest import DTYPES, as_dtype, image_arrays, image_shapes, with_channels
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage as ndi

from skinsmooth_core._image import to_float
from skinsmooth_core.filters import guided_filter, guided_upsample

pytestmark = pytest.mark.numerical

CHANNELS = {"grey": 1, "rgb": 3, "rgba": 4}


def _colour_float(image):
    """[0, 1] float32 colour channels (H x W or H x W x 3) as OpenCV gets them."""
    colour = image[..., :3] if image.ndim == 3 else image
    return np.ascontiguousarray(to_float(colour).astype(np.float32))


def _kernel_input(image):
    """The colour channels exactly as our kernel gets them (uint: float32), in float64."""
    colour = image[..., :3] if image.ndim == 3 else image
    return to_float(colour).astype(np.float64)


def _bound(dtype, eps, n_guide, self_guided, shape, radius, opencv=False):
    """|ours - reference|: our float64 fit (stored in `dtype`) against the exact fit, plus
    OpenCV's float32 fit when OpenCV is the reference (see tests/bounds.py)."""
    ours = ours_guided(eps, n_guide, self_guided, shape, radius)
    theirs = opencv_guided(eps, n_guide, self_guided) if opencv else 0.0
    return output(dtype, ours + theirs)


# OpenCV's colour-guide path goes wrong for small eps (opencv_contrib issue #760; with eps=1e-3
# it is off by 0.5 on these pixels, while a per-window least-squares solve agrees with ours), so
# colour guides are checked against OpenCV at eps=1e-2 and against brute force below that.
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", CHANNELS.values(), ids=CHANNELS.keys())
@pytest.mark.parametrize("radius", [4, 8])
def test_self_guided_matches_opencv(astronaut_small, dtype, channels, radius):
    image = as_dtype(with_channels(astronaut_small, channels), dtype)
    eps = 1e-2 if channels > 1 else 1e-3
    ours = guided_filter(image, radius=radius, eps=eps)
    assert ours.shape == image.shape and ours.dtype == image.dtype
    reference = _colour_float(image)
    expected = cv2.ximgproc.guidedFilter(reference, reference, radius, eps)
    got = to_float(ours[..., :3] if channels == 4 else ours).astype(np.float64)
    expected = np.clip(expected, 0, 1) if image.dtype.kind == "u" else expected
    n_guide = min(channels, 3)
    bound = _bound(dtype, eps, n_guide, True, image.shape, radius, opencv=True)
    np.testing.assert_allclose(got, expected, rtol=0, atol=bound)
    # OpenCV's float32 fit makes that bound loose: the float64 brute force, tightly
    exact = _brute_force_guided(_kernel_input(image), None, radius, eps)
    exact = np.clip(exact, 0, 1) if image.dtype.kind == "u" else exact
    bound = _bound(dtype, eps, n_guide, True, image.shape, radius)
    np.testing.assert_allclose(got, exact.reshape(got.shape), rtol=0, atol=bound)
    if channels == 4:
        np.testing.assert_array_equal(ours[..., 3], image[..., 3])


@pytest.mark.parametrize(
    "image_dtype, guide_dtype", [(np.float32, np.uint16), (np.uint8, np.float64)]
)
@pytest.mark.parametrize("guide_channels", [1, 3, 4])
def test_separate_guide_matches_opencv(astronaut_small, image_dtype, guide_dtype, guide_channels):
    image = as_dtype(astronaut_small, image_dtype)
    guide = as_dtype(
        with_channels(astronaut_small[::-1], guide_channels), guide_dtype
    )  # edges elsewhere
    eps = 1e-2 if guide_channels > 1 else 1e-3
    ours = guided_filter(image, guide, radius=6, eps=eps)
    expected = cv2.ximgproc.guidedFilter(_colour_float(guide), _colour_float(image), 6, eps)
    expected = np.clip(expected, 0, 1) if image.dtype.kind == "u" else expected
    n_guide = min(guide_channels, 3)
    bound = _bound(image_dtype, eps, n_guide, False, image.shape, 6, opencv=True)
    np.testing.assert_allclose(to_float(ours), expected, rtol=0, atol=bound)
    # the same on the float32 pixels our kernel gets, against the float64 brute force
    exact = _brute_force_guided(
        _kernel_input(image), _kernel_input(guide).astype(to_float(image).dtype), 6, eps
    )
    exact = np.clip(exact, 0, 1) if image.dtype.kind == "u" else exact
    bound = _bound(image_dtype, eps, n_guide, False, image.shape, 6)
    np.testing.assert_allclose(to_float(ours), exact, rtol=0, atol=bound)


def _brute_force_guided(src, guide, radius, eps):
    """Per-window least squares (np.linalg.solve on explicit windows), float64, reflect border.

    Self-guided when `guide` is None. Its own error (float64, condition number of the
    fit <= 1 + 3 / (4 eps)) is far below every bound it is compared with.
    """
    guide = src if guide is None else guide
    src = src.reshape(*src.shape[:2], -1).astype(np.float64)
    guide = guide.reshape(*guide.shape[:2], -1).astype(np.float64)
    pad = ((2 * radius, 2 * radius), (2 * radius, 2 * radius), (0, 0))
    src_p, guide_p = np.pad(src, pad, mode="symmetric"), np.pad(guide, pad, mode="symmetric")
    side = 2 * radius + 1
    g_win = np.lib.stride_tricks.sliding_window_view(guide_p, (side, side), axis=(0, 1))
    s_win = np.lib.stride_tricks.sliding_window_view(src_p, (side, side), axis=(0, 1))
    g_win = g_win.reshape(*g_win.shape[:3], -1)  # (h, w, G, n)
    s_win = s_win.reshape(*s_win.shape[:3], -1)  # (h, w, C, n)
    g_mean, s_mean = g_win.mean(-1), s_win.mean(-1)
    g_c, s_c = g_win - g_mean[..., None], s_win - s_mean[..., None]
    n = g_win.shape[-1]
    sigma = g_c @ g_c.swapaxes(-1, -2) / n + eps * np.eye(guide.shape[2])
    a = np.linalg.solve(sigma, g_c @ s_c.swapaxes(-1, -2) / n)  # (h, w, G, C)
    b = s_mean - np.einsum("...gc,...g->...c", a, g_mean)
    a_mean = np.lib.stride_tricks.sliding_window_view(a, (side, side), axis=(0, 1)).mean((-2, -1))
    b_mean = np.lib.stride_tricks.sliding_window_view(b, (side, side), axis=(0, 1)).mean((-2, -1))
    return np.einsum("...gc,...g->...c", a_mean, guide) + b_mean


@pytest.mark.parametrize("eps", [1e-3, 1e-4])
@pytest.mark.parametrize("radius", [1, 3])
@pytest.mark.parametrize("src_channels", [1, 3])
def test_colour_guide_matches_brute_force(astronaut_small, eps, radius, src_channels):
    guide = as_dtype(astronaut_small[30:62, 40:72], np.float64)
    src = guide if src_channels == 3 else guide[..., 0] ** 2
    ours = guided_filter(src, guide, radius=radius, eps=eps)
    expected = _brute_force_guided(src, guide, radius, eps).reshape(src.shape)
    bound = _bound(np.float64, eps, 3, src_channels == 3, guide.shape, radius)
    np.testing.assert_allclose(ours, expected, rtol=0, atol=bound)


def test_mask_refined_by_colour_guide(astronaut_small):
    """The pipeline's use: a soft float32 mask guided by the uint8 photo."""
    mask = (astronaut_small[..., 0] > 150).astype(np.float32)
    ours = guided_filter(mask, astronaut_small, radius=5, eps=1e-2)
    expected = cv2.ximgproc.guidedFilter(_colour_float(astronaut_small), mask, 5, 1e-2)
    assert ours.shape == mask.shape and ours.dtype == np.float32
    bound = _bound(np.float32, 1e-2, 3, False, mask.shape, 5, opencv=True)
    np.testing.assert_allclose(ours, expected, rtol=0, atol=bound)
    guide = _colour_float(astronaut_small)
    for radius, eps in [(5, 1e-2), (2, 1e-4)]:
        fine = guided_filter(mask, astronaut_small, radius=radius, eps=eps)
        expected = _brute_force_guided(mask, guide, radius, eps)
        bound = _bound(np.float32, eps, 3, False, mask.shape, radius)
        np.testing.assert_allclose(fine, expected[..., 0], rtol=0, atol=bound)


def _psnr(a, b):
    return 10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2))


@pytest.mark.parametrize("subsample, min_psnr", [(2, 45.0), (4, 38.0)])
@pytest.mark.parametrize("channels", [1, 3])
def test_fast_variant_close_to_exact(astronaut, subsample, min_psnr, channels):
    image = as_dtype(astronaut if channels == 3 else astronaut[..., 0], np.float32)
    exact = guided_filter(image, radius=8, eps=1e-2)
    fast = guided_filter(image, radius=8, eps=1e-2, subsample=subsample)
    assert fast.shape == image.shape and fast.dtype == image.dtype
    psnr = _psnr(fast, exact)
    assert min_psnr <= psnr < 200  # close, but really a different computation
    # and it still smooths: far from the input
    assert _psnr(fast, image) < psnr - 5


def test_fast_variant_odd_sizes_and_large_factor(astronaut_small):
    image = astronaut_small[:37, :53]
    for subsample in (3, 64):  # 64 > image size: clamped
        out = guided_filter(image, radius=4, subsample=subsample)
        assert out.shape == image.shape and out.dtype == image.dtype


def test_radius_zero_is_identity(astronaut_small):
    np.testing.assert_array_equal(guided_filter(astronaut_small, radius=0), astronaut_small)


def test_smooths_noise_keeps_edge():
    rng = np.random.default_rng(0)
    step = np.where(np.arange(64) < 32, 0.2, 0.8)[None, :].repeat(64, axis=0)
    noisy = step + rng.normal(0, 0.02, step.shape)
    out = guided_filter(noisy, radius=4, eps=1e-2)
    assert np.std(out[:, :24] - 0.2) < 0.5 * np.std(noisy[:, :24] - 0.2)
    assert abs(out[:, 34:].mean() - 0.8) < 0.01 and abs(out[:, :30].mean() - 0.2) < 0.01


@settings(max_examples=60, deadline=None)
@given(image=image_arrays(image_shapes(24)), radius=st.integers(0, 6), subsample=st.integers(1, 3))
def test_properties(image, radius, subsample):
    original = image.copy()
    out = guided_filter(image, radius=radius, eps=1e-2, subsample=subsample)
    np.testing.assert_array_equal(image, original)  # input untouched
    assert out.shape == image.shape and out.dtype == image.dtype
    if image.ndim == 3 and image.shape[2] == 4:
        np.testing.assert_array_equal(out[..., 3], image[..., 3])
    # constant images stay constant
    constant = np.full_like(image, image.flat[0])
    out = guided_filter(constant, radius=radius, subsample=subsample)
    # a = 0 up to the fit's error, b = the constant; the fast variant stores a and b in the
    # image's float and interpolates them (two lerps, 6 roundings) before q = a I + b (G + 1)
    n_guide = 1 if image.ndim == 2 or image.shape[2] == 1 else 3
    fit = ours_guided(1e-2, n_guide, True, image.shape, max(radius, 1))
    if subsample > 1:
        fit += gamma(n_guide + 7, U32) * (1 + 2 * n_guide)
    if image.dtype.kind == "u":  # rounded to the same level unless the fit error crosses one
        np.testing.assert_array_equal(out, constant)
    else:
        np.testing.assert_allclose(out, constant, rtol=0, atol=output(image.dtype, fit))


@pytest.mark.parametrize(
    "image, kwargs, message",
    [
        (np.zeros((4, 4, 4, 1)), {}, "dimensions"),
        (np.zeros(5), {}, "dimensions"),
        (np.zeros((4, 4, 2)), {}, "channels"),
        (np.zeros((4, 4, 5)), {}, "channels"),
        (np.zeros((0, 4)), {}, "empty"),
        (np.full((4, 4), np.nan), {}, "NaN"),
        (np.full((4, 4), np.inf, np.float32), {}, "NaN or infinite"),
        (np.zeros((4, 4), np.int32), {}, "dtype"),
        ([[0.0, 1.0]], {}, "numpy array"),
        (np.zeros((4, 4)), {"radius": -1}, "radius"),
        (np.zeros((4, 4)), {"radius": 1.5}, "radius"),
        (np.zeros((4, 4)), {"eps": 0}, "eps"),
        (np.zeros((4, 4)), {"eps": np.nan}, "eps"),
        (np.zeros((4, 4)), {"subsample": 0}, "subsample"),
        (np.zeros((4, 4)), {"guide": np.zeros((4, 5))}, "same height and width"),
        (np.zeros((4, 4)), {"guide": np.zeros((4, 4, 2))}, "guide has 2 channels"),
        (np.zeros((4, 4)), {"guide": np.zeros((4, 4), np.int8)}, "guide has dtype"),
    ],
)
def test_bad_input(image, kwargs, message):
    with pytest.raises(ValueError, match=message):
        guided_filter(image, **kwargs)


@pytest.mark.parametrize("n_guide, n_src, self_guided", [(1, 1, True), (3, 3, True), (3, 1, False)])
def test_bands_of_any_height_agree_with_opencv(astronaut, n_guide, n_src, self_guided):
    """The row-streaming kernel run on bands of 1 to 13 rows (band edges inside the
    border halo, at the image border, and bands under the radius) agrees with OpenCV."""
    from skinsmooth_core.filters._guided_kernels import guided_rows
    from skinsmooth_core.filters.guided import _fit

    colour = as_dtype(astronaut[:37, 180:230], np.float32)
    guide = np.ascontiguousarray(colour[..., :n_guide])
    src = guide if self_guided else np.ascontiguousarray(colour[..., 3 - n_src :])
    fit = _fit(n_guide, n_src, self_guided, 1e-2)
    got = np.empty_like(src)
    edges = np.cumsum([0, 1, 2, 3, 5, 8, 13, 5])
    for start, stop in zip(edges[:-1], edges[1:], strict=True):
        guided_rows(src, guide, fit, 6, start, stop, got)
    expected = cv2.ximgproc.guidedFilter(guide, src, 6, 1e-2).reshape(src.shape)
    bound = _bound(np.float32, 1e-2, n_guide, self_guided, src.shape, 6, opencv=True)
    np.testing.assert_allclose(got, expected, rtol=0, atol=bound)
    exact = _brute_force_guided(src, None if self_guided else guide, 6, 1e-2)
    bound = _bound(np.float32, 1e-2, n_guide, self_guided, src.shape, 6)
    np.testing.assert_allclose(got, exact.reshape(src.shape), rtol=0, atol=bound)


@pytest.mark.parametrize("factor, height, width", [(2, 7, 9), (3, 12, 5), (4, 9, 17)])
@pytest.mark.parametrize(
    "n_guide, n_src, self_guided", [(1, 3, False), (3, 1, False), (3, 3, True)]
)
def test_upsampling_matches_interpolation(factor, height, width, n_guide, n_src, self_guided):
    """The fast filter's bilinear upsampling + apply against np.interp and explicit sums."""
    from skinsmooth_core.filters._guided_kernels import upsample_apply_rows
    from skinsmooth_core.filters.guided import _fit

    rng = np.random.default_rng(factor)
    fit = _fit(n_guide, n_src, self_guided, 1e-2)
    a_index = fit[-1]
    n_coefs = a_index.max() + 1 + n_src
    rows, count = -(-height // factor), -(-width // factor)
    coefs = rng.normal(size=(rows, count, n_coefs))
    guide = rng.random((height, width, n_guide))
    got = np.empty((height, width, n_src))
    upsample_apply_rows(coefs, guide, fit, factor, 0, height, got)
    # low-resolution sample i is the centre of full-resolution [i f, (i + 1) f)
    row_position = (np.arange(height) + 0.5) / factor - 0.5
    column_position = (np.arange(width) + 0.5) / factor - 0.5
    along_rows = np.empty((height, count, n_coefs))
    for j in range(count):
        for k in range(n_coefs):
            along_rows[:, j, k] = np.interp(row_position, np.arange(rows), coefs[:, j, k])
    full = np.empty((height, width, n_coefs))
    for y in range(height):
        for k in range(n_coefs):
            full[y, :, k] = np.interp(column_position, np.arange(count), along_rows[y, :, k])
    expected = np.empty((height, width, n_src))
    for c in range(n_src):
        expected[..., c] = full[..., a_index.max() + 1 + c]
        for g in range(n_guide):
            expected[..., c] += full[..., a_index[g, c]] * guide[..., g]
    # float64 both: each coefficient is two lerps (6 roundings of values <= max |coef|),
    # then G products and G additions: gamma(G + 7) * (G + 1) max |coef| (guide in [0, 1))
    bound = gamma(n_guide + 7, U64) * (n_guide + 1) * np.abs(coefs).max()
    np.testing.assert_allclose(got, expected, rtol=0, atol=bound)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rgb_fast_path_equals_generic_path(astronaut, dtype):
    """The unrolled loops for a self-guided colour image (chosen in guided.py) give the
    generic loops' result: filtered rows, mean coefficients and the fast filter's output."""
    from skinsmooth_core.filters._guided_kernels import (
        guided_coefficients,
        guided_rows,
        upsample_apply_rows,
    )
    from skinsmooth_core.filters.guided import _fit

    image = as_dtype(astronaut[:37, 180:230], dtype)
    radius, eps, factor = 6, 1e-2, 3
    height, width = image.shape[:2]
    fast, generic = _fit(3, 3, True, eps), _fit(3, 3, True, eps, rgb=False)
    assert fast[1] and not generic[1]
    small_shape = (-(-height // factor), -(-width // factor))
    coefs = np.random.default_rng(0).normal(size=small_shape + (9,))
    results = []
    for fit in (fast, generic):
        rows = np.empty_like(image)
        guided_rows(image, image, fit, radius, 0, height, rows)
        means = np.empty(image.shape[:2] + (9,))
        guided_coefficients(image, image, fit, radius, 0, height, means)
        upsampled = np.empty(image.shape, np.float64)
        upsample_apply_rows(coefs, image.astype(np.float64), fit, factor, 0, height, upsampled)
        results.append((rows, means, upsampled))
    (rows, means, upsampled), (rows_generic, means_generic, upsampled_generic) = results
    # Both paths form the same sums and products, in other orders (fastmath): each is within
    # ours_guided of the exact filter (the fit's error analysis holds for any order), stored
    # in `dtype`, so they are at most twice that apart.
    bound = ours_guided(eps, 3, True, image.shape, radius)
    np.testing.assert_allclose(rows, rows_generic, rtol=0, atol=2 * output(dtype, bound))
    # The mean coefficients: each a and b of the fit within ours_guided (its G da + db term
    # bounds both), then their window mean slides in float64 over values |a| <= 1,
    # |b| <= 1 + G = 4 (running_window_sum, times 4) and is scaled once (gamma(1) of 4).
    count = (2 * radius + 1) ** 2
    mean = bound + 4 * (running_window_sum(count, height, width) + gamma(1, U64))
    np.testing.assert_allclose(means, means_generic, rtol=0, atol=2 * mean)
    # Upsampling and applying float64 coefficients: each within gamma(G + 7) (G + 1)
    # max |coef| of the exact interpolation (test_upsampling_matches_interpolation).
    bound = gamma(3 + 7, U64) * (3 + 1) * np.abs(coefs).max()
    np.testing.assert_allclose(upsampled, upsampled_generic, rtol=0, atol=2 * bound)


def test_area_downsampling_matches_block_means():
    """Block means with the last partial blocks edge-replicated, against numpy."""
    from skinsmooth_core.filters.guided import _downsample

    image = np.random.default_rng(0).random((11, 14, 3)).astype(np.float32)
    padded = np.pad(image, ((0, 1), (0, 1), (0, 0)), mode="edge").astype(np.float64)
    expected = padded.reshape(4, 3, 5, 3, 3).mean(axis=(1, 3))
    # float64 sums of 9 values < 1 and a scale (gamma(10)), stored in float32
    np.testing.assert_allclose(
        _downsample(image, 3), expected, rtol=0, atol=output(np.float32, gamma(10, U64))
    )


@pytest.mark.parametrize("guide_dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("guide_channels, low_channels", [(3, 0), (1, 0), (3, 3)])
@pytest.mark.parametrize("factor", [1, 3, 7])
def test_guided_upsample_is_the_fast_filter_from_block_means(
    astronaut_small, guide_dtype, guide_channels, low_channels, factor
):
    """guided_upsample of a map's block means is the fast guided filter of the map: the
    same fit and upsampling, only the guide scaled after its block means instead of before
    and the a coefficients scaled (a few float32 roundings of values in [0, 1] and of
    coefficients up to 1 / eps times the window's spread)."""
    guide = as_dtype(with_channels(astronaut_small, guide_channels), guide_dtype)
    rng = np.random.default_rng(factor)
    shape = astronaut_small.shape[:2] + ((low_channels,) if low_channels else ())
    values = ndi.gaussian_filter(rng.random(shape), (4, 4, 0)[: len(shape)]).astype(np.float32)
    blocks = _block_means(values.reshape(shape[:2] + (-1,)), factor)
    low = blocks[:, :, 0] if not low_channels else blocks
    got = guided_upsample(low, guide, radius=10, eps=1e-3, factor=factor)
    expected = guided_filter(values, guide, radius=10, eps=1e-3, subsample=factor)
    assert got.shape == expected.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=64 * U32)


def _block_means(values, factor):
    """factor x factor block means, the last blocks edge-replicated to whole blocks."""
    height, width = values.shape[:2]
    rows, cols = -(-height // factor) * factor, -(-width // factor) * factor
    padded = np.pad(values, ((0, rows - height), (0, cols - width), (0, 0)), mode="edge")
    blocks = padded.reshape(rows // factor, factor, cols // factor, factor, -1)
    return blocks.mean(axis=(1, 3), dtype=np.float64).astype(np.float32)


def test_guided_upsample_rejects_bad_input(astronaut_small):
    low = np.zeros((64, 64), np.float32)
    with pytest.raises(ValueError, match=r"low has shape \(64, 64\); .* it must be 32 x 32"):
        guided_upsample(low, astronaut_small, factor=3)
    with pytest.raises(ValueError, match="low must hold finite floats"):
        guided_upsample(np.zeros((32, 32), np.uint8), astronaut_small, factor=3)
    with pytest.raises(ValueError, match="factor"):
        guided_upsample(low, astronaut_small, factor=0)
