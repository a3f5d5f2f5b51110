"""wls_filter against a direct sparse solve of the Farbman et al. system written here.

Every tolerance is a stated bound (tests/bounds.py). The system matrix A = I + lam L_a (L_a a
weighted graph Laplacian) is an M-matrix with unit row sums, so ||A^-1||_inf = 1: a solution's
error is at most its residual. Direct solves are bounded by their LU factors' backward error
(sparse_lu_solve), the iterative solver by its stopping rule (wls_residual).
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from blur_checks import BAD_IMAGES, as_unit, colour_of, kernel_input
from bounds import U32, U64, gamma, output, sparse_lu_solve, wls_norm, wls_residual, wls_weights
from conftest import DTYPES, as_dtype, roughness, strongest_step, with_channels
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skinsmooth_core.filters import wls as wls_module
from skinsmooth_core.filters import wls_filter

pytestmark = pytest.mark.numerical


def reference_wls(colour, lam, alpha):
    """(I + lam L_a) u = g, assembled pixel pair by pair and solved with spsolve.

    `colour` is float64 H x W x C on [0, 1]; the guide is log(Y + 1e-4) with Rec. 709 Y.
    Returns the solution and the matrix.
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
    return solution.reshape(colour.shape), matrix


def _residual_error(matrix, colour, solution, lam):
    """A posteriori bound of a float64 solution of a WLS system (for the direct solves used
    as references): its residual, evaluated here, through wls_residual."""
    channels = colour.shape[2]
    rhs = colour.reshape(-1, channels)
    residual = np.abs(rhs - matrix @ solution.reshape(-1, channels)).max()
    return wls_residual(residual, np.abs(rhs).max(), lam)


def _kernel_matrix(colour, lam, alpha):
    """The kernel's system matrix for float64 pixels `colour` (H x W x C), rebuilt with
    wls.py's own functions: the same arithmetic on the same pixels, so the same matrix."""
    luminance = colour[:, :, 0] if colour.shape[2] == 1 else colour @ wls_module._REC709
    guide = np.log(np.maximum(luminance, 0.0) + wls_module._LOG_EPS)
    weight_x, weight_y = wls_module._smoothness_weights(guide, lam, alpha)
    return wls_module._system_matrix(np.ones(guide.shape), weight_x, weight_y)


def _direct_error(colour, lam, alpha):
    """A priori bound of the kernel's direct solve for `colour`: sparse_lu_solve on the LU
    factors the kernel computes (wls._factorise), its diagonal assembled to gamma(4)."""
    matrix = _kernel_matrix(colour, lam, alpha)
    factor = wls_module._factorise(matrix)
    return sparse_lu_solve(factor, colour.max(), gamma(4, U64) * matrix.diagonal().max())


def _solution_error(colour, lam, alpha, solution):
    """A posteriori bound of a float64 solution of the kernel's system (the kernel's direct
    solve, used as the reference for the iterative one)."""
    return _residual_error(_kernel_matrix(colour, lam, alpha), colour, solution, lam)


def _iterative(image, lam, alpha, tol=1e-4):
    """wls_filter's iterative solver, failing if it stops on its iteration limit (its error
    bound holds only where it stopped on its residual)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        return wls_filter(image, lam, alpha, solver="iterative", tol=tol)


def _iterative_bound(image, lam, tol):
    """The iterative solver stops once every recomputed float64 residual is at most
    tol * max|g| (wls.py: _solve_multigrid_cg), so its error is wls_residual of that; the
    multigrid's float32 work only steers the iterations, it never enters that residual."""
    rhs_max = np.abs(kernel_input(image)).max()
    return wls_residual(tol * rhs_max, rhs_max, lam)


def _coupling(matrix, solution):
    """max_p sum_q a_pq |u_p - u_q| over the channels: weights all off by a relative rho move
    the solution of (I + L) u = g by at most rho times this ((I + L) du = -dL u, first order
    in rho; the caller adds the second-order term)."""
    entries = sp.coo_matrix(matrix)
    off = entries.row != entries.col
    rows, cols, weights = entries.row[off], entries.col[off], -entries.data[off]
    values = solution.reshape(matrix.shape[0], -1)
    total = np.zeros_like(values)
    np.add.at(total, rows, weights[:, None] * np.abs(values[rows] - values[cols]))
    return total.max()


@pytest.fixture(scope="module")
def crop(astronaut_small):
    return np.ascontiguousarray(astronaut_small[20:60, 30:80])  # 40 x 50: eye and skin


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_matches_direct_spsolve(crop, dtype, channels):
    image = as_dtype(with_channels(crop, channels), dtype)
    out = wls_filter(image, lam=0.5, alpha=1.2)
    assert out.shape == image.shape and out.dtype == image.dtype
    colour = kernel_input(image)  # the pixels the kernel solves for
    expected, matrix = reference_wls(colour, 0.5, 1.2)
    reference_error = _residual_error(matrix, colour, expected, 0.5)
    # both solve A u = g in float64 on the same pixels: the kernel by its LU (bounded a priori
    # by its factors' backward error), the reference to within its residual (a posteriori).
    # The weights, evaluated twice (vectorised and pair by pair), differ by a relative
    # wls_weights(1.2) at most, which moves the solution by that times _coupling (plus its
    # second-order part: the coupling is taken at the computed reference, off by
    # reference_error, and sum_q a_pq <= ||A|| / 2). Then the kernel's store to dtype.
    rho = wls_weights(1.2)
    weights = rho * (_coupling(matrix, expected) + reference_error * wls_norm(0.5))
    bound = output(dtype, _direct_error(colour, 0.5, 1.2) + reference_error + weights)
    if image.dtype.kind == "u":
        bound += U64  # as_unit's division
    np.testing.assert_allclose(as_unit(out), expected, rtol=0, atol=bound)
    if channels == 4:
        np.testing.assert_array_equal(out[..., 3], image[..., 3])


@pytest.mark.parametrize(("lam", "alpha"), [(0.1, 1.2), (1.0, 1.2), (4.0, 2.0)])
def test_iterative_matches_direct(astronaut, monkeypatch, lam, alpha):
    monkeypatch.setattr(wls_module, "_COARSEST_PIXELS", 64)  # 5 levels on this image
    image = astronaut[100:180, 180:250] / 255.0
    direct = wls_filter(image, lam, alpha, solver="direct")
    iterative = _iterative(image, lam, alpha, tol=1e-6)
    # every pixel: the stopping rule's bound (max norm, so also the rms) plus the direct
    # solve's own error, from its residual
    bound = _iterative_bound(image, lam, 1e-6) + _solution_error(image, lam, alpha, direct)
    np.testing.assert_allclose(iterative, direct, rtol=0, atol=bound)


@pytest.mark.parametrize("channels", [1, 4])
def test_iterative_grey_and_rgba(astronaut, monkeypatch, channels):
    # grey images go through the 3-channel kernels as 3 equal channels; alpha is kept
    monkeypatch.setattr(wls_module, "_COARSEST_PIXELS", 64)
    image = with_channels(astronaut[100:180, 180:250], channels) / 255.0
    direct = wls_filter(image, 1.0, 1.2, solver="direct")
    iterative = _iterative(image, 1.0, 1.2, tol=1e-6)
    assert iterative.shape == image.shape
    colour = kernel_input(image)
    bound = _iterative_bound(image, 1.0, 1e-6)
    bound += _solution_error(colour, 1.0, 1.2, kernel_input(direct))
    np.testing.assert_allclose(iterative, direct, rtol=0, atol=bound)


def test_iterative_default_tolerance(crop):
    image = crop / 255.0
    direct = wls_filter(image, 1.0, 1.2, solver="direct")
    iterative = _iterative(image, 1.0, 1.2)
    bound = _iterative_bound(image, 1.0, 1e-4) + _solution_error(image, 1.0, 1.2, direct)
    np.testing.assert_allclose(iterative, direct, rtol=0, atol=bound)


def test_default_solver_matches_direct_on_a_photo(astronaut):
    # 262144 pixels: "auto" runs the iterative solver; its tolerance bounds every pixel's error
    image = astronaut / 255.0
    direct = wls_filter(image, 1.0, 1.2, solver="direct")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # stopped on its residual
        default = wls_filter(image, 1.0, 1.2)
    bound = _iterative_bound(image, 1.0, 1e-4) + _solution_error(image, 1.0, 1.2, direct)
    np.testing.assert_allclose(default, direct, rtol=0, atol=bound)
    # a finer tolerance is met too, on a dark noisy patch (clusters of equal pixels)
    dark = np.clip(astronaut[380:508, 0:128] / 255.0 * 0.05, 0, 1)
    fine = _iterative(dark, 1.0, 1.2, tol=1e-7)
    exact = wls_filter(dark, 1.0, 1.2, solver="direct")
    bound = _iterative_bound(dark, 1.0, 1e-7) + _solution_error(dark, 1.0, 1.2, exact)
    np.testing.assert_allclose(fine, exact, rtol=0, atol=bound)


def test_smooths_skin_keeps_edges(astronaut):
    image = astronaut[60:220, 150:310] / 255.0
    out = wls_filter(image, lam=1.0, alpha=1.2)
    skin = (slice(50, 90), slice(70, 110))
    assert roughness(out[skin]) < 0.8 * roughness(image[skin])
    assert strongest_step(out) > 0.5 * strongest_step(image)


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
    out = wls_filter(image, lam, alpha)  # <= 100 pixels: the direct solve
    assert out.shape == image.shape and out.dtype == image.dtype
    colour_in, colour_out = colour_of(image).astype(float), colour_of(out).astype(float)
    # (I + lam L) is an M-matrix with unit row sums: the exact solution lies in each
    # channel's input range (a discrete maximum principle); the computed one within the
    # direct solve's bound of it
    error = _direct_error(kernel_input(image), lam, alpha)
    if image.dtype.kind == "u":
        # the pixels are within gamma(2) of their levels k / max; a solution within `error`
        # of the range, stored in float32 and scaled (two more roundings), stays within
        # half a level of the end levels, so it rounds to them: no slack at all
        scale = np.iinfo(image.dtype).max
        assert (error + gamma(4, U32)) * scale < 0.5
        slack = 0
    else:
        slack = output(image.dtype, error)  # rounding is monotone: the store adds one u
    assert colour_out.min() >= colour_in.min() - slack
    assert colour_out.max() <= colour_in.max() + slack
    # the Laplacian's columns sum to zero: each channel's mean is preserved. 1^T A = 1^T, so
    # mean(u^ - g) = mean(A u^ - g), the mean residual: within the solve's bound; numpy's
    # two means add gamma(n) of their magnitude each
    if image.dtype == np.float64:
        pixels = colour_in.shape[0] * colour_in.shape[1]
        rounding = gamma(pixels, U64) * (colour_in.max() + colour_out.max())
        np.testing.assert_allclose(
            colour_out.mean(axis=(0, 1)), colour_in.mean(axis=(0, 1)), rtol=0, atol=error + rounding
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
    if solver == "direct":
        out = wls_filter(image, lam, solver="direct")
        bound = _direct_error(image, lam, 1.2)  # the exact solution is the image (L 1 = 0)
        np.testing.assert_allclose(out, image, rtol=0, atol=bound)
        return
    # The warm start (the image) already meets the stopping rule: its residual is the
    # rounding of A 1 value = 1 value, at most gamma(10) (1 + ||A||) value < 1e-4 value, so
    # the solver returns the image itself. Not below: where tol * value underflows, no
    # residual but 0 meets the rule, and the solver runs to its iteration limit and warns.
    assume(value == 0 or value * 1e-4 >= np.finfo(np.float64).tiny)
    assert gamma(10, U64) * (1 + wls_norm(lam)) < 1e-4
    np.testing.assert_array_equal(_iterative(image, lam, 1.2), image)


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
