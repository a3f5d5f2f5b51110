"""Weighted least squares (WLS) edge-preserving smoothing, Farbman et al. 2008."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._image import check_float, filter_image
from ._boxmg import CHANNELS, Hierarchy, five_point_stencil
from ._jit import jit

# Farbman et al.'s constants: the floor of the gradient term, and the offset that keeps
# log(0) finite (uint8 black next to 1/255 is then a jump of 3.7 in log luminance).
_GRADIENT_EPS = 1e-4
_LOG_EPS = 1e-4
_REC709 = np.array([0.2126, 0.7152, 0.0722])

# "auto" solves directly up to this size (fast there, and exact to round-off)
_DIRECT_MAX_PIXELS = 1 << 16
_COARSEST_PIXELS = 256  # multigrid: dense solve at or below this size
# pixels joined by weights >= this fraction of the largest weight form clusters
_STRONG = 0.01
_MAX_ITERATIONS = 200
_TINY = np.finfo(float).tiny
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
        computed once and reused for all channels; exact to round-off, but its
        time and memory grow faster than the pixel count (a 12 MP image does
        not fit in memory).
        ``"iterative"``: conjugate gradients, started from the input image, all
        channels at once, preconditioned by black-box multigrid (Dendy 1982:
        operator-dependent interpolation, Galerkin coarse grids, alternating
        zebra line Gauss-Seidel) combined with an exact correction on clusters
        of near-equal neighbouring pixels (see Notes); stops when the residual
        guarantees the accuracy `tol`.
        ``"auto"`` (default): direct up to 65536 pixels, iterative above.
    tol : float, optional
        Accuracy of the iterative solver, > 0 and < 1: it stops when every
        pixel's residual ``|g - (I + lam L_a) u|`` is at most ``tol`` times the
        largest input value, which bounds the error of every output pixel by
        the same amount (the system matrix is an M-matrix with unit row sums,
        so its inverse has max-norm 1). The default 1e-4 is 40 times finer than
        a uint8 step; actual errors are far smaller (``docs/benchmarks.md``).

    Returns
    -------
    ndarray
        The smoothed image, same shape and dtype as `image`.

    Warns
    -----
    RuntimeWarning
        If the iterative solver stops after 200 iterations above `tol`.

    Notes
    -----
    Borders: the smoothness term only couples pixels inside the image (natural
    boundary condition), as in Farbman et al.'s code. The system is solved in
    float64 (the multigrid part of the preconditioner runs in float32).

    The weights span 4 orders of magnitude, and in noisy (above all dark)
    regions equal pixels form thin clusters joined by weights of 1e4 but tied
    to their surroundings by weights near 1: their near-constant modes escape
    local smoothers and 2 x 2 coarse grids, so multigrid alone converges
    slowly. The preconditioner therefore adds an exact solve on the span of
    the clusters (pixels joined by weights of at least 0.01 times the largest;
    one sparse LU of their small Galerkin matrix) before and after the
    black-box multigrid V-cycle. Iteration counts, timings and the solvers
    tried: ``docs/benchmarks.md``.

    References
    ----------
    .. [1] Z. Farbman, R. Fattal, D. Lischinski and R. Szeliski, "Edge-preserving
           decompositions for multi-scale tone and detail manipulation",
           ACM Transactions on Graphics 27(3), 2008.
    .. [2] J. E. Dendy, "Black box multigrid", Journal of Computational
           Physics 48(3), 366-386, 1982.

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
        use_direct = solver == "direct" or (
            solver == "auto" and height * width <= _DIRECT_MAX_PIXELS
        )
        if use_direct:
            matrix = _system_matrix(np.ones((height, width)), weight_x, weight_y)
            solution = _factorise(matrix).solve(values.reshape(-1, channels))
        else:
            solution = _solve_multigrid_cg(weight_x, weight_y, values, tol)
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


def _factorise(matrix):
    """Sparse LU of an SPD, diagonally dominant matrix: no pivoting, ordering of A + A^T."""
    return spla.splu(
        matrix.tocsc(),
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )


@jit
def _find(parent, node):
    """Root of `node` in a union-find forest (with path halving)."""
    while parent[node] != node:
        parent[node] = parent[parent[node]]
        node = parent[node]
    return node


@jit
def _label_clusters(weight_x, weight_y, strong, labels):
    """Number the clusters: connected pixels joined by weights >= `strong`.

    ``labels`` (padded H+2 x W+2, filled with -1) gets each clustered pixel's
    cluster number, in raster order of first pixels; pixels alone keep -1.
    Returns the number of clusters.
    """
    height, width = labels.shape[0] - 2, labels.shape[1] - 2
    parent = np.arange(height * width)
    for i in range(height):
        for j in range(width):
            for joined, neighbour in (
                (j + 1 < width and weight_x[i, min(j, width - 2)] >= strong, i * width + j + 1),
                (i + 1 < height and weight_y[min(i, height - 2), j] >= strong, (i + 1) * width + j),
            ):
                if joined:
                    first, second = _find(parent, i * width + j), _find(parent, neighbour)
                    parent[max(first, second)] = min(first, second)
    size = np.zeros(height * width, np.int64)
    for node in range(height * width):
        size[_find(parent, node)] += 1
    number = np.full(height * width, -1, np.int64)
    count = 0
    for node in range(height * width):
        root = parent[node] if parent[node] == node else _find(parent, node)
        if size[root] > 1:
            if number[root] < 0:
                number[root] = count
                count += 1
            labels[node // width + 1, node % width + 1] = number[root]
    return count


@jit
def _cluster_matrix(labels, weight_x, weight_y, count):
    """Z^T A Z for the cluster indicators Z: its diagonal (cluster sizes plus the weights
    leaving each cluster) and, once per edge between two clusters, (first, second, weight)."""
    height, width = labels.shape[0] - 2, labels.shape[1] - 2
    diagonal = np.zeros(count)
    edges = 0
    for step in range(2):  # count, then fill
        if step == 1:
            first = np.empty(edges, np.int64)
            second = np.empty(edges, np.int64)
            weight = np.empty(edges)
            edges = 0
        for i in range(height):
            for j in range(width):
                here = labels[i + 1, j + 1]
                if step == 0 and here >= 0:
                    diagonal[here] += 1.0
                for there, value in (
                    (
                        labels[i + 1, j + 2],
                        weight_x[i, min(j, width - 2)] if j + 1 < width else 0.0,
                    ),
                    (
                        labels[i + 2, j + 1],
                        weight_y[min(i, height - 2), j] if i + 1 < height else 0.0,
                    ),
                ):
                    if value == 0.0 or here == there:
                        continue
                    if step == 0:
                        if here >= 0:
                            diagonal[here] += value
                        if there >= 0:
                            diagonal[there] += value
                    if here >= 0 and there >= 0:
                        if step == 1:
                            first[edges], second[edges], weight[edges] = here, there, value
                        edges += 1
    return diagonal, first, second, weight


@jit
def _cluster_sums(labels, values, out, first_row, stop_row):
    """out[k] += sum of `values` over the pixels labelled k on rows [first_row, stop_row)."""
    for i in range(first_row, stop_row):
        for j in range(labels.shape[1]):
            label = labels[i, j]
            if label >= 0:
                for c in range(CHANNELS):
                    out[label, c] += values[i, j, c]


@jit
def _cluster_spread(labels, per_cluster, out, accumulate, first_row, stop_row):
    """out[pixel] (+)= per_cluster[label of pixel] (0 outside clusters), on some rows."""
    for i in range(first_row, stop_row):
        for j in range(labels.shape[1]):
            label = labels[i, j]
            for c in range(CHANNELS):
                value = per_cluster[label, c] if label >= 0 else 0.0
                out[i, j, c] = out[i, j, c] + value if accumulate else value


@jit
def _cg_step(x, r, p, minus_ap, step, row_max, first_row, stop_row):
    """x += step * p, r += step * minus_ap (per channel); row_max[i] = max |r| on row i."""
    for i in range(first_row, stop_row):
        for c in range(CHANNELS):
            row_max[i, c] = 0.0
        for j in range(x.shape[1]):
            for c in range(CHANNELS):
                x[i, j, c] += step[c] * p[i, j, c]
                r[i, j, c] += step[c] * minus_ap[i, j, c]
                row_max[i, c] = max(row_max[i, c], abs(r[i, j, c]))


@jit
def _row_dots(a, b, row_sums, first_row, stop_row):
    """row_sums[i, c] = sum over row i of a * b (channel c)."""
    for i in range(first_row, stop_row):
        for c in range(CHANNELS):
            row_sums[i, c] = 0.0
        for j in range(a.shape[1]):
            for c in range(CHANNELS):
                row_sums[i, c] += a[i, j, c] * b[i, j, c]


@jit
def _new_direction(p, z, beta, first_row, stop_row):
    """p = z + beta * p (per channel)."""
    for i in range(first_row, stop_row):
        for j in range(p.shape[1]):
            for c in range(CHANNELS):
                p[i, j, c] = z[i, j, c] + beta[c] * p[i, j, c]


class _ClusterCorrection:
    """Exact correction on the piecewise constants over strongly coupled clusters.

    Pixels joined by weights of at least `strong` form clusters (connected
    components); ``Z`` is their indicator matrix. ``add_to(r, out, ...)`` adds
    ``Z (Z^T A Z)^-1 Z^T r`` to `out`: the coarse-grid correction of a two-level
    method whose coarse space the geometric multigrid misses (thin clusters of
    equal pixels in noise, weakly tied to their surroundings, have near-constant
    low-energy modes that 2 x 2 coarsening cannot represent).
    """

    def __init__(self, weight_x, weight_y, strong):
        height, width = weight_x.shape[0], weight_y.shape[1]
        # 1-pixel-wide images: empty weight arrays get a dummy entry the kernels never use
        weight_x = weight_x if weight_x.size else np.zeros((height, 1))
        weight_y = weight_y if weight_y.size else np.zeros((1, width))
        self.labels = np.full((height + 2, width + 2), -1, np.int64)
        self.count = _label_clusters(weight_x, weight_y, strong, self.labels)
        if self.count:
            diagonal, first, second, weight = _cluster_matrix(
                self.labels, weight_x, weight_y, self.count
            )
            rows = np.concatenate([np.arange(self.count), first, second])
            columns = np.concatenate([np.arange(self.count), second, first])
            values = np.concatenate([diagonal, -weight, -weight])
            shape = (self.count, self.count)
            self.factor = _factorise(sp.csc_matrix((values, (rows, columns)), shape=shape))

    def add_to(self, residual, out, hierarchy, accumulate=True):
        """out (+)= Z (Z^T A Z)^-1 Z^T residual, on `hierarchy`'s threads."""
        if not self.count:
            if not accumulate:
                out.fill(0.0)
            return out
        rows = residual.shape[0] - 2
        sums = hierarchy.run_sum(
            _cluster_sums, rows, residual, (self.count, CHANNELS), self.labels, residual
        )
        per_cluster = self.factor.solve(sums)
        hierarchy.run(_cluster_spread, rows, out, self.labels, per_cluster, out, accumulate)
        return out


def _solve_multigrid_cg(weight_x, weight_y, rhs, tol):
    """Conjugate gradients preconditioned by black-box multigrid and the cluster correction.

    `rhs` is H x W x C; returns the solution, with max |A x - rhs| <= tol * max |rhs|.
    """
    height, width, channels = rhs.shape
    if channels != CHANNELS:  # grey: solved as 3 equal channels (the kernels' fixed count)
        rhs = np.repeat(rhs, CHANNELS, axis=2)
    stencil = five_point_stencil(weight_x, weight_y)
    hierarchy = Hierarchy(stencil, _COARSEST_PIXELS)
    clusters = _ClusterCorrection(
        weight_x, weight_y, _STRONG * max(weight_x.max(initial=0), weight_y.max(initial=0))
    )
    b = np.zeros((height + 2, width + 2, CHANNELS))
    b[1:-1, 1:-1] = rhs
    target = tol * np.abs(rhs).max()

    z, scratch = np.zeros_like(b), np.zeros_like(b)
    row_values = np.zeros((height + 2, CHANNELS))
    run = hierarchy.run

    def precondition(r):
        """z = M r, symmetric: cluster correction, multigrid V-cycle, cluster correction."""
        clusters.add_to(r, z, hierarchy, accumulate=False)
        hierarchy.add_precondition(hierarchy.residual(r, z, scratch), z)
        return clusters.add_to(hierarchy.residual(r, z, scratch), z, hierarchy)

    def dot(a, c):
        run(_row_dots, height, a, a, c, row_values)
        return row_values.sum(axis=0)

    with hierarchy:
        x = b.copy()  # warm start: the input image
        r = hierarchy.residual(b, x, np.zeros_like(b))
        residual_max = np.abs(r).max(axis=(0, 1))
        minus_ap = np.zeros_like(b)
        p = rz = None
        for _ in range(_MAX_ITERATIONS):
            if (residual_max <= target).all():
                # the recurrence drifts from the true residual: confirm before stopping
                hierarchy.residual(b, x, r)
                residual_max = np.abs(r).max(axis=(0, 1))
                if (residual_max <= target).all():
                    break
                p = None
            precondition(r)
            rz_next = dot(r, z)
            if p is None:
                p = z.copy()
            else:
                run(_new_direction, height, p, p, z, rz_next / np.maximum(rz, _TINY))
            rz = rz_next
            hierarchy.residual(None, p, minus_ap)
            step = rz / np.maximum(-dot(p, minus_ap), _TINY)
            run(_cg_step, height, x, x, r, p, minus_ap, step, row_values)
            residual_max = row_values.max(axis=0)
        else:
            warnings.warn(
                f"wls_filter: iterative solver stopped after {_MAX_ITERATIONS} iterations at "
                f"max residual {residual_max.max():.2g} > tol * max(image) = {target:.2g}",
                RuntimeWarning,
                stacklevel=3,
            )
    return x[1:-1, 1:-1, :channels]
