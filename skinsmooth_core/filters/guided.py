"""Guided image filter (He, Sun and Tang), with the fast subsampled variant."""

from __future__ import annotations

import numpy as np

from .._image import (
    check_float,
    check_image,
    check_int,
    filter_image,
    max_value,
    split_alpha,
    to_float,
    window_radius,
)
from .._parallel import for_bands
from ._guided_kernels import (
    area_downsample_band,
    guided_coefficients,
    guided_rows,
    upsample_apply_rows,
)

__all__ = ["guided_filter", "guided_upsample"]


def guided_filter(image, guide=None, radius=8, eps=1e-2, *, subsample=1):
    """Edge-preserving smoothing with the guided filter.

    Each output pixel is a local linear function of the guide,
    ``q = mean(a) * I + mean(b)``, whose coefficients are fitted by least
    squares in every (2 * radius + 1)^2 window. With a colour guide the fit
    uses the full 3 x 3 colour covariance (the colour guided filter of the
    paper), so edges visible in any channel of the guide are kept.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C), C = 1, 3 or 4
        Image to filter (uint8, uint16, float32 or float64). The alpha channel
        of an RGBA image is returned untouched.
    guide : ndarray, shape (H, W) or (H, W, C), optional
        Guidance image with the same height and width; its dtype may differ
        from `image`'s. Grey (1 channel) or colour (3 channels; the alpha of an
        RGBA guide is ignored). Default: the image itself (self-guided), using
        its colour channels.
    radius : int, optional
        Window radius in pixels (window side ``2 * radius + 1``). 0 returns
        the image unchanged.
        A radius past the image's larger side acts as that side less one
        (the window already spans the whole image): the cost never grows past it.
    eps : float, optional
        Regularisation, > 0, on the squared [0, 1] intensity scale (the same
        scale as OpenCV's ``eps`` for images in [0, 1]): edges whose local
        variance is well above `eps` are kept, flatter regions are smoothed.
    subsample : int, optional
        Fast guided filter factor ``s`` (He and Sun 2015): the coefficients are
        computed on images downsampled by `s` (area average) with radius
        ``radius / s`` and bilinearly upsampled; the output is then formed at
        full resolution from the full-resolution guide. 1 (default) is the
        exact filter; 2-4 give nearly the same result several times faster.

    Returns
    -------
    ndarray
        Filtered image with the shape and dtype of `image`. Integer outputs
        are rounded and clipped; float outputs are not clipped (the guided
        filter may overshoot the input range slightly near strong edges).

    Raises
    ------
    ValueError
        For an invalid image or guide (see :func:`skinsmooth_core._image.check_image`),
        a guide of another height or width, a negative radius, ``eps <= 0``, or
        ``subsample < 1``.

    Notes
    -----
    Borders are reflected (``dcba|abcd``: scipy.ndimage's ``mode="reflect"``,
    OpenCV's ``BORDER_REFLECT``). The exact
    filter matches ``cv2.ximgproc.guidedFilter`` on float images in [0, 1].
    The work is one compiled pass per band of rows: window sums are sliding
    float64 column and row sums (no drift or stripes on large images), the
    fit and the box mean of the coefficients stream through a ring buffer, so
    memory stays a few rows wide. Measured speed: ``docs/benchmarks.md``.

    References
    ----------
    .. [1] K. He, J. Sun and X. Tang, "Guided Image Filtering", ECCV 2010 and
           IEEE TPAMI 35(6):1397-1409, 2013. :DOI:`10.1109/TPAMI.2012.213`
    .. [2] K. He and J. Sun, "Fast Guided Filter", arXiv:1505.00996, 2015.

    Examples
    --------
    >>> from skimage import data
    >>> from skinsmooth_core.filters import guided_filter
    >>> face = data.astronaut()[:200, 150:350]
    >>> smooth = guided_filter(face, radius=8, eps=0.01)
    >>> smooth.shape, smooth.dtype
    ((200, 200, 3), dtype('uint8'))
    """
    image = check_image(image)
    radius = check_int(radius, "radius")
    # past 1e100 the coefficients a are 0 to double precision (a 3 x 3 determinant of eps
    # would overflow): the same result, no NaN
    eps = min(check_float(eps, "eps", inclusive=False), 1e100)
    subsample = check_int(subsample, "subsample", minimum=1)
    guide_float = None
    if guide is not None:
        guide = check_image(guide, name="guide")
        if guide.shape[:2] != image.shape[:2]:
            raise ValueError(
                f"guide has height x width {guide.shape[:2]} but image has {image.shape[:2]}; "
                "the guide must have the same height and width as the image"
            )
        guide_float = to_float(split_alpha(guide)[0])

    def kernel(src: np.ndarray) -> np.ndarray:
        radius_ = window_radius(radius, src.shape)
        if radius_ == 0:
            return src.copy()
        guide_src = src if guide_float is None else guide_float.astype(src.dtype, copy=False)
        return _guided(src, guide_src, radius_, eps, subsample)

    return filter_image(image, kernel, checked=True)


def guided_upsample(low, guide, radius=8, eps=1e-2, *, factor=2):
    """Upsample a low-resolution map to the guide's resolution with the fast guided filter.

    The fast guided filter (:func:`guided_filter` with ``subsample=factor``) without its
    first step: `low` is the map already at 1 / `factor` resolution (a segmentation's soft
    mask, a depth map), so it is never upsampled and downsampled again. The coefficients of
    the local linear model ``q = a I + b`` are fitted between `low` and the guide's
    `factor` x `factor` block means, bilinearly upsampled and applied to the full-resolution
    guide: the result follows the guide's edges (joint upsampling).

    Parameters
    ----------
    low : ndarray, shape (h, w) or (h, w, C)
        The map at low resolution, float, finite; ``h = ceil(H / factor)`` and
        ``w = ceil(W / factor)`` for a guide of H x W (block ``i`` covers guide rows
        ``i * factor`` to ``(i + 1) * factor``).
    guide : ndarray, shape (H, W) or (H, W, G), G = 1, 3 or 4
        The full-resolution guide (uint8, uint16, float32 or float64; read as it is, no
        float copy is made; the alpha of RGBA is ignored).
    radius : int, optional
        Window radius in guide pixels (``radius / factor``, at least 1, at low resolution;
        with ``factor=1`` the exact filter, as :func:`guided_filter`, and 0 returns `low`).
    eps : float, optional
        Regularisation, > 0, on the squared [0, 1] intensity scale (as in
        :func:`guided_filter`).
    factor : int, optional
        The guide's resolution over `low`'s, >= 1.

    Returns
    -------
    ndarray of float32, shape (H, W) or (H, W, C)
        The upsampled map (not clipped).

    Raises
    ------
    ValueError
        For an invalid guide, a `low` that is not a finite float array of the shape above,
        a negative radius, ``eps <= 0`` or ``factor < 1``.

    References
    ----------
    .. [1] K. He and J. Sun, "Fast Guided Filter", arXiv:1505.00996, 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> from skinsmooth_core.filters import guided_upsample
    >>> photo = data.astronaut()  # 512 x 512
    >>> low = np.zeros((128, 128), np.float32)
    >>> low[20:60, 40:90] = 1.0
    >>> mask = guided_upsample(low, photo, radius=8, eps=1e-3, factor=4)
    >>> mask.shape, mask.dtype
    ((512, 512), dtype('float32'))
    """
    guide = check_image(guide, name="guide")
    radius = check_int(radius, "radius")
    eps = min(check_float(eps, "eps", inclusive=False), 1e100)
    factor = check_int(factor, "factor", minimum=1)
    colour = np.ascontiguousarray(split_alpha(guide)[0])
    height, width = colour.shape[:2]
    expected = (-(-height // factor), -(-width // factor))
    low = np.asarray(low)
    if low.ndim not in (2, 3) or low.shape[:2] != expected:
        raise ValueError(
            f"low has shape {low.shape}; for a guide of {height} x {width} and factor "
            f"{factor} it must be {expected[0]} x {expected[1]} (x C)"
        )
    if low.dtype.kind != "f" or not np.isfinite(low).all():
        raise ValueError(f"low must hold finite floats, got dtype {low.dtype}")
    src = np.ascontiguousarray(np.atleast_3d(low), dtype=np.float32)
    radius = window_radius(radius, (height, width))
    if factor == 1:  # nothing to upsample: the exact filter, one fused pass
        guide_float = to_float(colour).astype(np.float32, copy=False)
        out = src.copy() if radius == 0 else _guided(src, guide_float, radius, eps, 1)
        return out[:, :, 0] if low.ndim == 2 else out
    small_guide = _downsample(colour, factor, np.float32)
    scale = 1.0 / max_value(colour.dtype)
    small_guide *= np.float32(scale)
    fit = _fit(colour.shape[2], src.shape[2], False, eps)
    out = np.empty((height, width, src.shape[2]), np.float32)
    _fast(src, small_guide, colour, fit, radius, factor, scale, out)
    return out[:, :, 0] if low.ndim == 2 else out


def _guided(src, guide, radius, eps, subsample):
    """Guided filter of H x W x C `src` by H x W x G `guide` (G = 1 or 3), both float."""
    height, width, n_src = src.shape
    self_guided = guide is src
    src = np.ascontiguousarray(src)  # one memory layout per compiled kernel (RGBA: a copy)
    guide = src if self_guided else np.ascontiguousarray(guide)
    fit = _fit(guide.shape[2], n_src, self_guided, eps)
    out = np.empty_like(src)
    factor = min(subsample, height, width)
    if factor == 1:

        def exact(start, stop):
            guided_rows(src, guide, fit, radius, start, stop, out)

        for_bands(exact, height, min_rows=8 * radius)
        return out

    small_guide = _downsample(guide, factor)
    small_src = small_guide if self_guided else _downsample(src, factor)
    _fast(small_src, small_guide, guide, fit, radius, factor, 1.0, out)
    return out


def _fast(small_src, small_guide, guide, fit, radius, factor, guide_scale, out):
    """The fast guided filter from the block means `small_src` and `small_guide`: the
    coefficients fitted at 1 / `factor` resolution, upsampled and applied to the full
    `guide` (whose values are `guide_scale` times those `small_guide` averages) into `out`."""
    small_radius = max(1, round(radius / factor))
    n_a = fit[-1].max() + 1
    coefs = np.empty(small_src.shape[:2] + (n_a + small_src.shape[2],), small_src.dtype)

    def coefficients(start, stop):
        guided_coefficients(small_src, small_guide, fit, small_radius, start, stop, coefs)

    for_bands(coefficients, len(coefs), min_rows=8 * small_radius)
    if guide_scale != 1.0:  # a * (scale I) = (scale a) * I
        coefs[:, :, :n_a] *= coefs.dtype.type(guide_scale)

    def upsample_and_apply(start, stop):
        upsample_apply_rows(coefs, guide, fit, factor, start, stop, out)

    for_bands(upsample_and_apply, len(out))


def _fit(n_guide, n_src, self_guided, eps, *, rgb=None):
    """The kernels' `fit` tuple ``(self_guided, rgb, eps, first, second, a_index)``.

    `rgb` (default: whether the image is self-guided colour, the only case it serves)
    selects the kernels' unrolled loops for self-guided colour; False runs the generic
    loops, which give the same result to round-off.
    """
    if rgb is None:
        rgb = self_guided and n_guide == 3
    if rgb and not (self_guided and n_guide == 3 and n_src == 3):
        raise ValueError("the unrolled colour loops need a self-guided colour image")
    first, second = _product_table(n_guide, n_src, self_guided)
    a_index = _coefficient_index(n_guide, n_src, self_guided)
    return (self_guided, rgb, float(eps), first, second, a_index)


def _downsample(image, factor, dtype=None):
    """`factor` x `factor` block means of H x W x C `image` (edge-replicated to whole blocks),
    as `dtype` (default: the image's)."""
    height, width, channels = image.shape
    shape = (-(-height // factor), -(-width // factor), channels)
    out = np.empty(shape, image.dtype if dtype is None else dtype)
    for_bands(lambda start, stop: area_downsample_band(image, factor, start, stop, out), len(out))
    return out


def _coefficient_index(n_guide, n_src, self_guided):
    """Plane of a[g, c] among the coefficients (b[c] follow the a planes).

    Self-guided colour coefficients ``(S + eps I)^-1 S`` are symmetric: 6 planes, not 9.
    """
    if self_guided and n_guide == 3:
        return np.array([[0, 1, 2], [1, 3, 4], [2, 4, 5]])
    return np.arange(n_guide * n_src).reshape(n_guide, n_src)


def _product_table(n_guide, n_src, self_guided):
    """The per-pixel quantities whose window means the fit needs, as index pairs into
    the pixel's values (guide channels, then the source's unless self-guided; -1: none):
    each value, then the guide products I_i I_j (i <= j), then I_g p_c (c-major)."""
    n_in = n_guide if self_guided else n_guide + n_src
    pairs = [(k, -1) for k in range(n_in)]
    pairs += [(i, j) for i in range(n_guide) for j in range(i, n_guide)]
    if not self_guided:
        pairs += [(g, n_guide + c) for c in range(n_src) for g in range(n_guide)]
    first, second = np.array(pairs, dtype=np.intp).T.copy()
    return first, second
