"""Photoshop's Smart Blur."""

from __future__ import annotations

from .._image import check_float, check_int, filter_image, window_radius
from ._window import window_mean

# Differences this close to the threshold still count as within it, so that
# integer levels exactly at the threshold are not lost to float round-off.
_TOLERANCE = 1e-6


def smart_blur(image, radius=5, threshold=25 / 255):
    """Average only similar neighbours, like Photoshop's *Smart Blur*.

    Every channel of every pixel ``x`` becomes the plain mean of the pixels
    ``x_i`` of the ``(2 radius + 1) x (2 radius + 1)`` square window around it
    with ``|x_i - x| <= threshold`` (a binary range kernel; the pixel itself
    always counts). The mean is exact (no intensity quantisation).

    Parameters
    ----------
    image : ndarray
        H x W or H x W x C image (C = 1, 3 or 4; the alpha channel of an RGBA
        image is returned untouched), dtype uint8, uint16, float32 or float64.
    radius : int, optional
        Half-size of the square window in pixels, >= 0 (Photoshop's *Radius*).
        ``radius=0`` returns a copy of the input.
        A radius past the image's larger side acts as that side less one
        (the window already spans the whole image): the cost never grows past it.
    threshold : float, optional
        Largest difference that still counts as similar, on the [0, 1] scale
        whatever the dtype, > 0. Photoshop's *Threshold* of ``n`` levels is
        ``n / 255``. Differences within 1e-6 above it are included, so that a
        uint8 neighbour exactly ``n`` levels away is always averaged.

    Returns
    -------
    ndarray
        The filtered image, same shape and dtype as `image`.

    Notes
    -----
    Borders are mirrored, the edge pixel not repeated (``dcb|abcd``:
    scipy.ndimage's ``mode="mirror"``, OpenCV's ``BORDER_REFLECT_101``). Integer
    images are computed in float32, float64 images in float64. A compiled
    kernel (numba) visits all ``(2 radius + 1)**2`` neighbours of every pixel,
    so the cost is proportional to ``radius**2`` (float64 about twice
    float32's; measured speed: ``docs/benchmarks.md``). The first call in a
    new installation compiles the kernel. Photoshop's
    *Quality* and *Mode* (edge only / overlay edge) options are not reproduced:
    this is its *Normal* mode. For uint8 grey images and ``threshold = n / 255``
    the result, rounded down, equals ``skimage.filters.rank.mean_bilateral``
    with ``s0 = s1 = n + 1`` (its interval is open) on a square footprint, away
    from the borders; this function also takes colour and every dtype.

    References
    ----------
    .. [1] Adobe Photoshop User Guide, "Blur filters: Smart Blur".
    .. [2] J.-S. Lee, "Digital image smoothing and the sigma filter",
           Computer Vision, Graphics, and Image Processing 24(2), 1983
           (the same filter under the name *sigma filter*).

    Examples
    --------
    >>> from skimage import data
    >>> from skinsmooth_core.filters import smart_blur
    >>> image = data.astronaut()
    >>> smooth = smart_blur(image, radius=5, threshold=25 / 255)
    >>> smooth.shape, smooth.dtype
    ((512, 512, 3), dtype('uint8'))
    """
    radius = check_int(radius, "radius", minimum=0)
    threshold = check_float(threshold, "threshold", minimum=0.0, inclusive=False)
    limit = threshold + _TOLERANCE
    return filter_image(
        image,
        lambda colour: window_mean(colour, window_radius(radius, colour.shape), "step", limit),
    )
