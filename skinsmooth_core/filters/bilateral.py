"""Bilateral filter: exact (brute force) and a fast separable approximation, both compiled."""

from __future__ import annotations

import math

import numpy as np

from .._image import check_float, check_image, filter_image, window_radius
from .._parallel import for_bands
from ._borders import reflect
from ._jit import jit
from ._tiles import interleaved, map_tiles, planar

__all__ = ["bilateral_filter"]

_MODES = ("auto", "exact", "separable")
# "auto" runs the exact filter while pixels x tap pairs stays below this (a small image)
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
        radius ``ceil(2 * sigma_spatial)``, at most the image's larger side
        less one (a wider window would span nothing more).
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
    Borders are reflected (``dcba|abcd``: scipy.ndimage's ``mode="reflect"``;
    pass ``borderType=cv2.BORDER_REFLECT`` and ``d = 2 * ceil(2 * sigma_spatial) + 1``
    to OpenCV for the same result).

    Both modes run compiled (numba) kernels in parallel threads: "exact" on
    tiles, "separable" streaming bands of rows (each row is filtered along x
    as it enters, then against the rows above it, in a ring of
    ``sigma_spatial``-sized buffers). Each symmetric pair of taps shares one
    weight, and the range weight
    ``exp(-t)`` is evaluated as ``p(t / 32)**32`` with ``p`` the degree-5
    Taylor polynomial of ``exp(-u)`` (vectorisable arithmetic; within 2e-6 of
    ``exp`` in float32, 1e-8 in float64). Working memory besides the float
    copy of the image and the output is a few rows per thread ("separable")
    or small tiles ("exact"). Measured speed: ``docs/benchmarks.md``.

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
    radius = max(1, window_radius(math.ceil(2 * sigma_spatial), image.shape))
    if mode == "auto":
        taps = len(_disc_offsets(radius, sigma_spatial)[0])
        mode = "exact" if image.shape[0] * image.shape[1] * taps <= _EXACT_BUDGET else "separable"

    if mode == "exact":
        offsets, spatial = _disc_offsets(radius, sigma_spatial)
    else:
        spatial = np.exp(-0.5 * (np.arange(1, radius + 1) / sigma_spatial) ** 2)

    def kernel(src: np.ndarray) -> np.ndarray:
        weights = spatial.astype(src.dtype)
        constants = _range_constants(sigma_color, src.dtype)
        out = np.empty_like(src)
        if mode == "separable":
            src = np.ascontiguousarray(src)  # one compiled layout
            band = lambda start, stop: _separable_band(src, weights, constants, start, stop, out)  # noqa: E731
            for_bands(band, len(src), min_rows=8 * radius)
            return out

        def tile_filter(tile):
            # a `radius` halo on every side, dropped by the pass
            return interleaved(_pair_pass(planar(tile), offsets, weights, constants))

        return map_tiles(tile_filter, [src], radius, out, planes=1, height_factor=2)

    return filter_image(image, kernel, checked=True)


def _disc_offsets(radius, sigma):
    """Half of the disc dy^2 + dx^2 <= radius^2 (one offset of each +-pair, centre excluded)
    and the spatial weights."""
    dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    half = (dy > 0) | ((dy == 0) & (dx > 0))
    inside = (dy**2 + dx**2 <= radius**2) & half
    offsets = np.stack([dy[inside], dx[inside]], axis=1)
    return offsets, np.exp(-0.5 * (offsets**2).sum(axis=1) / sigma / sigma)  # no overflow


# The range weight exp(-t), t = d^2 / (2 sigma_color^2), is computed as p(t / 32)^32 with p
# the degree-5 Taylor polynomial of exp(-u) (five squarings; arithmetic only, so the loop
# vectorises): within 2e-6 of exp(-t) in float32, 1e-8 in float64. t is capped at 24
# (weight 4e-11).
_SQUARINGS = 5
_T_MAX = 24.0


def _range_constants(sigma_color, dtype):
    """(factor, cap, 1, 1/2, 1/6, 1/24, 1/120) in `dtype`, for :func:`_range_weight`."""
    scale = 2.0**_SQUARINGS
    factor = 1.0 / (2.0 * sigma_color * sigma_color * scale)  # 0 for a huge sigma
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
    """The exact filter of an H x C x W stack (C = 1 or 3); returns the filtered centre.

    `offsets` holds one (dy, dx) of each symmetric pair of taps, dy >= 0, with spatial
    weights `spatial`. The output drops the max |dy| halo rows and max |dx| halo columns
    on each side.
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
            y2 = y + offsets[i, 0]
            if y2 < height:
                sums_y, sums_y2 = (numerator[y], denominator[y]), (numerator[y2], denominator[y2])
                taps = (spatial[i], constants)
                _add_pairs(frame[y], frame[y2], offsets[i, 1], taps, sums_y, sums_y2, weight)
    out = np.empty((height - 2 * top, channels, width - 2 * left), frame.dtype)
    for y in range(out.shape[0]):
        for c in range(channels):
            source, total, target = numerator[y + top, c], denominator[y + top], out[y, c]
            for x in range(out.shape[2]):
                target[x] = source[x + left] / total[x + left]
    return out


@jit
def _separable_band(src, spatial, constants, start, stop, out):
    """Rows [start, stop) of the separable filter of H x W x C `src` (C = 1 or 3) into `out`.

    Streams rows start - radius .. stop + radius - 1 (reflected): each is filtered along x
    as it enters (columns reflected), then paired with the radius rows above it; a row is
    complete, and written out, once the row radius below it has entered. Working memory
    is 2 * radius + 4 rows.
    """
    height, width, channels = src.shape
    radius = len(spatial)
    slots = radius + 1  # ring of filtered rows u - radius .. u and their sums
    rows = np.empty((slots, channels, width), src.dtype)
    numerator = np.empty((slots, channels, width), src.dtype)
    denominator = np.empty((slots, width), src.dtype)
    padded = np.empty((channels, width + 2 * radius), src.dtype)
    row_numerator = np.empty_like(padded)
    row_denominator = np.empty(width + 2 * radius, src.dtype)
    weight = np.empty(width + 2 * radius, src.dtype)
    for u in range(start - radius, stop + radius):
        line = src[reflect(u, height)]
        for c in range(channels):
            target = padded[c]
            for x in range(width):
                target[x + radius] = line[x, c]
            for x in range(radius):  # reflected border columns
                target[x] = line[reflect(x - radius, width), c]
                target[width + radius + x] = line[reflect(width + x, width), c]
        # along x: pairs of padded columns up to radius apart
        row_numerator[:] = padded
        row_denominator[:] = 1
        for k in range(1, radius + 1):
            sums = (row_numerator, row_denominator)
            _add_pairs(padded, padded, k, (spatial[k - 1], constants), sums, sums, weight)
        slot = u % slots
        for c in range(channels):
            target = rows[slot, c]
            for x in range(width):
                target[x] = row_numerator[c, x + radius] / row_denominator[x + radius]
        # along y: pairs (u - k, u)
        numerator[slot] = rows[slot]
        denominator[slot] = 1
        for k in range(1, min(radius, u - start + radius) + 1):
            above = (u - k) % slots
            sums_above = (numerator[above], denominator[above])
            sums_slot = (numerator[slot], denominator[slot])
            taps = (spatial[k - 1], constants)
            _add_pairs(rows[above], rows[slot], 0, taps, sums_above, sums_slot, weight)
        done = u - radius
        if done >= start:
            slot = done % slots
            for x in range(width):
                for c in range(channels):
                    out[done, x, c] = numerator[slot, c, x] / denominator[slot, x]


@jit
def _add_pairs(first, second, shift, taps, first_sums, second_sums, weight):
    """Weigh the pixel pairs first[:, x] - second[:, x + shift] of two C x L rows (C = 1 or
    3) and add each end, weighted, to the other's sums.

    `taps` is (spatial weight, :func:`_range_constants`); `first_sums` and `second_sums`
    are each row's (numerator C x L, denominator L). One weight serves both ends of a pair
    (taps +o and -o), halving the work. The colour distance is the L1 norm over the
    channels. `weight` is scratch of length >= L.
    """
    spatial_weight, constants = taps
    num_first, den_first = first_sums
    num_second, den_second = second_sums
    channels, length = first.shape
    x0 = max(0, -shift)
    n = length - abs(shift)
    x1 = x0 + shift
    # 1-d C-contiguous rows, so that the loops vectorise
    a0, b0 = first[0][x0 : x0 + n], second[0][x1 : x1 + n]
    if channels == 3:
        a1, b1 = first[1][x0 : x0 + n], second[1][x1 : x1 + n]
        a2, b2 = first[2][x0 : x0 + n], second[2][x1 : x1 + n]
        for x in range(n):
            d = abs(b0[x] - a0[x]) + abs(b1[x] - a1[x]) + abs(b2[x] - a2[x])
            weight[x] = spatial_weight * _range_weight(d, constants)
    else:
        for x in range(n):
            weight[x] = spatial_weight * _range_weight(b0[x] - a0[x], constants)
    # separate loops: `first` and `second` (and their sums) may be the same row
    for c in range(channels):
        target, source = num_first[c][x0 : x0 + n], second[c][x1 : x1 + n]
        for x in range(n):
            target[x] += weight[x] * source[x]
    for c in range(channels):
        target, source = num_second[c][x1 : x1 + n], first[c][x0 : x0 + n]
        for x in range(n):
            target[x] += weight[x] * source[x]
    total = den_first[x0 : x0 + n]
    for x in range(n):
        total[x] += weight[x]
    total = den_second[x1 : x1 + n]
    for x in range(n):
        total[x] += weight[x]
