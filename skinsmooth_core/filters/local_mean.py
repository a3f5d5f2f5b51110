"""Lee's local-statistics (local mean) filter."""

from __future__ import annotations

import numpy as np

from .._image import check_float, check_int, filter_image, window_radius
from .._parallel import for_bands
from ._borders import reflect
from ._jit import jit
from ._sliding import window_row

__all__ = ["local_mean_filter"]


def local_mean_filter(image, radius=5, sigma=0.05):
    """Edge-preserving smoothing with Lee's local-statistics filter.

    Every pixel moves towards the mean of its (2 * radius + 1)^2 window by
    ``x' = mean + k * (x - mean)`` with ``k = var / (var + sigma**2)``, where
    ``mean`` and ``var`` are the window's mean and variance: flat regions
    (variance well below ``sigma**2``) are replaced by their mean, edges and
    texture (variance well above) are kept. Each colour channel is filtered on
    its own.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C), C = 1, 3 or 4
        Image to filter (uint8, uint16, float32 or float64). The alpha channel
        of an RGBA image is returned untouched.
    radius : int, optional
        Window radius in pixels (window side ``2 * radius + 1``). 0 returns
        the image unchanged.
        A radius past the image's larger side acts as that side less one
        (the window already spans the whole image): the cost never grows past it.
    sigma : float, optional
        Noise standard deviation on the [0, 1] intensity scale (>= 0; 0 returns
        the image unchanged). Detail with a local standard deviation below
        about `sigma` is smoothed away.

    Returns
    -------
    ndarray
        Filtered image with the shape and dtype of `image`. The output stays
        within the range of each window (it is a convex combination of the
        pixel and its window mean).

    Raises
    ------
    ValueError
        For an invalid image (see :func:`skinsmooth_core._image.check_image`),
        a negative or non-integer radius, or a negative or non-finite sigma.

    Notes
    -----
    Borders are reflected (``dcba|abcd``: scipy.ndimage's ``mode="reflect"``).
    Window sums are sliding sums kept in float64 (compiled, one pass per band
    of rows), so large images show no drift or stripes, which float32 running
    or integral-image sums would.

    References
    ----------
    .. [1] J.-S. Lee, "Digital Image Enhancement and Noise Filtering by Use of
           Local Statistics", IEEE TPAMI 2(2):165-168, 1980.
           :DOI:`10.1109/TPAMI.1980.4766994`

    Examples
    --------
    >>> from skimage import data
    >>> from skinsmooth_core.filters import local_mean_filter
    >>> face = data.astronaut()[:200, 150:350]
    >>> smooth = local_mean_filter(face, radius=5, sigma=0.05)
    >>> smooth.shape, smooth.dtype
    ((200, 200, 3), dtype('uint8'))
    """
    radius = check_int(radius, "radius")
    sigma = check_float(sigma, "sigma")

    def kernel(src: np.ndarray) -> np.ndarray:
        noise = src.dtype.type(sigma * sigma)
        radius_ = window_radius(radius, src.shape)
        if radius_ == 0 or noise == 0:  # also when sigma**2 underflows
            return src.copy()
        out = np.empty_like(src)
        band = lambda start, stop: _lee_band(src, radius_, float(noise), start, stop, out)  # noqa: E731
        for_bands(band, len(src), min_rows=4 * radius_)
        return out

    return filter_image(kernel=kernel, image=image)


@jit
def _lee_band(src, radius, noise, start, stop, out):
    """Rows [start, stop) of the Lee filter of H x W x C `src` into `out`."""
    height, width, channels = src.shape
    size = 2 * radius + 1
    scale = 1.0 / (size * size)
    columns = np.zeros((width, 2 * channels))  # per channel: sum x, sum x^2
    sums = np.empty((width, 2 * channels))
    for u in range(start - radius, stop + radius):  # row u enters, row u - size leaves
        if u - size >= start - radius:
            _slide(src[reflect(u, height)], src[reflect(u - size, height)], columns)
        else:
            _slide(src[reflect(u, height)], src[0, :0], columns)
        row = u - radius
        if row < start:
            continue
        window_row(columns, radius, sums)
        for x in range(width):
            for c in range(channels):
                mean = sums[x, 2 * c] * scale
                var = max(sums[x, 2 * c + 1] * scale - mean * mean, 0.0)
                out[row, x, c] = mean + var / (var + noise) * (src[row, x, c] - mean)


@jit
def _slide(enter, leave, columns):
    """Per column, add row `enter`'s values and squares and remove row `leave`'s (if any).

    The terms are formed in float64 too: for float32 rows, differences and squares are then
    exact, and a row's terms cancel exactly when it leaves (float32 ones would not: their
    roundings would add up down the image, the drift the float64 sums are there to avoid).
    """
    if len(leave) == 0:
        for x in range(enter.shape[0]):
            for c in range(enter.shape[1]):
                v = np.float64(enter[x, c])
                columns[x, 2 * c] += v
                columns[x, 2 * c + 1] += v * v
        return
    for x in range(enter.shape[0]):
        for c in range(enter.shape[1]):
            v, w = np.float64(enter[x, c]), np.float64(leave[x, c])
            columns[x, 2 * c] += v - w
            columns[x, 2 * c + 1] += v * v - w * w
