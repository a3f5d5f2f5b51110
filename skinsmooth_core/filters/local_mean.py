"""Lee's local-statistics (local mean) filter."""

from __future__ import annotations

import numpy as np

from .._image import check_float, check_int, filter_image
from ._box import map_tiles, window_sums

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
    Borders are reflected (``dcba|abcd``). Window sums are computed per window
    (binary doubling of neighbour sums, never running or integral-image sums),
    so large images show no drift or stripes even in float32.

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
        if radius == 0 or noise == 0:  # also when sigma**2 underflows
            return src.copy()
        out = np.empty_like(src)
        return map_tiles(lambda tile: _lee(tile, radius, noise), [src], radius, out)

    return filter_image(kernel=kernel, image=image)


def _lee(tile: np.ndarray, radius: int, noise) -> np.ndarray:
    """Lee filter of an H x W x C tile with a `radius` halo on every side; returns the
    (H - 2r) x (W - 2r) x C centre."""
    size = 2 * radius + 1
    mean = window_sums(window_sums(tile, size, 0), size, 1)
    var = window_sums(window_sums(np.square(tile), size, 1), size, 0)
    scale = mean.dtype.type(1.0 / size**2)
    mean *= scale
    var *= scale
    var -= np.square(mean)  # E[x^2] - E[x]^2
    np.maximum(var, 0, out=var)
    gain = np.divide(var, var + noise, out=var)
    centre = np.subtract(tile[radius:-radius, radius:-radius], mean)
    centre *= gain
    centre += mean
    return centre
