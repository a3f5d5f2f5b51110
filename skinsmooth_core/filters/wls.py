"""Weighted least squares (WLS) edge-preserving smoothing, Farbman et al. 2008."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._image import check_float, filter_image

# Farbman et al.'s constants: the floor of the gradient term, and the offset that keeps
# log(0) finite (uint8 black next to 1/255 is then a jump of 3.7 in log luminance).
_GRADIENT_EPS = 1e-4
_LOG_EPS = 1e-4
_REC709 = np.array([0.2126, 0.7152, 0.0722])

# Direct up to 2.1 MP: at 2 MP the LU takes 26 CPU s and 3.2 GB, the iterative solver 101 CPU s
# and 1.1 GB; the LU's memory grows faster than the pixel count (a 12 MP one would not fit).
_DIRECT_MAX_PIXELS = 2_100_000
_COARSEST_PIXELS = 4096  # multigrid: solved directly at or below this size
_MAX_ITERATIONS = 500
_SOLVERS = ("auto", "direct", "iterative")


def wls_filter(image, lam=1.0, alpha=1.2, *, solver="auto", tol=1e-4):
    """Edge-preserving smoothing by weighted least squares (Farbman et al. 2008).

    Finds the image ``u`` closest to the input ``g`` under a smoothness term that
    is weak across edges of the log luminance ``l = log(Y + 1e-4)``:

        minimise  sum_p (u_p - g_p)**2
                  + lam * sum_(p,q neighbours) a_pq (u_p - u_q)**2,
        a_pq = 1 / (|l_p - l_q|**alpha + 1e-4)

    i.e. solves ``(I + lam * L_a) u = g`` with ``L_a`` the 5-point graph
    Laplacian weighted by ``a`` (a ``scipy.sparse`` matrix). Colour images use one
    matrix (guide: the Rec. 709 luminance) and solve every channel with it.

    Parameters
    ----------
    image : ndarray
        H x W or H x W x C image (C = 1, 3 or 4; the alpha channel of an RGBA
        image is returned untouched), dtype uint8, uint16, float32 or float64.
    lam : float, optional
        Smoothness weight, > 0 (Farbman's lambda). Larger is smoother.
    alpha : float, optional
        Edge sensitivity, > 0 (Farbman uses 1.2 to 2). Larger keeps more edges.
    solver : {"auto", "direct", "iterative"}, optional
        ``"direct"``: sparse LU factorisation (SuperLU, minimum-degree ordering)
        computed once and reused for all channels; exact to round-off.
        ``"iterative"``: conjugate gradients preconditioned by a multigrid
        V-cycle (2 x 2 aggregation with Galerkin coarse operators, red-black
        Gauss-Seidel smoothing, direct solve below 4096 unknowns), started from
        the input image, all channels at once; stops when every channel's
        residual is below ``tol`` times its right-hand side.
        ``"auto"`` (default): direct up to 2.1 megapixels, iterative above
        (the LU factors of a 12 MP image would need tens of GB).
    tol : float, optional
        Relative residual of the iterative solver, > 0 and < 1. As the system
        matrix has eigenvalues >= 1, the root-mean-square error of the result
        is at most ``tol`` times the largest input value.

    Returns
    -------
    ndarray
        The smoothed image, same shape and dtype as `image`.

    Warns
    -----
    RuntimeWarning
        If the iterative solver stops after 500 iterations above `tol`.

    Notes
    -----
    Borders: the smoothness term only couples pixels inside the image (natural
    boundary condition), as in Farbman et al.'s code. Computations are in
    float64. Measured cost (``docs/benchmarks.md``): the direct solve takes
    about 9 CPU seconds for 1 MP and 26 CPU seconds and 3.2 GB for 2 MP; the
    iterative solver needs many iterations on this system (the weights span 4
    orders of magnitude): about 45 CPU seconds for 1 MP and 100 for 2 MP
    (1.1 GB) at ``tol=1e-4``, so a 12 MP image takes many minutes.

    References
    ----------
    .. [1] Z. Farbman, R. Fattal, D. Lischinski and R. Szeliski, "Edge-preserving
           decompositions for multi-scale tone and detail manipulation",
           ACM Transactions on Graphics 27(3), 2008.

    Examples
    --------
    >>> from skimage import data
    >>> from skinsmooth_core.filters import wls_filter
    >>> face = data.astronaut()[40:200, 150:290]
    >>> smooth = wls_filter(face, lam=1.0, alpha=1.2)
    >>> smooth.shape, smooth.dtype
    ((160, 140, 3), dtype('uint8'))
    """
    lam = check_float(lam, "lam", minimum=0.0, inclusive=False)
    alpha = check_float(alpha, "alpha", minimum=0.0, inclusive=False)
    tol = check_float(tol, "tol", minimum=0.0, inclusive=False, maximum=1.0)
    if solver not in _SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(map(repr, _SOLVERS))}, got {solver!r}")

    def kernel(colour):
        height, width, channels = colour.shape
        values = colour.astype(np.float64)
        luminance = values[:, :, 0] if channels == 1 else values @ _REC709
        guide = np.log(np.maximum(luminance, 0.0) + _LOG_EPS)
        weight_x, weight_y = _smoothness_weights(guide, lam, alpha)
        rhs = values.reshape(-1, channels)
        use_direct = solver == "direct" or (
            solver == "auto" and height * width <= _DIRECT_MAX_PIXELS
        )
        if use_direct:
            matrix = _system_matrix(np.ones((height, width)), weight_x, weight_y)
            solution = _solve_direct(matrix, rhs)
        else:
            solution = _solve_multigrid_cg(weight_x, weight_y, rhs, tol)
        return solution.reshape(colour.shape).astype(colour.dtype)

    return filter_image(image, kernel)


def _smoothness_weights(guide, lam, alpha):
    """lam * a_pq for horizontal (H x W-1) and vertical (H-1 x W) neighbour pairs."""
    weight_x = lam / (np.abs(np.diff(guide, axis=1)) ** alpha + _GRADIENT_EPS)
    weight_y = lam / (np.abs(np.diff(guide, axis=0)) ** alpha + _GRADIENT_EPS)
    return weight_x, weight_y


def _system_matrix(mass, weight_x, weight_y):
    """CSR matrix diag(mass) + weighted 5-point Laplacian, pixels in raster order."""
    height, width = mass.shape
    index = np.arange(height * width).reshape(height, width)
    first = np.concatenate([index[:, :-1].ravel(), index[:-1, :].ravel()])
    second = np.concatenate([index[:, 1:].ravel(), index[1:, :].ravel()])
    weight = np.concatenate([weight_x.ravel(), weight_y.ravel()])
    degree = mass.ravel().copy()
    np.add.at(degree, first, weight)
    np.add.at(degree, second, weight)
    rows = np.concatenate([index.ravel(), first, second])
    cols = np.concatenate([index.ravel(), second, first])
    values = np.concatenate([degree, -weight, -weight])
    return sp.csr_matrix((values, (rows, cols)), shape=(height * width,) * 2)


def _solve_direct(matrix, rhs):
    # SPD and diagonally dominant: no pivoting, symmetric ordering of A + A^T
    factor = spla.splu(
        matrix.tocsc(),
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )
    return factor.solve(rhs)


class _Level:
    """One multigrid level in red-black order (red pixels first)."""

    def __init__(self, mass, weight_x, weight_y):
        height, width = mass.shape
        rows, cols = np.indices((height, width))
        red = ((rows + cols) % 2 == 0).ravel()
        self.order = np.concatenate([np.flatnonzero(red), np.flatnonzero(~red)])
        self.n_red = int(red.sum())
        matrix = _system_matrix(mass, weight_x, weight_y)
        self.matrix = matrix[self.order][:, self.order].tocsr()
        n_red = self.n_red
        self.red_black = self.matrix[:n_red, n_red:].tocsr()
        self.black_red = self.matrix[n_red:, :n_red].tocsr()
        diagonal = self.matrix.diagonal()
        self.red_diag = diagonal[:n_red, None]
        self.black_diag = diagonal[n_red:, None]
        self.shape = (height, width)
        self.coarse = None
        self.lu = None

    def smooth_forward(self, rhs, x):
        """Red then black Gauss-Seidel half sweeps (x updated in place)."""
        n_red = self.n_red
        x[:n_red] = (rhs[:n_red] - self.red_black @ x[n_red:]) / self.red_diag
        x[n_red:] = (rhs[n_red:] - self.black_red @ x[:n_red]) / self.black_diag

    def smooth_backward(self, rhs, x):
        n_red = self.n_red
        x[n_red:] = (rhs[n_red:] - self.black_red @ x[:n_red]) / self.black_diag
        x[:n_red] = (rhs[:n_red] - self.red_black @ x[n_red:]) / self.red_diag

    def v_cycle(self, rhs):
        """Approximate A^-1 rhs: a symmetric positive definite preconditioner."""
        if self.lu is not None:
            return self.lu.solve(rhs)
        x = np.zeros_like(rhs)
        self.smooth_forward(rhs, x)
        residual = rhs - self.matrix @ x
        x += self.prolong @ self.coarse.v_cycle(self.restrict @ residual)
        self.smooth_backward(rhs, x)
        return x


def _aggregate(mass, weight_x, weight_y):
    """Galerkin coarsening by 2 x 2 aggregation: sums of masses and of crossing weights."""
    height, width = mass.shape
    coarse_h, coarse_w = (height + 1) // 2, (width + 1) // 2
    padded = np.zeros((2 * coarse_h, 2 * coarse_w))
    padded[:height, :width] = mass
    coarse_mass = padded.reshape(coarse_h, 2, coarse_w, 2).sum(axis=(1, 3))
    padded_x = np.zeros((2 * coarse_h, 2 * coarse_w - 1))
    padded_x[:height, : width - 1] = weight_x
    coarse_x = padded_x[:, 1::2].reshape(coarse_h, 2, coarse_w - 1).sum(axis=1)
    padded_y = np.zeros((2 * coarse_h - 1, 2 * coarse_w))
    padded_y[: height - 1, :width] = weight_y
    coarse_y = padded_y[1::2, :].reshape(coarse_h - 1, coarse_w, 2).sum(axis=2)
    return coarse_mass, coarse_x, coarse_y


def _build_hierarchy(weight_x, weight_y):
    mass = np.ones((weight_x.shape[0], weight_y.shape[1]))
    finest = level = _Level(mass, weight_x, weight_y)
    while mass.size > _COARSEST_PIXELS and min(mass.shape) > 1:
        mass, weight_x, weight_y = _aggregate(mass, weight_x, weight_y)
        coarse = _Level(mass, weight_x, weight_y)
        height, width = level.shape
        rows, cols = np.indices((height, width))
        aggregate = ((rows // 2) * coarse.shape[1] + cols // 2).ravel()
        position = np.empty_like(coarse.order)
        position[coarse.order] = np.arange(coarse.order.size)
        n = height * width
        level.prolong = sp.csr_matrix(
            (np.ones(n), position[aggregate[level.order]], np.arange(n + 1)),
            shape=(n, coarse.order.size),
        )
        level.restrict = level.prolong.T.tocsr()
        level.coarse = coarse
        level = coarse
    level.lu = spla.splu(level.matrix.tocsc())
    return finest


def _solve_multigrid_cg(weight_x, weight_y, rhs, tol):
    """Preconditioned conjugate gradients, one independent run per column, vectorised."""
    finest = _build_hierarchy(weight_x, weight_y)
    matrix = finest.matrix
    b = rhs[finest.order]
    x = b.copy()  # warm start: the input image
    r = b - matrix @ x
    target = tol * np.linalg.norm(b, axis=0)
    z = finest.v_cycle(r)
    p = z.copy()
    rz = np.einsum("ij,ij->j", r, z)
    for _ in range(_MAX_ITERATIONS):
        if (np.linalg.norm(r, axis=0) <= target).all():
            break
        q = matrix @ p
        step = rz / np.maximum(np.einsum("ij,ij->j", p, q), np.finfo(float).tiny)
        x += step * p
        r -= step * q
        z = finest.v_cycle(r)
        rz_next = np.einsum("ij,ij->j", r, z)
        p = z + (rz_next / np.maximum(rz, np.finfo(float).tiny)) * p
        rz = rz_next
    else:
        achieved = (np.linalg.norm(r, axis=0) / np.maximum(target / tol, 1e-300)).max()
        warnings.warn(
            f"wls_filter: iterative solver stopped after {_MAX_ITERATIONS} iterations at "
            f"relative residual {achieved:.2g} > tol={tol:g}",
            RuntimeWarning,
            stacklevel=3,
        )
    solution = np.empty_like(x)
    solution[finest.order] = x
    return solution
