"""wls_filter against a direct sparse solve of the Farbman et al. system written here."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from blur_checks import ATOL, BAD_IMAGES, SCALE, colour_of, with_channels
from conftest import DTYPES, as_dtype
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skinsmooth_core.filters import wls as wls_module
from skinsmooth_core.filters import wls_filter


def reference_wls(colour, lam, alpha):
    """(I + lam L_a) u = g, assembled pixel pair by pair and solved with spsolve.

    `colour` is float64 H x W x C on [0, 1]; the guide is log(Y + 1e-4) with Rec. 709 Y.
    """
    height, width, channels = colour.shape
    if channels == 1:
        luminance = colour[:, :, 0]
    else:
        luminance = 0.2126 * colour[:, :, 0] + 0.7152 * colour[:, :, 1] + 0.0722 * colour[:, :, 2]
    guide = np.log(luminance + 1e-4)
    index = np.arange(height * width).reshape(height, width)
    rows, cols, vals = [], [], []
    diagonal = np.ones(height * width)
    for dy, dx in [(0, 1), (1, 0)]:
        for y in range(height - dy):
            for x in range(width - dx):
                p, q = index[y, x], index[y + dy, x + dx]
                a = lam / (abs(guide[y, x] - guide[y + dy, x + dx]) ** alpha + 1e-4)
                rows += [p, q]
                cols += [q, p]
                vals += [-a, -a]
                diagonal[p] += a
                diagonal[q] += a
    matrix = sp.csc_matrix(
        (
            np.concatenate([vals, diagonal]),
            (rows + list(range(height * width)), cols + list(range(height * width))),
        ),
        shape=(height * width,) * 2,
    )
    solution = spla.spsolve(matrix, colour.reshape(-1, channels))
    return solution.reshape(colour.shape)


@pytest.fixture(scope="module")
def crop(astronaut_small):
    return np.ascontiguousarray(astronaut_small[20:60, 30:80])  # 40 x 50: eye and skin


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_matches_direct_spsolve(crop, dtype, channels):
    image = as_dtype(with_channels(crop, channels), dtype)
    out = wls_filter(image, lam=0.5, alpha=1.2)
    assert out.shape == image.shape and out.dtype == image.dtype
    scale = SCALE[dtype]
    expected = reference_wls(colour_of(image) / scale, 0.5, 1.2) * scale
    np.testing.assert_allclose(colour_of(out), expected, rtol=0, atol=ATOL[dtype])
    if channels == 4:
        np.testing.assert_array_equal(out[..., 3], image[..., 3])


@pytest.mark.parametrize(("lam", "alpha"), [(0.1, 1.2), (1.0, 1.2), (4.0, 2.0)])
def test_iterative_matches_direct(astronaut, monkeypatch, lam, alpha):
    monkeypatch.setattr(wls_module, "_COARSEST_PIXELS", 64)  # 5 levels on this image
    image = astronaut[100:180, 180:250] / 255.0
    direct = wls_filter(image, lam, alpha, solver="direct")
    iterative = wls_filter(image, lam, alpha, solver="iterative", tol=1e-6)
    # rms error <= tol * max input (eigenvalues >= 1); max error checked loosely
    assert np.sqrt(np.mean((iterative - direct) ** 2)) <= 1e-6
    np.testing.assert_allclose(iterative, direct, atol=1e-4)


@pytest.mark.parametrize("channels", [1, 4])
def test_iterative_grey_and_rgba(astronaut, monkeypatch, channels):
    # grey images go through the 3-channel kernels as 3 equal channels; alpha is kept
    monkeypatch.setattr(wls_module, "_COARSEST_PIXELS", 64)
    image = with_channels(astronaut[100:180, 180:250], channels) / 255.0
    direct = wls_filter(image, 1.0, 1.2, solver="direct")
    iterative = wls_filter(image, 1.0, 1.2, solver="iterative", tol=1e-6)
    assert iterative.shape == image.shape
    assert np.abs(iterative - direct).max() <= 1e-6


def test_iterative_default_tolerance(crop):
    image = crop / 255.0
    direct = wls_filter(image, 1.0, 1.2, solver="direct")
    iterative = wls_filter(image, 1.0, 1.2, solver="iterative")
    assert np.sqrt(np.mean((iterative - direct) ** 2)) <= 1e-4


def test_default_solver_matches_direct_on_a_photo(astronaut):
    # 262144 pixels: "auto" runs the iterative solver; its tolerance bounds every pixel's error
    image = astronaut / 255.0
    direct = wls_filter(image, 1.0, 1.2, solver="direct")
    default = wls_filter(image, 1.0, 1.2)
    assert np.abs(default - direct).max() <= 1e-4
    # a finer tolerance is met too, on a dark noisy patch (clusters of equal pixels)
    dark = np.clip(astronaut[380:508, 0:128] / 255.0 * 0.05, 0, 1)
    fine = wls_filter(dark, 1.0, 1.2, solver="iterative", tol=1e-7)
    exact = wls_filter(dark, 1.0, 1.2, solver="direct")
    assert np.abs(fine - exact).max() <= 1e-7 * dark.max()


def test_smooths_skin_keeps_edges(astronaut):
    image = astronaut[60:220, 150:310] / 255.0
    out = wls_filter(image, lam=1.0, alpha=1.2)
    skin = (slice(50, 90), slice(70, 110))

    def roughness(patch):
        return np.abs(np.diff(patch, axis=1)).mean()

    assert roughness(out[skin]) < 0.8 * roughness(image[skin])
    edge_in = np.abs(np.diff(image[:, :, 1], axis=1)).max()
    edge_out = np.abs(np.diff(out[:, :, 1], axis=1)).max()
    assert edge_out > 0.5 * edge_in


def test_stronger_lambda_smooths_more(crop):
    image = crop / 255.0
    weak, strong = (wls_filter(image, lam) for lam in (0.1, 10.0))
    assert np.abs(strong - image).mean() > np.abs(weak - image).mean()


@settings(max_examples=25, deadline=None)
@given(
    image=st.one_of(
        arrays(
            st.sampled_from([np.uint8, np.uint16, np.float32, np.float64]),
            st.tuples(st.integers(1, 10), st.integers(1, 10), st.sampled_from([1, 3, 4])),
            elements={"min_value": 0, "max_value": 1, "allow_nan": False},
        ),
        arrays(np.uint8, st.tuples(st.integers(1, 10), st.integers(1, 10))),
    ),
    lam=st.floats(1e-3, 100.0),
    alpha=st.floats(0.5, 2.5),
)
def test_shape_dtype_range_and_mean_kept(image, lam, alpha):
    out = wls_filter(image, lam, alpha)
    assert out.shape == image.shape and out.dtype == image.dtype
    colour_in, colour_out = colour_of(image).astype(float), colour_of(out).astype(float)
    # (I + lam L) is an M-matrix with unit row sums: a discrete maximum principle holds
    slack = 1e-3 if image.dtype.kind == "f" else 1
    assert colour_out.min() >= colour_in.min() - slack * colour_in.max()
    assert colour_out.max() <= colour_in.max() + slack * max(colour_in.max(), 1)
    # the Laplacian's columns sum to zero: each channel's mean is preserved
    if image.dtype == np.float64:
        np.testing.assert_allclose(
            colour_out.mean(axis=(0, 1)), colour_in.mean(axis=(0, 1)), atol=1e-9
        )


@settings(max_examples=15, deadline=None)
@given(
    value=st.floats(0, 1),
    shape=st.tuples(st.integers(1, 12), st.integers(1, 12), st.sampled_from([1, 3])),
    lam=st.floats(1e-3, 100.0),
    solver=st.sampled_from(["direct", "iterative"]),
)
def test_constant_stays_constant(value, shape, lam, solver):
    image = np.full(shape, value)
    np.testing.assert_allclose(wls_filter(image, lam, solver=solver), image, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lam": 0}, "lam"),
        ({"lam": -1.0}, "lam"),
        ({"lam": np.nan}, "lam"),
        ({"lam": "big"}, "lam"),
        ({"alpha": 0}, "alpha"),
        ({"alpha": np.inf}, "alpha"),
        ({"solver": "cholmod"}, "solver"),
        ({"tol": 0}, "tol"),
        ({"tol": 2.0}, "tol"),
    ],
)
def test_bad_parameters(crop, kwargs, message):
    with pytest.raises(ValueError, match=message):
        wls_filter(crop, **kwargs)


@pytest.mark.parametrize("image", BAD_IMAGES)
def test_bad_images(image):
    with pytest.raises(ValueError, match="image"):
        wls_filter(image)
