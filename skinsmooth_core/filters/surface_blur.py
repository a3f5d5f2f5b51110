"""Photoshop's Surface Blur."""

from __future__ import annotations

from .._image import check_float, check_int, filter_image, window_radius
from ._window import window_mean


def surface_blur(image, radius=5, threshold=15 / 255):
    """Blur flat surfaces while keeping edges, like Photoshop's *Surface Blur*.

    Every channel of every pixel ``x`` becomes the weighted mean of the
    ``(2 radius + 1) x (2 radius + 1)`` square window around it, with weights

        w_i = max(0, 1 - |x_i - x| / (2.5 * threshold))

    so that neighbours differing by ``2.5 * threshold`` or more do not count.
    The sum is exact (no intensity quantisation): the result agrees with a
    brute-force evaluation to float32 round-off (about 1e-6).

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
        Intensity threshold on the [0, 1] scale whatever the dtype, > 0.
        Photoshop's *Threshold* of ``n`` levels is ``n / 255``.

    Returns
    -------
    ndarray
        The filtered image, same shape and dtype as `image`.

    Notes
    -----
    Borders are mirrored, the edge pixel not repeated (``dcb|abcd``:
    scipy.ndimage's ``mode="mirror"``, OpenCV's ``BORDER_REFLECT_101``). Integer
    images are computed in float32, float64 images in float64.

    A compiled kernel (numba) visits all ``(2 radius + 1)**2`` neighbours of
    every pixel, so the cost is proportional to ``radius**2`` (float64 about
    twice float32's). The first call in a new installation compiles the
    kernel, later calls load it from numba's disk cache. Measured speed:
    ``docs/benchmarks.md``.

    References
    ----------
    .. [1] Adobe Photoshop User Guide, "Blur filters: Surface Blur".
    .. [2] C. Tomasi and R. Manduchi, "Bilateral filtering for gray and color
           images", ICCV 1998 (the filter is a bilateral filter with a box
           spatial kernel and a triangular range kernel).

    Examples
    --------
    >>> from skimage import data
    >>> from skinsmooth_core.filters import surface_blur
    >>> image = data.astronaut()
    >>> smooth = surface_blur(image, radius=5, threshold=15 / 255)
    >>> smooth.shape, smooth.dtype
    ((512, 512, 3), dtype('uint8'))
    """
    radius = check_int(radius, "radius", minimum=0)
    threshold = check_float(threshold, "threshold", minimum=0.0, inclusive=False)
    reach = 2.5 * threshold

    return filter_image(
        image,
        lambda colour: window_mean(colour, window_radius(radius, colour.shape), "tent", reach),
    )
