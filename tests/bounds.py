"""Error bounds for the numerical tests: every tolerance comparing a kernel with a reference.

The compiled kernels run with fastmath (reassociation, FMA contraction) on whatever vector
units the CPU has (SSE2 only, AVX2 + FMA, AVX-512), so their last bits differ between
machines. A tolerance is therefore a bound that holds for every evaluation order, derived
from the arithmetic, never a number one machine printed.

The model (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., SIAM 2002,
chapters 2-4): every operation is exact times (1 + d), |d| <= u, the unit roundoff of the
working precision (2**-24 in float32, 2**-53 in float64). A sum of n terms, in any order
(so also reassociated, vectorised or split into bands), is off by at most
``gamma(n - 1) * sum(|terms|)``, ``gamma(k) = k u / (1 - k u)``; a fused multiply-add only
drops a rounding, so it never loosens a bound. Intensities are on the [0, 1] scale.

`.ci/run` runs the numerical tests twice (native CPU and ``NUMBA_CPU_NAME=generic``: no FMA,
no AVX), so a tolerance that only holds with one CPU's code path fails in CI.
"""

from __future__ import annotations

import math

import numpy as np

U32 = 2.0**-24  # float32 unit roundoff (half of np.finfo(np.float32).eps)
U64 = 2.0**-53  # float64 unit roundoff


def unit_roundoff(dtype) -> float:
    """u of the precision a kernel works in for `dtype` images (integers work in float32)."""
    return U64 if np.dtype(dtype) == np.float64 else U32


def gamma(n: int, u: float) -> float:
    """Higham's gamma_n = n u / (1 - n u): the relative error of n roundings."""
    if n * u >= 0.5:
        raise ValueError(f"gamma({n}) is not a bound at u = {u}")
    return n * u / (1 - n * u)


def half_level(dtype) -> float:
    """Half a level of an integer dtype on [0, 1] (integer outputs are rounded to nearest)."""
    dtype = np.dtype(dtype)
    return 0.5 / np.iinfo(dtype).max if dtype.kind == "u" else 0.0


def input_rounding(dtype) -> float:
    """Absolute error of converting `dtype` pixels to the kernel's float on [0, 1]:
    an integer k becomes float32(k) * float32(1 / max), two roundings of a value <= 1."""
    return gamma(2, U32) if np.dtype(dtype).kind == "u" else 0.0


def output(dtype, bound: float) -> float:
    """Distance of a `dtype` output from a reference, when the float value it was made of is
    within `bound` of the reference: `bound`, plus the rounding of the float32 store (values
    <= 1), plus for integers the float32 product by the dtype's maximum and half a level (a
    value near a level boundary may round to either side)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "u":
        return bound + gamma(2, U32) + half_level(dtype)
    return bound + (U32 if dtype == np.float32 else 0.0)


def weighted_mean(n: int, u: float, magnitude: float = 1.0) -> float:
    """Arithmetic error of ``sum(w x) / sum(w)`` over n taps, w >= 0, |x| <= magnitude.

    Numerator: one product and n - 1 additions per term, gamma(n) * sum(w |x|); denominator
    gamma(n - 1) * sum(w); one division. Relative to sum(w) this is at most
    ``(2 gamma(n) + u) magnitude / (1 - gamma(n))``, in any summation order.
    """
    g = gamma(n, u)
    return (2 * g + u) * magnitude / (1 - g)


def perturbed_weights(spread: float, n: int, absolute: float, weight_sum: float = 1.0) -> float:
    """How far a weighted mean moves when each of its n weights is off by up to `absolute`
    (e.g. a polynomial or table in place of exp) and the exact weights add up to at least
    `weight_sum` (a bilateral filter's centre weight is 1): the mean moves by
    ``sum(dw (x - mean)) / sum(w + dw)``, at most ``n absolute spread / (weight_sum - n
    absolute)``, where `spread` bounds |x - mean| (the value range of the window)."""
    slack = n * absolute
    if slack >= weight_sum:
        raise ValueError("weight errors as large as the weights: no bound")
    return slack * spread / (weight_sum - slack)


def running_window_sum(count: int, height: int, width: int, u: float = U64) -> float:
    """Error of one window sum, relative to the window's n = `count` pixels (so: of its mean),
    formed by sliding sums (add the entering row or column, subtract the leaving one) in
    precision u over an image of `height` x `width`: a column sum passes through up to
    2 * height roundings of a partial sum of at most `count` terms of magnitude <= 1, the row
    sum through 2 * width more: ``gamma(2 (height + width) + count)``."""
    return gamma(2 * (height + width) + count, u)


def guided_fit(eps: float, mean_error: float, u: float, n_guide: int, self_guided: bool) -> float:
    """Error of one output pixel of the guided filter from the error of its window means.

    The fit, per window, on [0, 1] data: S = E[I I^T] - E[I] E[I]^T + eps Id,
    c = E[I p] - E[I] E[p], a = S^-1 c, b = E[p] - a E[I]; the output is
    q = mean(a) I + mean(b). With every window mean off by at most `mean_error` (m) and the
    fit computed in precision u:

    - each entry of S and c: 3 m (E[xy] and the product E[x] E[y]) + 2 u (its rounding and
      the subtraction's);
    - |a| <= A: 1 for self-guided data (a = S^-1 (S - eps Id), eigenvalues < 1); otherwise
      eps |a|^2 <= a^T S a = a^T c <= var(p) <= 1/4 gives A = 1 / (2 sqrt(eps));
    - da = S^-1 (dc - dS a), |S^-1| <= 1 / eps, |dS| <= G * entry error (Frobenius):
      ``(sqrt(G) + G A) (3 m + 2 u) / eps``; a 3 x 3 inverse by cofactors in precision u
      adds gamma(12) kappa A, kappa = (G / 4 + eps) / eps the condition number of S;
    - db <= m (1 + G A) + G da + gamma(2 G) (1 + G A);
    - the output: mean(a) I + mean(b) adds da G + db, and (for the mean of a and b taken in
      precision u over the window) gamma(G + 2) (1 + G A).
    """
    g = n_guide
    big_a = 1.0 if self_guided else 1.0 / (2.0 * math.sqrt(eps))
    entry = 3 * mean_error + 2 * u
    da = (math.sqrt(g) + g * big_a) * entry / eps
    if g > 1:
        da += gamma(12, u) * (g / 4 + eps) / eps * big_a
    db = mean_error * (1 + g * big_a) + g * da + gamma(2 * g, u) * (1 + g * big_a)
    return g * da + db + gamma(g + 2, u) * (1 + g * big_a)


def opencv_guided(eps: float, n_guide: int, self_guided: bool) -> float:
    """Error of ``cv2.ximgproc.guidedFilter`` on float32 [0, 1] data: it forms every window
    mean in float32 (the product I p rounded, then the box filter's float64 sum rounded
    back: m = gamma(2) in float32) and fits in float32 (:func:`guided_fit`)."""
    return guided_fit(eps, gamma(2, U32), U32, n_guide, self_guided)


def ours_guided(eps: float, n_guide: int, self_guided: bool, shape: tuple, radius: int) -> float:
    """Error of our exact guided filter before its output is stored: window sums slide in
    float64 (:func:`running_window_sum`) and the fit is float64."""
    count = (2 * radius + 1) ** 2
    mean_error = running_window_sum(count, shape[0], shape[1])
    return guided_fit(eps, mean_error, U64, n_guide, self_guided)


# --- blurs, WLS and box sums ---

# float64 with gradual underflow: a product or quotient below the normal range is off by up to
# half of this (the smallest subnormal; its half is not a float) absolutely, besides its
# relative u (Higham (2.8)); additions stay exact there.
ETA = 2.0**-1074


def tent_weight(u: float) -> float:
    """Absolute error of a tent weight ``max(0, 1 - |x_i - x| / width)`` computed in precision
    u as ``1 - |x_i - x| * p``, ``p = 1 / width`` formed in float64 and stored in the working
    float (or as numpy's ``1 - |x_i - x| / width``): ``t = |x_i - x| / width`` carries the
    roundings of the difference, of p (at most three) and of the product, so it is off by at
    most ``gamma(5) t``; ``1 - t`` adds one rounding of a value <= 1 (u). Where either weight is
    not 0, t < 1 / (1 - gamma(5)): ``gamma(5) / (1 - gamma(5)) + u``."""
    g = gamma(5, u)
    return g / (1 - g) + u


def range_weighted_mean(taps: int, u: float, reach: float, weight_error: float = 0.0) -> float:
    """Error of the blurs' window mean ``x + sum_i w_i (x_i - x) / sum_i w_i`` over `taps`
    neighbours (the centre's weight exactly 1, the others >= 0), computed in precision u in
    any order (skinsmooth_core.filters._window), from the exact mean with exact weights.

    `reach` bounds |x_i - x| over the taps whose weight is not 0 (the tent's width, the step's
    threshold; at most 1 on [0, 1]); computed differences may exceed it by gamma(5) (see
    :func:`tent_weight`), so D = min(reach, 1) / (1 - gamma(5)). With S = sum_i w_i >= 1:

    - the numerator's n - 1 products w_i (x_i - x) (the difference and the product rounded)
      summed: gamma(n) sum w_i |x_i - x| <= gamma(n) D S; the denominator's n terms >= 0:
      gamma(n - 1) S; so the quotient is off by (gamma(n) + gamma(n - 1)) D / (1 - gamma(n - 1));
    - the division, under fastmath's ``arcp`` a reciprocal and a product: gamma(2) of a value
      <= D (1 + gamma(n)) / (1 - gamma(n - 1)); adding x, a value <= 1: u;
    - weights off by `weight_error` each: the mean moves by sum_i dw_i (x_i - mean) / S, and
      every tap with dw_i != 0 lies within D of x, as does the mean:
      ``perturbed_weights(2 D, n - 1, weight_error)``.

    Clipping to the channel's range (the exact mean lies in it) only removes error.
    """
    n = taps
    spread = min(reach, 1.0) / (1 - gamma(5, u))
    gn, gn1 = gamma(n, u), gamma(n - 1, u)
    quotient = (gn + gn1) * spread / (1 - gn1)
    division = gamma(2, u) * spread * (1 + gn) / (1 - gn1)
    weights = perturbed_weights(2 * spread, n - 1, weight_error) if weight_error else 0.0
    return quotient + division + u + weights


def uniform_filter(side: int, lengths: tuple, u: float = U64) -> float:
    """Error of ``scipy.ndimage.uniform_filter`` (size `side` along the axes of `lengths`) of
    values in [0, 1]: one running mean per axis, each a running sum (the first `side` terms,
    then add the entering and subtract the leaving value, two roundings a step, at most
    2 * length steps, of partial sums <= side) and a division: ``gamma(2 L + side + 1)`` of
    the mean per axis of length L, the errors of successive axes adding up."""
    return sum(gamma(2 * length + side + 1, u) for length in lengths)


def sparse_lu_solve(factor, x_max: float, row_error: float = 0.0, u: float = U64) -> float:
    """Max-norm error of ``factor.solve(b)`` (scipy's SuperLU object: Pr A Pc = L U) for a
    system A x = b with ``||A^-1||_inf <= 1`` and max |x| <= `x_max`.

    Higham's Theorem 9.4 (it holds for every order of the elimination's operations, so for
    SuperLU's supernodes too): (A + dA) x^ = b with |dA| <= gamma(3 w) |L^| |U^|, w the longest
    inner product (the most stored entries in a row of L or U or a column of U). `row_error`
    bounds the row sums of |A - A_stored| (the matrix's own assembly). Then
    |x^ - x| <= ||A^-1|| ||(|dA| + row_error) |x^| || <= c max |x^| with
    ``c = gamma(3 w) || |L^| |U^| ||_inf + row_error``, and max |x^| <= x_max + |x^ - x|:
    ``c x_max / (1 - c)``. The factors are evaluated, not bounded a priori: a priori bounds on
    |L||U| grow with the matrix's size and say nothing useful.

    Underflow (tiny right-hand sides): the products of the two triangular solves and the
    back substitution's quotients may each be off by ETA absolutely, as if b moved by
    w ETA + |L^| (w + max U_ii) ETA (the quotient's ETA times U_ii); the factorisation's own
    products, w of them per entry, move A by w ETA per entry, w entries a row.
    """
    lower, upper = abs(factor.L).tocsr(), abs(factor.U).tocsr()
    rows = [np.diff(lower.indptr), np.diff(upper.indptr), np.diff(upper.tocsc().indptr)]
    longest = max(int(r.max()) for r in rows)
    norm = (lower @ (upper @ np.ones(upper.shape[1]))).max()
    c = gamma(3 * longest, u) * norm + row_error
    if c >= 1:
        raise ValueError("LU backward error as large as the matrix: no bound")
    lower_norm = (lower @ np.ones(lower.shape[1])).max()
    pivot = np.abs(factor.U.diagonal()).max()
    underflow = (longest + lower_norm * (longest + pivot) + longest**2 * x_max) * ETA
    return (c * x_max + underflow) / (1 - c)


def wls_norm(lam: float, gradient_eps: float = 1e-4) -> float:
    """``||I + L||_inf`` of the WLS matrix: the diagonal 1 + sum of (at most 4) weights plus
    as much off the diagonal, each weight lam / (|dl|**alpha + eps) <= lam / eps (rounded
    twice): ``1 + 8 (lam / eps) (1 + gamma(2))``."""
    return 1 + 8 * lam / gradient_eps * (1 + gamma(2, U64))


def wls_residual(residual_max: float, rhs_max: float, lam: float) -> float:
    """Max-norm error of an approximate solution x of the WLS system (I + L) x = g whose
    residual, evaluated in float64, is at most `residual_max`. The matrix is an M-matrix with
    unit row sums, so ``||(I + L)^-1||_inf = 1`` and |x - x*| <= max |g - (I + L) x|. The
    evaluation is off by gamma(6) (|g| + |A| |x|) (five products and five additions per row,
    any order) and the stored diagonal (1 plus 4 weights) by gamma(4) of itself, and products
    that underflow by ETA each: ``e <= r + gamma(10) (max|g| + ||A|| max|x|) + 5 ETA`` with
    max |x| <= max|g| + e."""
    g10, norm = gamma(10, U64), wls_norm(lam)
    return (residual_max + g10 * rhs_max * (1 + norm) + 5 * ETA) / (1 - g10 * norm)


def wls_weights(alpha: float, gradient_eps: float = 1e-4, log_eps: float = 1e-4) -> float:
    """Relative difference of two float64 evaluations (e.g. vectorised and pixel by pixel) of
    one WLS weight ``lam / (|l_p - l_q|**alpha + gradient_eps)``, ``l = log(Y + log_eps)``,
    Y the Rec. 709 luminance of [0, 1] pixels (three products and two additions).

    Each evaluation: the log's argument is off by gamma(6) (relative), the log itself by at
    most 4 ulps (8 u) of |l| <= |log(log_eps)| (numpy validates its float64 log to 1 ulp; 4 ulps
    are allowed for log and pow, whichever library computes them):
    dl <= gamma(6) / (1 - gamma(6)) + 8 u |log log_eps|;
    s = |l_p - l_q| moves by 2 dl + u s. The weight's relative change from ds is
    ``alpha s**(alpha - 1) ds / (s**alpha + eps)``, at most ``f ds`` with f the maximum over s
    of that factor: ``(alpha - 1)**((alpha - 1) / alpha) eps**(-1 / alpha)`` for alpha > 1,
    1 / eps for alpha = 1 (unbounded below 1: no bound); the rounding u s adds alpha u, pow's
    4 ulps 8 u, the sum and the quotient gamma(2). Two evaluations: twice that.
    """
    if alpha < 1:
        raise ValueError("the weight's sensitivity to |l_p - l_q| is unbounded for alpha < 1")
    u = U64
    if alpha == 1:
        f = 1 / gradient_eps
    else:
        f = (alpha - 1) ** ((alpha - 1) / alpha) * gradient_eps ** (-1 / alpha)
    dl = gamma(6, u) / (1 - gamma(6, u)) + 8 * u * abs(math.log(log_eps))
    return 2 * (f * 2 * dl + alpha * u + 8 * u + gamma(2, u))


# --- pipeline, masks and io ---

U16 = 2.0**-11  # float16 (IEEE binary16) unit roundoff

# NumPy's own accuracy tests hold its float32 exp and arctan to 3 ulp on every SIMD code path
# (numpy/_core/tests/data/umath-validation-set-{exp,arctan}.csv); arctan2 is taken as 4.
NUMPY_ULPS = 4


def block_mean(factor: int, exact_sums: bool) -> float:
    """Relative error of ``area_downsample``'s float32 block mean (times a scale) against the
    float64 mean of the block; pixels >= 0, so every sum is relative to its result.

    Ours: integer pixels add up exactly (integer accumulators, then float32 sums of integers
    below 2**24: factor**2 * max < 2**24); float pixels add up along rows in float64
    (gamma(factor)), and the row sums are rounded to float32 and added in float32
    (gamma(factor)). Then the product by fl(scale / rows) (two roundings) and the division by
    the column count (one): gamma(3). The reference, a float64 mean of factor**2 pixels:
    gamma(factor**2). Two relative errors a (ours) and b (reference): (a + b) / (1 - b).
    """
    ours = 1 + gamma(3, U32)
    if not exact_sums:
        ours *= (1 + gamma(factor, U32)) * (1 + gamma(factor, U64))
    ours -= 1
    reference = gamma(factor * factor, U64)
    return (ours + reference) / (1 - reference)


def float32_lerp(magnitude: float, u: float = U32) -> float:
    """Error of ``a + (b - a) w`` in precision u, for a, b in [0, magnitude] and a weight w in
    [0, 1] rounded to precision u: the difference, the weight and the product are a rounding
    each, relative to |b - a| w <= magnitude (gamma(3)), the sum one more relative to the
    result: gamma(3) + u (1 + gamma(3)) <= gamma(4), times magnitude."""
    return gamma(4, u) * magnitude


def bilinear_upsample(magnitude: float, extent: int) -> float:
    """Error of ``BilinearUpsampler``'s float32 interpolation of values in [0, magnitude] on a
    small grid of up to `extent` samples a side, against the float64 formula
    ``top (1 - wy) + bottom wy``.

    The lerp down the rows is off by e1 = :func:`float32_lerp`; the lerp along the columns passes e1
    through (its weights add up to 1) and adds its own on values in [0, magnitude + e1]. The
    column weights, derived in float64 by the upsampler (block phase) and by the reference
    (coordinate minus its floor, coordinates up to `extent`), each carry up to 3 float64
    roundings of values <= extent + 1, times |b - a| <= magnitude; the float64 reference makes
    two lerps of its own (gamma(3) each)."""
    first = float32_lerp(magnitude)
    weights = 2 * gamma(3, U64) * (extent + 1) * magnitude
    return first + float32_lerp(magnitude + first) + weights + 2 * gamma(3, U64) * magnitude


def skin_colour_detector(
    rho: float,
    quadratic,
    chroma_scale: tuple,
    chroma_offset: tuple,
    saturation: tuple,
    value: tuple,
    hue: tuple,
    ulps: float = NUMPY_ULPS,
) -> float:
    """Distance of ``detect_skin_color``'s float32 mask from the exact mask of the exact
    pixels, when each channel reaches it with a relative error up to `rho` (its conversion to
    float32). Constants are taken as the float32 values the code uses (the same on every run).

    The mask is a product of factors in [0, 1]: value gate Gv, saturation gate Gs, hue gate
    Gh, chroma likelihood C; telescoped in that order, each factor's error is weighted by the
    exact factors before it, so Gs only counts where V = max(r, g, b) >= value edge - width,
    Gh only where also the saturation s = (V - min) / V >= saturation edge - width = s0.
    A ramp ``clip((x - (edge - width)) / (2 width), 0, 1)`` moves by (error of x) / (2 width)
    plus its subtraction (<= u 2 width) and product (u) roundings. With V <= 1:

    - Gv: x = V, off by rho V with V <= edge + width on the ramp;
    - Gs: spread = V - min is off by 2 rho V + u V, V by rho V, so s by
      (3 rho + 2 u) / (1 - rho), plus the division's u;
    - Gh: hue = atan2(sqrt3 (g - b), 2 r - g - b) in degrees. The vector (x, y) moves by
      <= 2 sqrt7 (rho + u) V (x: 4 rho V + 4 u V, y: sqrt3 (2 rho V + 2 u V)) and has length
      >= sqrt3 (V - min) >= sqrt3 s0 V (its squared length is twice the sum of the squared
      channel differences), so its angle moves by t / (1 - t), t the ratio; arctan2 adds
      `ulps` ulps (2 ulps u |angle|, angle <= high + width) and the degree conversion u. The
      two ramps (hue from low, to high) are never on their slopes together: one is exactly
      0 or 1, and Gh = 0 at +-180 degrees, so the branch cut of arctan2 moves nothing;
    - C = exp(-z^T K z), z = (cb, cr) = scale (channel - luma) + offset: luma has gamma(3)
      (3 products, 2 sums of non-negative terms), each of cb, cr is off by
      scale (2 rho + gamma(3) + 2 u)(1 + rho) + u |z|; exp(-z^T K z) is
      sqrt(2 lambda_max(K)) exp(-1/2)-Lipschitz in z. The quadratic form in float32: 4
      roundings per term, gamma(4) sum|terms| <= gamma(4) kappa d2 with
      kappa = lambda_max(|K|) / lambda_min(K), which exp(-d2) turns into at most
      gamma(4) kappa / (e (1 - gamma(4) kappa)); exp itself `ulps` ulps of a value <= 1;
    - the four products of the factors: gamma(4).
    """
    u = U32
    # value gate
    edge, width = value
    gate_v = (rho * (edge + width) + u * 2 * width) / (2 * width) + u
    # saturation gate
    edge, width = saturation
    s0 = edge - width
    d_sat = (3 * rho + 2 * u) / (1 - rho) + u
    gate_s = (d_sat + u * 2 * width) / (2 * width) + u
    # hue gate
    low, high, width = hue
    t = 2 * math.sqrt(7) * (rho + u) * (1 + rho + u) / (math.sqrt(3) * s0)
    top = high + width  # the largest |hue| on a ramp, degrees
    angle = t / (1 - t) + 2 * ulps * u * math.radians(top)
    gate_h = (math.degrees(angle) + u * top + u * 2 * width) / (2 * width) + u
    # chroma likelihood
    quadratic = np.asarray(quadratic, dtype=np.float64)
    lam = np.linalg.eigvalsh(quadratic)
    lam_abs = np.linalg.eigvalsh(np.abs(quadratic))
    lipschitz = math.sqrt(2 * lam.max()) * math.exp(-0.5)
    dz = [
        k * (2 * rho + gamma(3, u) + 2 * u) * (1 + rho) + u * (k + abs(o))
        for k, o in zip(chroma_scale, chroma_offset, strict=True)
    ]
    form = gamma(4, u) * lam_abs.max() / lam.min()
    chroma = lipschitz * math.hypot(*dz) + form / (math.e * (1 - form)) + 2 * ulps * u
    return gate_v + gate_s + gate_h + chroma + gamma(4, u)


# --- bilateral and local mean ---


def disc_taps(radius: int) -> tuple[int, np.ndarray]:
    """The bilateral filter's disc dy^2 + dx^2 <= radius^2: its number of taps (centre
    included) and the squared distances of the taps other than the centre."""
    dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    squared = (dy**2 + dx**2).ravel()
    inside = squared[squared <= radius**2]
    return len(inside), inside[inside > 0]


def spatial_sum(sigma_spatial: float, radius: int, exact: bool) -> float:
    """S, the sum of the spatial weights exp(-r^2 / (2 sigma^2)) over the taps other than the
    centre: of the disc ("exact" mode) or of one line of 2 radius + 1 taps (a separable pass)."""
    if exact:
        squared = disc_taps(radius)[1]
    else:
        squared = np.arange(1, radius + 1) ** 2
        squared = np.concatenate([squared, squared])
    return float(np.exp(-squared / (2 * sigma_spatial**2)).sum())


def centre_offset(spatial: float) -> float:
    """r* (in units of sigma_color): how far a bilateral mean can lie from its centre pixel,
    per channel, with exact Gaussian range weights f(d) = exp(-d^2 / (2 sigma^2)), the centre's
    weight 1 and spatial weights adding up to S = `spatial` off the centre.

    |x_0 - mean| <= sum_i s_i f(d_i) d_i / (1 + sum_i s_i f(d_i)) (d_i the L1 colour distance
    of tap i). This ratio is <= R exactly when sum_i s_i f(d_i) (d_i - R) <= R; the left side is
    at most ``S g(R)``, g(R) = max_t exp(-t^2 / 2) (t - R) (t = d / sigma), so every R with
    S g(R) <= R bounds it: the fixed point, found by bisection (g decreases in R).
    """

    def g(r):
        t = (r + math.sqrt(r * r + 4)) / 2  # where d/dt exp(-t^2/2) (t - r) = 0
        return math.exp(-t * t / 2) * (t - r)

    lo, hi = 0.0, 1.0 + spatial
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if spatial * g(mid) <= mid else (mid, hi)
    return hi


def _horner_rounding(s: np.ndarray, u: float, degree: int) -> np.ndarray:
    """|computed - exact| of the Taylor polynomial sum_j (-s)^j / j! by Horner's rule in
    precision u (Higham (5.3): coefficient j carries 2 j + 1 roundings, the leading one 2 d),
    plus one rounding of each coefficient 1 / j! that is not a power of 2 (j >= 3)."""
    total = np.zeros_like(s)
    for j in range(degree + 1):
        count = (2 * j + 1 if j < degree else 2 * degree) + (1 if j >= 3 else 0)
        total += gamma(count, u) * s**j / math.factorial(j)
    return total


def range_weight_intervals(
    t_lo, t_hi, u: float, argument_roundings: int, degree: int = 5, squarings: int = 5,
    cap: float = 24.0,
) -> np.ndarray:  # fmt: skip
    """Absolute error of our range weight exp(-t), t = d^2 / (2 sigma^2), for every t in
    [t_lo, t_hi] (arrays: one bound per interval), from skinsmooth_core.filters.bilateral:
    ``p(s)^N``, N = 2**squarings, s = min(t / N, cap / N), p the degree-5 Taylor polynomial of
    exp(-s), evaluated by Horner's rule and squared `squarings` times in precision u.

    - The computed argument is t^ = t (1 + theta), |theta| <= gamma(argument_roundings) (the
      colour difference, d * d, the product with the factor and the factor's own roundings),
      which moves exp(-t) by at most exp(-t (1 - theta)) theta t.
    - Taylor: |exp(-s) - p(s)| <= s^6 / 6! (Lagrange), relative rho <= s^6 e^s / 6!.
    - Horner: relative eta = :func:`_horner_rounding` / p(s), p(s) >= e^-s - s^6 / 6!.
    - Squarings: each doubles the relative error and adds one rounding, so the result is
      exp(-t^) F', |F' - 1| <= F - 1, ``F = (1 + rho)^N (1 + eta)^N (1 + u)^(N - 1)``.

    Each factor grows with s and exp(-t) falls, so F at the interval's top and exp(-t) at its
    bottom bound the whole interval. Beyond the cap the weight is p(cap / N)^N ~ exp(-cap) and
    the exact one smaller: where the cap may act, the error is at most the larger of the two.
    """
    t_lo, t_hi = np.asarray(t_lo, float), np.asarray(t_hi, float)
    n = 2**squarings
    theta = gamma(argument_roundings, u)
    s = np.minimum(t_hi * (1 + theta), cap) / n
    remainder = s ** (degree + 1) / math.factorial(degree + 1)
    rho = remainder * np.exp(s)
    eta = _horner_rounding(s, u, degree) / (np.exp(-s) - remainder)
    big_f = (1 + rho) ** n * (1 + eta) ** n * (1 + u) ** (n - 1)
    low = np.minimum(t_lo * (1 - theta), cap)
    with np.errstate(over="ignore", invalid="ignore"):
        error = np.exp(-low) * (big_f - 1) + np.exp(-t_lo * (1 - theta)) * theta * t_hi
    # where the cap may act: both the computed and the exact weight lie in [0, max of them]
    beyond = t_hi * (1 + theta) >= cap
    return np.where(beyond, np.maximum(np.exp(-low) * big_f, np.exp(-t_lo)), error)


def _t_grid(t_max: float = 30.0, count: int = 20000) -> tuple[np.ndarray, np.ndarray]:
    """Intervals [lo, hi] of t covering [0, inf): a fine grid up to t_max, then [t_max, inf)."""
    edges = np.linspace(0.0, t_max, count + 1)
    return np.append(edges[:-1], t_max), np.append(edges[1:], np.inf)


def range_weight(u: float, argument_roundings: int) -> float:
    """Max over all t >= 0 of :func:`range_weight_intervals`, plus the float64 reference
    exp(-d^2 / (2 sigma^2)): its argument off by gamma(3) t (a weight error <= gamma(3) / e)
    and exp by one ulp: gamma(6) of float64 in all."""
    lo, hi = _t_grid()
    return float(range_weight_intervals(lo, hi, u, argument_roundings).max()) + gamma(6, U64)


def distance_roundings(channels: int) -> int:
    """Roundings of the computed argument t = d^2 * factor of a bilateral range weight: the L1
    distance over c = `channels` (one difference per channel, c - 1 additions: relative
    gamma(c); c = 0 for a distance given exactly), squared (twice that, plus one), the product
    with the factor (one) and the factor itself (two: 1 / (2 sigma^2 32) in float64, then
    stored in the working float): ``2 c + 4``."""
    return 2 * channels + 4


def weight_shift(errors, t_hi, sigma_color: float, spatial: float, spread: float) -> float:
    """How far a bilateral mean moves when each range weight is off by `errors` (per interval
    of t = d^2 / (2 sigma^2) up to `t_hi`; absolute, per unit of spatial weight) and the centre's
    weight is exactly 1: ``sum_i dw_i (x_i - mean) / sum_i w'_i`` with sum w' >= 1, and
    |x_i - mean| <= min(d_i + r* sigma, spread) per channel (:func:`centre_offset`;
    d_i = sigma sqrt(2 t)); sum_i s_i = S = `spatial`."""
    r_star = centre_offset(spatial)
    t_hi = np.asarray(t_hi, float)
    reach = np.minimum(sigma_color * (np.sqrt(2 * t_hi) + r_star), spread)
    return spatial * float(np.max(np.asarray(errors) * reach))


def bilateral_weights(u: float, channels: int, sigma_color: float, spatial: float,
                      spread: float) -> float:  # fmt: skip
    """The mean's shift from our kernel's weights: the range weight
    (:func:`range_weight_intervals`) times the spatial weight stored in the working float (u)
    and the product's rounding (u): per unit of spatial weight
    ``error(t) + gamma(2) (exp(-t) + error(t))``."""
    lo, hi = _t_grid()
    error = range_weight_intervals(lo, hi, u, distance_roundings(channels))
    error = error + gamma(2, u) * (np.exp(-lo) + error)
    return weight_shift(error, hi, sigma_color, spatial, spread)


def bilateral_pass(u: float, channels: int, sigma_color: float, spatial: float, taps: int,
                   magnitude: float = 1.0, spread: float = 1.0) -> float:  # fmt: skip
    """Error of one pass of our bilateral kernel (all `taps`, centre included) against the exact
    filter of the same input: the weights (:func:`bilateral_weights`) plus the float sums and
    the quotient (:func:`weighted_mean`; taps + 1 for fastmath's ``arcp``, which may turn the
    division into a reciprocal and a product)."""
    weights = bilateral_weights(u, channels, sigma_color, spatial, spread)
    return weights + weighted_mean(taps + 1, u, magnitude)


def bilateral_input_perturbation(eta: float, sigma_color: float, channels: int,
                                 spatial: float) -> float:  # fmt: skip
    """How far the exact bilateral filter moves when every input value moves by at most eta.

    The mean of the moved values with the old weights moves by eta; each L1 distance by at
    most dd = 2 c eta, so each weight by s_i |f'(xi)| dd, |f'| <= e^-1/2 / sigma; with
    |x_i - mean| <= d_i + r* sigma (:func:`centre_offset`), d |f'(xi)| <= 2 / e + dd e^-1/2 /
    sigma (xi within dd of d) and the centre's weight 1 in the denominator:
    ``eta + dd S (2 / e + dd e^-1/2 / sigma + r* e^-1/2)``.
    """
    dd = 2 * channels * eta
    slope = math.exp(-0.5) / sigma_color
    r_star = centre_offset(spatial)
    return eta + dd * spatial * (2 / math.e + dd * slope + r_star * math.exp(-0.5))


def ours_bilateral(dtype, sigma_spatial: float, sigma_color: float, channels: int, mode: str,
                   spread: float = 1.0) -> float:  # fmt: skip
    """Error of our bilateral filter's float result (before the store to `dtype`) against the
    exact filter (float64, np.exp weights) of the same float pixels on [0, 1].

    "exact": one pass over the disc (:func:`bilateral_pass`). "separable": a pass along x
    (error E1, stored in the working float: its quotient is that float already) and a pass
    along y of those rows: :func:`bilateral_input_perturbation` of E1 plus the second pass's
    own error on values within E1 of [0, 1].
    """
    u = unit_roundoff(dtype)
    radius = max(1, math.ceil(2 * sigma_spatial))
    if mode == "exact":
        spatial = spatial_sum(sigma_spatial, radius, True)
        taps = disc_taps(radius)[0]
        return bilateral_pass(u, channels, sigma_color, spatial, taps, 1.0, spread)
    spatial = spatial_sum(sigma_spatial, radius, False)
    taps = 2 * radius + 1
    first = bilateral_pass(u, channels, sigma_color, spatial, taps, 1.0, spread)
    moved = bilateral_input_perturbation(first, sigma_color, channels, spatial)
    second = bilateral_pass(u, channels, sigma_color, spatial, taps, 1 + first, spread + 2 * first)
    return moved + second


def bilateral_reference(sigma_spatial: float, sigma_color: float, channels: int, mode: str,
                        spread: float = 1.0) -> float:  # fmt: skip
    """Error of the tests' float64 numpy brute force (np.exp weights, plain sums) against the
    exact filter: each weight exp(-a), a = r^2 / (2 sigma_s^2) + d^2 / (2 sigma_c^2), has its
    argument off by gamma(2 c + 8) a (the distance c roundings, squared 2 c + 1, the sigmas'
    squares and halves 4, the quotients and the sum 3) and exp one ulp (2 u): per unit of
    spatial weight at most 2 theta (a_s + 1 / e) + 2 u (t e^-t <= 1 / e, a_s <= radius^2 /
    (2 sigma_s^2)); then as :func:`ours_bilateral`, in float64."""
    u = U64
    radius = max(1, math.ceil(2 * sigma_spatial))
    theta = gamma(2 * channels + 8, u)
    per_tap = 2 * theta * (radius**2 / (2 * sigma_spatial**2) + 1 / math.e) + 2 * u
    exact = mode == "exact"
    spatial = spatial_sum(sigma_spatial, radius, exact)
    taps = disc_taps(radius)[0] if exact else 2 * radius + 1

    def one_pass(magnitude, spread):
        return perturbed_weights(spread, 1, per_tap * spatial) + weighted_mean(taps, u, magnitude)

    first = one_pass(1.0, spread)
    if exact:
        return first
    moved = bilateral_input_perturbation(first, sigma_color, channels, spatial)
    return first + moved + one_pass(1 + first, spread + 2 * first)


def opencv_bilateral_float(sigma_spatial: float, sigma_color: float, channels: int,
                           value_range: float, spread: float = 1.0) -> float:  # fmt: skip
    """Error of ``cv2.bilateralFilter`` on float32 images (imgproc/src/bilateral_filter.*:
    bilateralFilter_32f) against the exact filter of its float32 input.

    It looks exp(-d^2 / (2 sigma^2)) up in a table of 4096 bins per channel over
    len = channels * (max - min of the image), so bins h = value_range / 4096 wide, and
    interpolates linearly: per tap with d in [d_lo, d_hi], xi over [d_lo - h, d_hi + h],

    - interpolation: h^2 / 8 max |f''(xi)|, f'' = (xi^2 / sigma^2 - 1) f / sigma^2;
    - the position alpha = d * scale_index: d off by gamma(c), the product by u, moving along
      the interpolant (slope <= max |f'(xi)| <= (d_hi + h) f / sigma^2) by gamma(c + 1) d;
    - the table's float32 entries (u), the interpolation (1 - alpha, a product, a
      multiply-add: 3 u), the spatial weight's float32 (u) and the product (u): gamma(6) f.

    The centre's weight is 1; the sums are float32, any order, and the quotient may be a
    reciprocal and a product (:func:`weighted_mean` with taps + 1).
    """
    u = U32
    radius = max(1, math.ceil(2 * sigma_spatial))
    spatial = spatial_sum(sigma_spatial, radius, True)
    taps = disc_taps(radius)[0]
    h = value_range / 4096 * (1 + gamma(4, u))  # 1 / scale_index, scale_index in float32
    lo, hi = _t_grid()
    lo, hi = lo[:-1], hi[:-1]
    d_lo, d_hi = sigma_color * np.sqrt(2 * lo), sigma_color * np.sqrt(2 * hi)
    position = gamma(channels + 1, u)
    xi_lo = np.maximum(d_lo * (1 - position) - h, 0.0)
    xi_hi = d_hi * (1 + position) + h
    f_max = np.exp(-(xi_lo**2) / (2 * sigma_color**2))
    curvature = np.maximum(abs(xi_lo**2 / sigma_color**2 - 1), abs(xi_hi**2 / sigma_color**2 - 1))
    interpolation = h * h / 8 * curvature * f_max / sigma_color**2
    moved = xi_hi / sigma_color**2 * f_max * position * d_hi
    error = interpolation + moved + gamma(6, u) * f_max
    # beyond t = 30 every weight (table or exact) is below e^-29: at most that apart
    error = np.append(error, math.exp(-29.0))
    hi = np.append(hi, np.inf)
    weights = weight_shift(error, hi, sigma_color, spatial, spread)
    return weights + weighted_mean(taps + 1, u, 1.0)


def opencv_bilateral_u8(sigma_spatial: float, sigma_color: float) -> float:
    """Error of ``cv2.bilateralFilter`` on uint8 images (bilateralFilter_8u), before its final
    rounding to a level, against the exact filter of the levels / 255.

    Its range weights are a table indexed by the integer L1 distance in levels: exp of the
    argument i^2 * coeff, coeff = -1 / (2 (255 sigma)^2) stored in float32 (u) and the product
    rounded (u), so the argument is off by gamma(2) t (a weight error <= gamma(2) / e); the
    exp, float32 (OpenCV's vectorised v_exp, allowed 8 ulps: 16 u) or double rounded to
    float32 (u); the spatial weight's coefficient in float32 (u / e) and its float32 store (u),
    the product (u): gamma(20) per unit of spatial weight, over every distance. Its sums are
    float32 (values 0..255, divided by 255 here: magnitude 1), the quotient maybe a reciprocal
    and a product.
    """
    u = U32
    radius = max(1, math.ceil(2 * sigma_spatial))
    spatial = spatial_sum(sigma_spatial, radius, True)
    taps = disc_taps(radius)[0]
    # the per-tap error does not fall with the distance: |x_i - mean| <= 1
    return perturbed_weights(1.0, 1, gamma(20, u) * spatial) + weighted_mean(taps + 1, u, 1.0)


def mean_underflow(dtype, taps: int) -> float:
    """Absolute error a weighted mean of `taps` values picks up below the normal range
    (gradual underflow, Higham (2.8)): each product w x and the quotient (or the product
    with the reciprocal) off by up to half the smallest subnormal of the working precision
    (ETA in float64, 2**-149 in float32), additions exact there, divided by a weight sum >= 1
    (a centre weight of 1): ``(taps + 1) eta / 2``. Needed where |x| is subnormal, where the
    relative bounds round to a few subnormal units or to 0."""
    eta = ETA if np.dtype(dtype) == np.float64 else 2.0**-149
    return (taps + 1) * eta / 2


def bilateral_range(dtype, sigma_spatial: float, mode: str, magnitude: float) -> float:
    """How far our bilateral filter's float result can stray outside the range of its input
    (values |x| <= `magnitude`): any weights >= 0 give a mean within the range, so only the
    sums and the quotient count (:func:`weighted_mean`, taps + 1 for ``arcp``, and
    :func:`mean_underflow` for subnormal values); the separable filter's second pass
    averages values already that far out."""
    u = unit_roundoff(dtype)
    radius = max(1, math.ceil(2 * sigma_spatial))
    if mode == "exact":
        taps = disc_taps(radius)[0] + 1
        return weighted_mean(taps, u, magnitude) + mean_underflow(dtype, taps)
    taps = 2 * radius + 2
    first = weighted_mean(taps, u, magnitude) + mean_underflow(dtype, taps)
    return first + weighted_mean(taps, u, magnitude + first) + mean_underflow(dtype, taps)


def levels(dtype, bound: float) -> int:
    """Integer levels of a uint `dtype` by which a rounded output can differ from the rounded
    (or exactly representable) reference when its float value is within `bound` of it:
    ``floor(output(dtype, bound) * max)`` (0 when bound * max + the store's rounding < 1/2)."""
    return int(math.floor(output(dtype, bound) * np.iinfo(np.dtype(dtype)).max))


def float_store(dtype, bound: float, magnitude: float) -> float:
    """:func:`output` for float dtypes holding values up to `magnitude` (not only <= 1): the
    float32 store rounds by at most u * magnitude, or by half float32's smallest subnormal
    (2**-150) below its normal range."""
    return bound + (U32 * magnitude + 2.0**-150 if np.dtype(dtype) == np.float32 else 0.0)


def lee_sums(side: int, height: int, width: int, magnitude: float, u: float = U64) -> float:
    """Error of the Lee filter's window mean of values (or of squares) of magnitude <= m =
    `magnitude` (m = M or M^2), formed by skinsmooth_core.filters.local_mean: float64 sliding
    sums.

    - Column sums: per streamed row (at most height + 2 r = height + side - 1 per band) the
      column adds v - w (or v^2 - w^2): at most 4 roundings (two squares, the difference, the
      sum; reassociated or fused, no more) of values <= (side + 1) m:
      ``gamma(4 T) (side + 1) m`` per column.
    - Row sums (_sliding.window_row): side - 1 additions, then 2 roundings per step, at most
      width steps, of partial sums <= n m + side m + side * column error <= (n + 2 side) m:
      ``gamma(side + 2 width) (n + 2 side) m``.
    - The window sum (side columns) divided by n = side^2, times scale = fl(1 / n): gamma(2) m.
    """
    n = side * side
    steps = height + side - 1
    column = gamma(4 * steps, u) * (side + 1) * magnitude
    row = gamma(side + 2 * width, u) * (n + 2 * side) * magnitude
    return (side * column + row) / n + gamma(2, u) * (magnitude + side * column + row)


def lee_fit(mean_error: float, var_error: float, side: int, noise: float,
            noise_rounding: float = 0.0, magnitude: float = 1.0,
            spread: float = 1.0) -> float:  # fmt: skip
    """Error of a float64 Lee output ``mean + var / (var + N) (x - mean)`` against the exact one
    of the same pixels (|x| <= M = `magnitude`, window values within `spread` of each other)
    when the window's mean is off by m1 = `mean_error`, its variance by dv = `var_error`, and
    the noise N = sigma^2 by a relative `noise_rounding` (nu):

    - gain k = v / (v + N): k' - k = (dv N - v N nu) / ((v' + N') (v + N)), exactly; with
      |x - mean| <= sqrt(n v) (one term of n v = sum (x_i - mean)^2, n = side^2) and
      (v' + N') >= c (v + N), c = 1 - nu - dv / N: |k' - k| |x - mean| <=
      sqrt(n) / c (dv (9 / 16) / sqrt(3 N) + nu (3 sqrt(3) / 16) sqrt(N)) (the maxima over v
      of sqrt(v) N / (v + N)^2 and v^1.5 N / (v + N)^2);
    - out = mean + k (x - mean): 2 m1 + that, plus the roundings of k (sum and quotient, a
      reciprocal under ``arcp``: gamma(3)), of x - mean and of the product (gamma(2)), all on
      |k (x - mean)| <= spread + m1, and of the final sum: u (M + spread).
    """
    u = U64
    n = side * side
    c = 1 - noise_rounding - var_error / noise
    if c <= 0:
        raise ValueError("variance error as large as the noise: no bound")
    from_var = var_error * 9 / 16 / math.sqrt(3 * noise)
    from_noise = noise_rounding * 3 * math.sqrt(3) / 16 * math.sqrt(noise)
    gain = math.sqrt(n) / c * (from_var + from_noise)
    return 2 * mean_error + gain + gamma(5, u) * (spread + mean_error) + u * (magnitude + spread)


def moments_variance(mean_error: float, square_error: float, magnitude: float = 1.0) -> float:
    """Error of var = E[x^2] - mean^2 in float64 from the errors of its two means: the square
    moves by 2 M m1 + m1^2, its rounding and the difference's add gamma(2) (M + m1)^2; a clamp
    at 0 only removes error."""
    m1 = mean_error
    return square_error + 2 * magnitude * m1 + m1 * m1 + gamma(2, U64) * (magnitude + m1) ** 2


def lee(side: int, shape: tuple, noise: float, noise_rounding: float = 0.0,
        magnitude: float = 1.0, spread: float = 1.0) -> float:  # fmt: skip
    """Error of our Lee filter's float64 result (before the store) against the exact
    ``mean + var / (var + sigma^2) (x - mean)`` of the same pixels: window means of values and
    of squares by sliding sums (:func:`lee_sums`), var = E[x^2] - mean^2
    (:func:`moments_variance`), the fit (:func:`lee_fit`)."""
    height, width = shape[:2]
    m1 = lee_sums(side, height, width, magnitude)
    m2 = lee_sums(side, height, width, magnitude**2)
    var_error = moments_variance(m1, m2, magnitude)
    return lee_fit(m1, var_error, side, noise, noise_rounding, magnitude, spread)


def lee_brute_force(side: int, noise: float, magnitude: float = 1.0, spread: float = 1.0) -> float:
    """Error of the tests' float64 brute force (explicit windows, np.mean and the two-pass
    np.var): the mean gamma(n) M; the variance sum((x_i - m^)^2) / n = v + (m^ - m)^2 with the
    difference, square, n - 1 additions and division rounded: gamma(n + 3) spread^2 + m1^2;
    then :func:`lee_fit` with the reference's own noise (nu = 0)."""
    n = side * side
    m1 = gamma(n, U64) * magnitude
    var_error = gamma(n + 3, U64) * spread**2 + m1 * m1
    return lee_fit(m1, var_error, side, noise, 0.0, magnitude, spread)


def lee_range(side: int, shape: tuple, magnitude: float) -> float:
    """How far our Lee filter's float64 result can stray outside the range of its input: the
    computed gain lies in [0, 1], so the exact combination of x and the computed mean (off by
    m1) lies within m1 of the range; the roundings of x - mean, the product and the sum add
    gamma(2) of |x - mean| <= 2 M + m1 and u of |out| <= M + m1. Below the normal range
    the mean's scaling by 1 / n and the gain's product are each off by up to ETA / 2
    absolutely (sums and differences of subnormals are exact)."""
    m1 = lee_sums(side, shape[0], shape[1], magnitude)
    return m1 + gamma(3, U64) * (3 * magnitude + 2 * m1) + ETA
