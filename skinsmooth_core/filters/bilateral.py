"""Bilateral filter: exact (brute force) and a fast separable approximation, both compiled."""

from __future__ import annotations

import math

import numpy as np

from .._image import check_float, check_image, filter_image
from ._box import interleaved, map_tiles, planar
from ._jit import jit

__all__ = ["bilateral_filter"]

_MODES = ("auto", "exact", "separable")
# "auto" runs the exact filter while pixels x tap pairs stays below this (about 0.05 s)
_EXACT_BUDGET = 2.5e7


def bilateral_filter(image, sigma_spatial=3.0, sigma_color=0.1, *, mode="auto"):
    """Edge-preserving smoothing with the bilateral filter.

    Each output pixel is the average of its neighbours weighted by a spatial
    Gaussian (`sigma_spatial`) times a range Gaussian of the colour distance
    (`sigma_color`), so neighbours across an edge hardly contribute.

    The colour distance is joint, as in OpenCV's ``cv2.bilateralFilter``: the
    sum of the absolute differences over the colour channels,
    ``|dR| + |dG| + |dB|`` (the plain difference for grey images); all colour
    channels get the same weights, so no colour fringes appear at edges.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C), C = 1, 3 or 4
        Image to filter (uint8, uint16, float32 or float64). The alpha channel
        of an RGBA image is returned untouched.
    sigma_spatial : float, optional
        Spatial standard deviation in pixels (> 0). The window is the disc of
        radius ``ceil(2 * sigma_spatial)``.
    sigma_color : float, optional
        Range standard deviation on the [0, 1] intensity scale (> 0), e.g.
        0.1 = 25.5 levels of an 8-bit image.
    mode : {"auto", "exact", "separable"}, optional
        "exact" evaluates every tap of the disc (cost grows with
        ``sigma_spatial**2``). "separable" is the fast approximation of Pham
        and van Vliet: a horizontal 1-d bilateral pass then a vertical one
        over the square window, about ``sigma_spatial`` times fewer taps,
        within about 35-45 dB PSNR of the exact result on photographs.
        "auto" (default) picks "exact" when pixels x taps is small (below
        about 0.4 megapixel at the default sigma), otherwise "separable".

    Returns
    -------
    ndarray
        Filtered image with the shape and dtype of `image`, within the range
        of the input (every output is a weighted mean).

    Raises
    ------
    ValueError
        For an invalid image (see :func:`skinsmooth_core._image.check_image`),
        a non-positive or non-finite sigma, or an unknown mode.

    Notes
    -----
    Borders are reflected (``dcba|abcd``; pass ``borderType=cv2.BORDER_REFLECT``
    and ``d = 2 * ceil(2 * sigma_spatial) + 1`` to OpenCV for the same result).

    Both modes run a compiled (numba) kernel on tiles, in parallel threads.
    Each symmetric pair of taps shares one weight, and the range weight
    ``exp(-t)`` is evaluated as ``p(t / 32)**32`` with ``p`` the degree-5
    Taylor polynomial of ``exp(-u)`` (vectorisable arithmetic; within 2e-6 of
    ``exp`` in float32, 1e-8 in float64). Measured cost, 12-megapixel RGB
    float32, default sigmas, on a shared 2-core x86-64 machine (AVX2):
    "separable" about 0.5 CPU-seconds (0.3-0.7 s wall), against 2.4-2.7
    CPU-seconds for ``cv2.bilateralFilter`` with ``d=15``; "exact" about 0.11
    CPU-seconds per megapixel. Working memory is a few small buffers per
    tile besides the float copy of the image and the output, so 24-megapixel
    photographs are fine.

    References
    ----------
    .. [1] C. Tomasi and R. Manduchi, "Bilateral Filtering for Gray and Color
           Images", ICCV 1998. :DOI:`10.1109/ICCV.1998.710815`
    .. [2] T. Q. Pham and L. J. van Vliet, "Separable Bilateral Filtering for
           Fast Video Preprocessing", ICME 2005. :DOI:`10.1109/ICME.2005.1521458`

    Examples
    --------
    >>> from skimage import data
    >>> from skinsmooth_core.filters import bilateral_filter
    >>> face = data.astronaut()[:200, 150:350]
    >>> smooth = bilateral_filter(face, sigma_spatial=3, sigma_color=0.1)
    >>> smooth.shape, smooth.dtype
    ((200, 200, 3), dtype('uint8'))
    """
    image = check_image(image)
    sigma_spatial = check_float(sigma_spatial, "sigma_spatial", inclusive=False)
    sigma_color = check_float(sigma_color, "sigma_color", inclusive=False)
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")
    radius = max(1, math.ceil(2 * sigma_spatial))
    if mode == "auto":
        taps = len(_disc_offsets(radius, sigma_spatial)[0])
        mode = "exact" if image.shape[0] * image.shape[1] * taps <= _EXACT_BUDGET else "separable"

    if mode == "exact":
        passes = [_disc_offsets(radius, sigma_spatial)]
    else:
        line = np.arange(1, radius + 1)
        zeros = np.zeros_like(line)
        weights = np.exp(-(line**2) / (2 * sigma_spatial**2))
        passes = [(np.stack([zeros, line], 1), weights)]  # along rows
        passes.append((np.stack([line, zeros], 1), weights))  # along columns

    def kernel(src: np.ndarray) -> np.ndarray:
        typed = [(offsets, weights.astype(src.dtype)) for offsets, weights in passes]
        constants = _range_constants(sigma_color, src.dtype)

        def tile_filter(tile):
            # a `radius` halo on every side, dropped by the passes
            frame = planar(tile)
            for offsets, weights in typed:
                frame = _pair_pass(frame, offsets, weights, constants)
            return interleaved(frame)

        out = np.empty_like(src)
        return map_tiles(tile_filter, [src], radius, out, planes=1, height_factor=2)

    return filter_image(image, kernel)


def _disc_offsets(radius, sigma):
    """Half of the disc dy^2 + dx^2 <= radius^2 (one offset of each +-pair, centre excluded)
    and the spatial weights."""
    dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    half = (dy > 0) | ((dy == 0) & (dx > 0))
    inside = (dy**2 + dx**2 <= radius**2) & half
    offsets = np.stack([dy[inside], dx[inside]], axis=1)
    return offsets, np.exp(-(offsets**2).sum(axis=1) / (2 * sigma**2))


# The range weight exp(-t), t = d^2 / (2 sigma_color^2), is computed as p(t / 32)^32 with p
# the degree-5 Taylor polynomial of exp(-u) (five squarings; arithmetic only, so the loop
# vectorises): within 2e-6 of exp(-t) in float32, 1e-8 in float64. t is capped at 24
# (weight 4e-11).
_SQUARINGS = 5
_T_MAX = 24.0


def _range_constants(sigma_color, dtype):
    """(factor, cap, 1, 1/2, 1/6, 1/24, 1/120) in `dtype`, for :func:`_range_weight`."""
    scale = 2.0**_SQUARINGS
    factor = 1.0 / (2.0 * sigma_color**2 * scale)
    taylor = [1 / math.factorial(k) for k in range(1, 6)]
    return tuple(np.array([factor, _T_MAX / scale, *taylor], dtype))


@jit
def _range_weight(distance, constants):
    """exp(-distance^2 / (2 sigma_color^2)) from :func:`_range_constants`."""
    factor, cap, c1, c2, c3, c4, c5 = constants
    u = min(distance * distance * factor, cap)
    p = c1 - u * (c1 - u * (c2 - u * (c3 - u * (c4 - u * c5))))
    for _ in range(_SQUARINGS):
        p *= p
    return p


@jit
def _pair_pass(frame, offsets, spatial, constants):
    """One bilateral pass over an H x C x W stack (C = 1 or 3); returns the filtered centre.

    `offsets` holds one (dy, dx) of each symmetric pair of taps, dy >= 0, with spatial
    weights `spatial`: the weight of the pair (p, p + o) serves both p (tap +o) and
    p + o (tap -o), halving the work. The colour distance is the L1 norm over channels.
    The output drops the max |dy| halo rows and max |dx| halo columns on each side.
    """
    height, channels, width = frame.shape
    top, left = 0, 0
    for i in range(offsets.shape[0]):
        top = max(top, offsets[i, 0])
        left = max(left, abs(offsets[i, 1]))
    numerator = frame.copy()
    denominator = np.ones((height, width), frame.dtype)
    weight = np.empty(width, frame.dtype)
    for y in range(height):
        for i in range(offsets.shape[0]):
            dy, dx = offsets[i, 0], offsets[i, 1]
            y2 = y + dy
            if y2 >= height:
                continue
            # pairs (y, x0 + x) - (y2, x0 + dx + x) for x in [0, n); 1-d C-contiguous rows
            x0 = max(0, -dx)
            n = width - abs(dx)
            x1 = x0 + dx
            spatial_weight = spatial[i]
            a0, b0 = frame[y, 0][x0 : x0 + n], frame[y2, 0][x1 : x1 + n]
            if channels == 3:
                a1, b1 = frame[y, 1][x0 : x0 + n], frame[y2, 1][x1 : x1 + n]
                a2, b2 = frame[y, 2][x0 : x0 + n], frame[y2, 2][x1 : x1 + n]
                for x in range(n):
                    d = abs(b0[x] - a0[x]) + abs(b1[x] - a1[x]) + abs(b2[x] - a2[x])
                    weight[x] = spatial_weight * _range_weight(d, constants)
            else:
                for x in range(n):
                    weight[x] = spatial_weight * _range_weight(b0[x] - a0[x], constants)
            # separate loops: for dy = 0 the two ends of a pair share a row
            for c in range(channels):
                target, source = numerator[y, c][x0 : x0 + n], frame[y2, c][x1 : x1 + n]
                for x in range(n):
                    target[x] += weight[x] * source[x]
            for c in range(channels):
                target, source = numerator[y2, c][x1 : x1 + n], frame[y, c][x0 : x0 + n]
                for x in range(n):
                    target[x] += weight[x] * source[x]
            total = denominator[y][x0 : x0 + n]
            for x in range(n):
                total[x] += weight[x]
            total = denominator[y2][x1 : x1 + n]
            for x in range(n):
                total[x] += weight[x]
    out = np.empty((height - 2 * top, channels, width - 2 * left), frame.dtype)
    for y in range(out.shape[0]):
        for c in range(channels):
            source, total, target = numerator[y + top, c], denominator[y + top], out[y, c]
            for x in range(out.shape[2]):
                target[x] = source[x + left] / total[x + left]
    return out
