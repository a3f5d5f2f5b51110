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
