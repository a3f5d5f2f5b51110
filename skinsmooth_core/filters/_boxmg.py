"""Black-box multigrid (Dendy 1982) for 9-point symmetric stencils on a pixel grid.

Preconditioner for conjugate gradients on ``(I + L_a) u = g`` with ``L_a`` a
weighted 5-point Laplacian whose weights vary over orders of magnitude from one
pixel to the next (WLS smoothing). Standard 2 x 2 coarsening (coarse points are
the pixels with even row and column), operator-dependent interpolation (each
fine pixel is interpolated from its coarse neighbours with weights taken from
its own matrix row, "collapsing" the stencil across the interpolation
direction, so smoothness is only assumed along strong couplings), Galerkin
coarse operators ``P^T A P`` (9-point stencils again), alternating zebra line
Gauss-Seidel smoothing (each row, then each column, solved exactly given its
neighbours: strong couplings along a line are handled by the smoother) and a
dense Cholesky solve on the coarsest grid.

Stencils are stored symmetric, one plane per coupling direction, on grids padded
by one zero pixel on every side (so no kernel needs bounds checks):
``stencil[0]`` the diagonal, ``[1]`` the coupling of (i, j) with (i, j+1), ``[2]``
with (i+1, j), ``[3]`` with (i+1, j+1) and ``[4]`` with (i+1, j-1). Vectors are
padded H+2 x W+2 x 3 arrays (3 right-hand sides at once); their border stays 0.

Kernels run on row bands on the shared thread pool (they release the GIL).
"""

from __future__ import annotations

import numpy as np

from .._parallel import for_bands, run_parallel, worker_count
from ._jit import jit

# the kernels solve this many right-hand sides at once (a constant, so loops over them unroll)
CHANNELS = 3
# grids at or below this many pixels are solved directly (dense Cholesky)
COARSEST_PIXELS = 256
# below this many pixels a level's kernels run on one thread (pool overhead dominates)
_PARALLEL_PIXELS = 1 << 15


@jit
def _line_factors(stencil, axis, pivots, ratios):
    """Thomas-algorithm factors of the tridiagonal blocks of A along rows (axis 1) or columns.

    For each line, ``pivots`` holds the inverse pivots and ``ratios`` the ratios
    (upper coupling / pivot) of the LU factorisation of its block.
    """
    height, width = stencil.shape[1] - 2, stencil.shape[2] - 2
    plane = 1 if axis == 1 else 2
    for i in range(1, height + 1):
        for j in range(1, width + 1):
            if axis == 1:
                lower, previous = stencil[1, i, j - 1], ratios[i, j - 1]
            else:
                lower, previous = stencil[2, i - 1, j], ratios[i - 1, j]
            pivot = 1.0 / (stencil[0, i, j] - lower * previous)
            pivots[i, j] = pivot
            ratios[i, j] = stencil[plane, i, j] * pivot


@jit
def _diagonal_product(stencil, x, i, j, c):
    """Sum over the 4 diagonal neighbours q of (i, j) of A[(i, j), q] * x[q, c]."""
    return (
        stencil[3, i, j] * x[i + 1, j + 1, c]
        + stencil[3, i - 1, j - 1] * x[i - 1, j - 1, c]
        + stencil[4, i, j] * x[i + 1, j - 1, c]
        + stencil[4, i - 1, j + 1] * x[i - 1, j + 1, c]
    )


@jit
def _row_lines(stencil, nine_point, pivots, ratios, rhs, x, parity, from_zero, first_row, stop_row):
    """Solve A's rows-block equations exactly on the rows of one parity in [first_row, stop_row).

    Indices are padded; rows of one parity are not coupled to each other by a 9-point
    stencil, so any split of the rows between threads gives the same result. Without
    `nine_point` the diagonal couplings (all zero) are skipped; with `from_zero` the
    other rows are taken as zero (whatever `x` holds there).
    """
    width = x.shape[1] - 2
    for i in range(first_row + (first_row + parity + 1) % 2, stop_row, 2):
        for j in range(1, width + 1):
            north, south, west = stencil[2, i, j], stencil[2, i - 1, j], stencil[1, i, j - 1]
            pivot = pivots[i, j]
            for c in range(CHANNELS):
                value = rhs[i, j, c] - west * x[i, j - 1, c]
                if not from_zero:
                    value -= north * x[i + 1, j, c] + south * x[i - 1, j, c]
                    if nine_point:
                        value -= _diagonal_product(stencil, x, i, j, c)
                x[i, j, c] = value * pivot
        for j in range(width - 1, 0, -1):
            ratio = ratios[i, j]
            for c in range(CHANNELS):
                x[i, j, c] -= ratio * x[i, j + 1, c]


@jit
def _column_lines(
    stencil, nine_point, pivots, ratios, rhs, x, parity, from_zero, first_column, stop_column
):
    """As `_row_lines` for the columns of one parity in [first_column, stop_column).

    All the columns of a band are swept together, row by row (contiguous memory).
    """
    height = x.shape[0] - 2
    start = first_column + (first_column + parity + 1) % 2
    for i in range(1, height + 1):
        for j in range(start, stop_column, 2):
            east, west, south = stencil[1, i, j], stencil[1, i, j - 1], stencil[2, i - 1, j]
            pivot = pivots[i, j]
            for c in range(CHANNELS):
                value = rhs[i, j, c] - south * x[i - 1, j, c]
                if not from_zero:
                    value -= east * x[i, j + 1, c] + west * x[i, j - 1, c]
                    if nine_point:
                        value -= _diagonal_product(stencil, x, i, j, c)
                x[i, j, c] = value * pivot
    for i in range(height - 1, 0, -1):
        for j in range(start, stop_column, 2):
            ratio = ratios[i, j]
            for c in range(CHANNELS):
                x[i, j, c] -= ratio * x[i + 1, j, c]


@jit
def _residual(stencil, nine_point, rhs, x, out, with_rhs, first_row, stop_row):
    """out = rhs - A x (or -A x without `with_rhs`) on rows [first_row, stop_row) (padded)."""
    width = x.shape[1] - 2
    for i in range(first_row, stop_row):
        for j in range(1, width + 1):
            centre, east, west = stencil[0, i, j], stencil[1, i, j], stencil[1, i, j - 1]
            north, south = stencil[2, i, j], stencil[2, i - 1, j]
            for c in range(CHANNELS):
                value = -centre * x[i, j, c]
                if with_rhs:
                    value += rhs[i, j, c]
                value -= east * x[i, j + 1, c] + west * x[i, j - 1, c]
                value -= north * x[i + 1, j, c] + south * x[i - 1, j, c]
                if nine_point:
                    value -= _diagonal_product(stencil, x, i, j, c)
                out[i, j, c] = value


@jit
def _restrict(weights, fine, coarse, first_row, stop_row):
    """coarse = P^T fine on coarse rows [first_row, stop_row) (padded indices).

    ``weights[2 * di + dj, i, j]`` is fine pixel (i, j)'s weight for coarse pixel
    (i // 2 + di, j // 2 + dj) (unpadded indices).
    """
    coarse_width = coarse.shape[1] - 2
    fine_height, fine_width = fine.shape[0] - 2, fine.shape[1] - 2
    for big_i in range(first_row, stop_row):
        for big_j in range(1, coarse_width + 1):
            for c in range(CHANNELS):
                coarse[big_i, big_j, c] = 0.0
            for row in range(2 * (big_i - 1) - 1, 2 * (big_i - 1) + 2):
                if row < 0 or row >= fine_height:
                    continue
                di = big_i - 1 - row // 2
                for column in range(2 * (big_j - 1) - 1, 2 * (big_j - 1) + 2):
                    if column < 0 or column >= fine_width:
                        continue
                    dj = big_j - 1 - column // 2
                    weight = weights[2 * di + dj, row + 1, column + 1]
                    for c in range(CHANNELS):
                        coarse[big_i, big_j, c] += weight * fine[row + 1, column + 1, c]


@jit
def _prolong_add(weights, coarse, fine, first_row, stop_row):
    """fine += P coarse on fine rows [first_row, stop_row) (padded indices)."""
    width = fine.shape[1] - 2
    for i in range(first_row, stop_row):
        big_i = (i - 1) // 2 + 1
        for j in range(1, width + 1):
            big_j = (j - 1) // 2 + 1
            south_west, south_east = weights[0, i, j], weights[1, i, j]
            north_west, north_east = weights[2, i, j], weights[3, i, j]
            for c in range(CHANNELS):
                fine[i, j, c] += (
                    south_west * coarse[big_i, big_j, c]
                    + south_east * coarse[big_i, big_j + 1, c]
                    + north_west * coarse[big_i + 1, big_j, c]
                    + north_east * coarse[big_i + 1, big_j + 1, c]
                )


@jit
def _split(weights, first, second, i, j, across, first_coupling, second_coupling):
    """Weights of pixel (i, j) for two coarse pixels from its (negative) collapsed couplings.

    Non-negative, summing to at most 1 (a pixel whose collapsed row is not diagonally
    dominant is interpolated as if it were).
    """
    across = max(across, -(first_coupling + second_coupling))
    if across > 0.0:
        weights[first, i, j] = -first_coupling / across
        weights[second, i, j] = -second_coupling / across


@jit
def _interpolation_weights(stencil, weights):
    """Dendy's operator-dependent interpolation weights (see `_restrict` for the layout).

    Positive off-diagonal entries (Galerkin operators have some) are lumped into
    the diagonal, as in classical algebraic multigrid.
    """
    height, width = stencil.shape[1] - 2, stencil.shape[2] - 2
    for row in range(height):
        for column in range(width):
            i, j = row + 1, column + 1
            if row % 2 == 0 and column % 2 == 0:
                weights[0, i, j] = 1.0
                continue
            # couplings: east, west, north, south, north-east, south-west, north-west, south-east
            e, w = stencil[1, i, j], stencil[1, i, j - 1]
            n, s = stencil[2, i, j], stencil[2, i - 1, j]
            ne, sw = stencil[3, i, j], stencil[3, i - 1, j - 1]
            nw, se = stencil[4, i, j], stencil[4, i - 1, j + 1]
            diagonal = stencil[0, i, j]
            diagonal += max(e, 0.0) + max(w, 0.0) + max(n, 0.0) + max(s, 0.0)
            diagonal += max(ne, 0.0) + max(sw, 0.0) + max(nw, 0.0) + max(se, 0.0)
            e, w, n, s = min(e, 0.0), min(w, 0.0), min(n, 0.0), min(s, 0.0)
            ne, sw, nw, se = min(ne, 0.0), min(sw, 0.0), min(nw, 0.0), min(se, 0.0)
            if row % 2 == 0:  # between west and east coarse pixels: collapse vertically
                _split(weights, 0, 1, i, j, diagonal + n + s, w + nw + sw, e + ne + se)
            elif column % 2 == 0:  # between south and north: collapse horizontally
                _split(weights, 0, 2, i, j, diagonal + e + w, s + sw + se, n + nw + ne)
            else:  # both odd: from the corners and the interpolated edge pixels around
                weights[0, i, j] = diagonal  # the lumped diagonal, for pass 2
    # pass 2: pixels with both indices odd, from their own row of A and the pass-1 values
    for row in range(1, height, 2):
        for column in range(1, width, 2):
            i, j = row + 1, column + 1
            diagonal = weights[0, i, j]
            e, w = min(stencil[1, i, j], 0.0), min(stencil[1, i, j - 1], 0.0)
            n, s = min(stencil[2, i, j], 0.0), min(stencil[2, i - 1, j], 0.0)
            ne, sw = min(stencil[3, i, j], 0.0), min(stencil[3, i - 1, j - 1], 0.0)
            nw, se = min(stencil[4, i, j], 0.0), min(stencil[4, i - 1, j + 1], 0.0)
            south_west = sw + w * weights[0, i, j - 1] + s * weights[0, i - 1, j]
            south_east = se + e * weights[0, i, j + 1] + s * weights[1, i - 1, j]
            north_west = nw + w * weights[2, i, j - 1] + n * weights[0, i + 1, j]
            north_east = ne + e * weights[2, i, j + 1] + n * weights[1, i + 1, j]
            # the weights are >= 0; their sum is kept <= 1 where the lumped row is not dominant
            inverse = -1.0 / max(diagonal, -(south_west + south_east + north_west + north_east))
            weights[0, i, j] = inverse * south_west
            weights[1, i, j] = inverse * south_east
            weights[2, i, j] = inverse * north_west
            weights[3, i, j] = inverse * north_east


@jit
def _matrix_entry(stencil, i, j, di, dj):
    """A[(i, j), (i + di, j + dj)] for |di|, |dj| <= 1 (padded indices)."""
    if di == 0 and dj == 0:
        return stencil[0, i, j]
    if di < 0 or (di == 0 and dj < 0):  # the symmetric entry is stored at the neighbour
        i, j, di, dj = i + di, j + dj, -di, -dj
    if di == 0:
        return stencil[1, i, j]
    if dj == 0:
        return stencil[2, i, j]
    if dj == 1:
        return stencil[3, i, j]
    return stencil[4, i, j]


@jit
def _galerkin(stencil, weights, coarse, first_row, stop_row):
    """coarse += the terms of P^T A P (9-point) from fine rows [first_row, stop_row).

    Fine rows r add to coarse rows r // 2 and r // 2 + 1 only.
    """
    height, width = stencil.shape[1] - 2, stencil.shape[2] - 2
    coarse_height, coarse_width = coarse.shape[1] - 2, coarse.shape[2] - 2
    for row in range(first_row, stop_row):
        for column in range(width):
            for di in range(-1, 2):
                for dj in range(-1, 2):
                    row_q, column_q = row + di, column + dj
                    if row_q < 0 or row_q >= height or column_q < 0 or column_q >= width:
                        continue
                    entry = _matrix_entry(stencil, row + 1, column + 1, di, dj)
                    if entry == 0.0:
                        continue
                    for k in range(4):
                        weight_p = weights[k, row + 1, column + 1]
                        big_i, big_j = row // 2 + k // 2, column // 2 + k % 2
                        if weight_p == 0.0 or big_i >= coarse_height or big_j >= coarse_width:
                            continue
                        for m in range(4):
                            weight_q = weights[m, row_q + 1, column_q + 1]
                            big_iq, big_jq = row_q // 2 + m // 2, column_q // 2 + m % 2
                            if weight_q == 0.0 or big_iq >= coarse_height or big_jq >= coarse_width:
                                continue
                            value = weight_p * entry * weight_q
                            d_i, d_j = big_iq - big_i, big_jq - big_j
                            # keep the upper half: the mirrored term arrives from (q, p)
                            if d_i == 0 and d_j == 0:
                                plane = 0
                            elif d_i == 0 and d_j == 1:
                                plane = 1
                            elif d_i == 1 and d_j == 0:
                                plane = 2
                            elif d_i == 1 and d_j == 1:
                                plane = 3
                            elif d_i == 1 and d_j == -1:
                                plane = 4
                            else:
                                continue
                            coarse[plane, big_i + 1, big_j + 1] += value


@jit
def _cholesky(matrix):
    """Lower Cholesky factor of a small SPD matrix (no BLAS threads for a few hundred rows)."""
    size = matrix.shape[0]
    factor = np.zeros_like(matrix)
    for j in range(size):
        total = matrix[j, j]
        for k in range(j):
            total -= factor[j, k] * factor[j, k]
        factor[j, j] = np.sqrt(total)
        for i in range(j + 1, size):
            total = matrix[i, j]
            for k in range(j):
                total -= factor[i, k] * factor[j, k]
            factor[i, j] = total / factor[j, j]
    return factor


@jit
def _cholesky_solve(factor, rhs, out):
    """out = (L L^T)^-1 rhs, rhs and out padded grids flattened row by row inside."""
    height, width, channels = rhs.shape[0] - 2, rhs.shape[1] - 2, rhs.shape[2]
    size = height * width
    values = np.empty((size, channels))
    for k in range(size):
        for c in range(channels):
            values[k, c] = rhs[k // width + 1, k % width + 1, c]
    for k in range(size):  # forward: L y = rhs
        for m in range(k):
            for c in range(channels):
                values[k, c] -= factor[k, m] * values[m, c]
        for c in range(channels):
            values[k, c] /= factor[k, k]
    for k in range(size - 1, -1, -1):  # backward: L^T x = y
        for m in range(k + 1, size):
            for c in range(channels):
                values[k, c] -= factor[m, k] * values[m, c]
        for c in range(channels):
            values[k, c] /= factor[k, k]
    for k in range(size):
        for c in range(channels):
            out[k // width + 1, k % width + 1, c] = values[k, c]


def _galerkin_on_bands(stencil, weights, coarse):
    """`_galerkin` on row bands in two rounds (even bands, then odd ones): bands of one
    round are at least 4 fine rows apart, so they add to different coarse rows."""
    height, width = stencil.shape[1] - 2, stencil.shape[2] - 2
    bands = 2 * worker_count()
    if bands == 2 or height * width < _PARALLEL_PIXELS or height < 8 * bands:
        _galerkin(stencil, weights, coarse, 0, height)
        return
    edges = np.linspace(0, height, bands + 1).astype(int)
    for parity in (0, 1):
        run_parallel(
            lambda b: _galerkin(stencil, weights, coarse, int(edges[b]), int(edges[b + 1])),
            range(parity, bands, 2),
        )


@jit
def _copy_rows(source, out, first_row, stop_row):
    """out[rows] = source[rows] (any dtypes)."""
    for i in range(first_row, stop_row):
        for j in range(out.shape[1]):
            for c in range(CHANNELS):
                out[i, j, c] = source[i, j, c]


@jit
def _add_rows(source, out, first_row, stop_row):
    """out[rows] += source[rows] (any dtypes)."""
    for i in range(first_row, stop_row):
        for j in range(out.shape[1]):
            for c in range(CHANNELS):
                out[i, j, c] += source[i, j, c]


def five_point_stencil(weight_x, weight_y, mass=1.0):
    """Padded stencil of diag(mass) + the Laplacian with edge weights weight_x, weight_y."""
    height, width = weight_x.shape[0], weight_y.shape[1]
    stencil = np.zeros((5, height + 2, width + 2))
    stencil[1, 1:-1, 1:-2] = -weight_x
    stencil[2, 1:-2, 1:-1] = -weight_y
    diagonal = np.full((height, width), float(mass))
    diagonal[:, :-1] += weight_x
    diagonal[:, 1:] += weight_x
    diagonal[:-1, :] += weight_y
    diagonal[1:, :] += weight_y
    stencil[0, 1:-1, 1:-1] = diagonal
    return stencil


def _dense_matrix(stencil):
    height, width = stencil.shape[1] - 2, stencil.shape[2] - 2
    index = np.arange(height * width).reshape(height, width)
    matrix = np.zeros((height * width, height * width))
    matrix[index, index] = stencil[0, 1:-1, 1:-1]
    couplings = [
        (1, index[:, :-1], index[:, 1:], (slice(1, -1), slice(1, -2))),
        (2, index[:-1, :], index[1:, :], (slice(1, -2), slice(1, -1))),
        (3, index[:-1, :-1], index[1:, 1:], (slice(1, -2), slice(1, -2))),
        (4, index[:-1, 1:], index[1:, :-1], (slice(1, -2), slice(2, -1))),
    ]
    for plane, first, second, window in couplings:
        values = stencil[plane][window]
        matrix[first, second] = values
        matrix[second, first] = values
    return matrix


class Hierarchy:
    """Multigrid levels for a padded 5-point stencil; ``precondition`` applies one V-cycle.

    Use as a context manager: the work arrays (for 3 right-hand sides) live for
    the ``with`` block. The coarse operators are built in float64 (from the
    interpolation weights stored in `dtype`); the levels are stored, like the
    V-cycle's work arrays, in `dtype` (float32 halves the memory traffic; a
    preconditioner needs no more precision). ``residual`` uses the float64
    finest stencil.
    """

    def __init__(self, stencil, coarsest_pixels=COARSEST_PIXELS, dtype=np.float32):
        self.stencil, self.dtype, self.levels = stencil, dtype, []
        while (stencil.shape[1] - 2) * (stencil.shape[2] - 2) > coarsest_pixels:
            height, width = stencil.shape[1] - 2, stencil.shape[2] - 2
            weights = np.zeros((4, height + 2, width + 2), dtype)
            _interpolation_weights(stencil, weights)
            factors = np.zeros((4, height + 2, width + 2), dtype)
            _line_factors(stencil, 1, factors[0], factors[1])
            _line_factors(stencil, 0, factors[2], factors[3])
            coarse = np.zeros((5, (height + 1) // 2 + 2, (width + 1) // 2 + 2))
            _galerkin_on_bands(stencil, weights, coarse)
            self.levels.append((stencil.astype(dtype), weights, factors))
            stencil = coarse
        self.coarsest_shape = stencil.shape[1:]
        self.coarsest = _cholesky(_dense_matrix(stencil))
        self.work = None

    def __enter__(self):
        # per level: correction, residual and right-hand side (the finest level's is the caller's)
        shapes = [level[0].shape[1:] for level in self.levels] + [self.coarsest_shape]
        self.work = [
            [np.zeros((*shape, CHANNELS), self.dtype) for _ in range(3)] for shape in shapes
        ]
        return self

    def __exit__(self, *exc):
        self.work = None

    def run(self, kernel, extent, grid, *args):
        """kernel(*args, first, stop) over padded rows or columns 1..extent, in bands."""
        if worker_count() == 1 or (grid.shape[0] - 2) * (grid.shape[1] - 2) < _PARALLEL_PIXELS:
            kernel(*args, 1, extent + 1)
            return
        for_bands(lambda start, stop: kernel(*args, start + 1, stop + 1), extent)

    def residual(self, rhs, x, out, level=None):
        """out = rhs - A x, or -A x if `rhs` is None (A: the float64 finest matrix unless a
        V-cycle `level` is given)."""
        stencil = self.stencil if level is None else self.levels[level][0]
        nine_point = level is not None and level > 0
        with_rhs = rhs is not None
        args = (stencil, nine_point, rhs if with_rhs else x, x, out, with_rhs)
        self.run(_residual, out.shape[0] - 2, out, *args)
        return out

    def add_precondition(self, rhs, out):
        """out += one V-cycle applied to `rhs`."""
        self.run(_add_rows, out.shape[0] - 2, out, self.precondition(rhs), out)
        return out

    def run_sum(self, kernel, extent, grid, shape, *args):
        """Sum of the arrays of `shape` that kernel(*args, out, first, stop) adds to per band."""
        if worker_count() == 1 or (grid.shape[0] - 2) * (grid.shape[1] - 2) < _PARALLEL_PIXELS:
            total = np.zeros(shape)
            kernel(*args, total, 1, extent + 1)
            return total
        edges = np.linspace(1, extent + 1, worker_count() + 1).astype(int)
        partial = np.zeros((len(edges) - 1, *shape))
        run_parallel(
            lambda b: kernel(*args, partial[b], int(edges[b]), int(edges[b + 1])),
            range(len(edges) - 1),
        )
        return partial.sum(axis=0)

    def _smooth(self, level, rhs, x, reverse):
        """Zebra line Gauss-Seidel: even then odd rows, even then odd columns (or reversed).

        Forward, it starts from x = 0 (x's old values are ignored).
        """
        rows, columns = x.shape[0] - 2, x.shape[1] - 2
        sweeps = [(_row_lines, rows, 0, 0), (_row_lines, rows, 0, 1)]
        sweeps += [(_column_lines, columns, 2, 0), (_column_lines, columns, 2, 1)]
        stencil, _, factors = self.levels[level]
        for step, (kernel, extent, plane, parity) in enumerate(
            reversed(sweeps) if reverse else sweeps
        ):
            pivots, ratios = factors[plane], factors[plane + 1]
            from_zero = step == 0 and not reverse
            args = (stencil, level > 0, pivots, ratios, rhs, x, parity, from_zero)
            self.run(kernel, extent, x, *args)

    def precondition(self, rhs, level=0):
        """One symmetric V-cycle from zero: an approximation of A^-1 rhs.

        Returns a work array of the hierarchy, overwritten by the next call.
        """
        x, residual, own_rhs = self.work[level]
        if rhs.dtype != self.dtype:
            self.run(_copy_rows, rhs.shape[0] - 2, rhs, rhs, own_rhs)
            rhs = own_rhs
        if level == len(self.levels):
            _cholesky_solve(self.coarsest, rhs, x)
            return x
        weights = self.levels[level][1]
        self._smooth(level, rhs, x, reverse=False)
        self.residual(rhs, x, residual, level)
        coarse_rhs = self.work[level + 1][2]
        self.run(_restrict, coarse_rhs.shape[0] - 2, coarse_rhs, weights, residual, coarse_rhs)
        correction = self.precondition(coarse_rhs, level + 1)
        self.run(_prolong_add, x.shape[0] - 2, x, weights, correction, x)
        self._smooth(level, rhs, x, reverse=True)
        return x
