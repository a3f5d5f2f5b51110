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
