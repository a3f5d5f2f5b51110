"""Guided image filter (He, Sun and Tang), with the fast subsampled variant."""

from __future__ import annotations

import numpy as np

from .._image import check_float, check_image, check_int, filter_image, split_alpha, to_float
from ._box import box_mean

__all__ = ["guided_filter"]


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
    Borders are reflected (``dcba|abcd``, OpenCV's ``BORDER_REFLECT``). The exact
    filter matches ``cv2.ximgproc.guidedFilter`` on float images in [0, 1].

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
    eps = check_float(eps, "eps", inclusive=False)
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
        if radius == 0:
            return src.copy()
        guide_src = src if guide_float is None else guide_float.astype(src.dtype, copy=False)
        return _guided(src, guide_src, radius, eps, subsample)

    return filter_image(image, kernel)


def _guided(src, guide, radius, eps, subsample):
    """Guided filter of H x W x C `src` by H x W x G `guide` (G = 1 or 3), both float."""
    height, width = src.shape[:2]
    factor = min(subsample, height, width)
    if factor > 1:
        small_guide = _downsample(guide, factor)
        small_src = _downsample(src, factor)
        small_radius = max(1, round(radius / factor))
        coefs = _mean_coefficients(small_src, small_guide, small_radius, eps)
        coefs = _upsample(coefs, factor, (height, width))
    else:
        coefs = _mean_coefficients(src, guide, radius, eps)
    return _apply(coefs, guide, src.shape[2])


def _mean_coefficients(src, guide, radius, eps):
    """Box-averaged coefficients, H x W x (G * C + C): a[g, c] planes then b[c] planes."""
    n_src, n_guide = src.shape[2], guide.shape[2]
    pairs = [(i, j) for i in range(n_guide) for j in range(i, n_guide)]
    products = [guide[..., i] * guide[..., j] for i, j in pairs]
    products += [guide[..., g] * src[..., c] for g in range(n_guide) for c in range(n_src)]
    means = box_mean(np.concatenate([guide, src, np.stack(products, axis=2)], axis=2), radius)
    mean_guide = means[..., :n_guide]
    mean_src = means[..., n_guide : n_guide + n_src]
    offset = n_guide + n_src
    var = {}
    for k, (i, j) in enumerate(pairs):
        var[i, j] = var[j, i] = means[..., offset + k] - mean_guide[..., i] * mean_guide[..., j]
    offset += len(pairs)
    cov = means[..., offset:].reshape(*means.shape[:2], n_guide, n_src)
    cov -= mean_guide[..., :, None] * mean_src[..., None, :]
    if n_guide == 1:
        a = cov / (var[0, 0] + eps)[..., None, None]
    else:
        a = _solve_3x3(var, eps, cov)
    b = mean_src - np.einsum("...gc,...g->...c", a, mean_guide)
    coefs = np.concatenate([a.reshape(*a.shape[:2], -1), b], axis=2)
    return box_mean(coefs, radius)


def _solve_3x3(var, eps, cov):
    """Solve (var + eps I) a = cov per pixel for a symmetric 3 x 3 `var`, by the adjugate."""
    s00, s11, s22 = var[0, 0] + eps, var[1, 1] + eps, var[2, 2] + eps
    s01, s02, s12 = var[0, 1], var[0, 2], var[1, 2]
    i00 = s11 * s22 - s12 * s12
    i01 = s02 * s12 - s01 * s22
    i02 = s01 * s12 - s02 * s11
    i11 = s00 * s22 - s02 * s02
    i12 = s01 * s02 - s00 * s12
    i22 = s00 * s11 - s01 * s01
    inv_det = 1.0 / (s00 * i00 + s01 * i01 + s02 * i02)
    inverse = np.stack([i00, i01, i02, i01, i11, i12, i02, i12, i22], axis=2)
    inverse *= inv_det[..., None]
    inverse = inverse.reshape(*inverse.shape[:2], 3, 3)
    return np.einsum("...gk,...kc->...gc", inverse, cov)


def _apply(coefs, guide, n_src):
    """q[c] = sum_g a[g, c] * guide[g] + b[c]."""
    n_guide = guide.shape[2]
    a = coefs[..., : n_guide * n_src].reshape(*coefs.shape[:2], n_guide, n_src)
    return np.einsum("...gc,...g->...c", a, guide) + coefs[..., n_guide * n_src :]


def _downsample(stack, factor):
    """Area-average downsampling by an integer factor (edge-replicated to a multiple)."""
    height, width, planes = stack.shape
    pad_h, pad_w = -height % factor, -width % factor
    if pad_h or pad_w:
        stack = np.pad(stack, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    rows, cols = stack.shape[0] // factor, stack.shape[1] // factor
    blocks = stack.reshape(rows, factor, cols, factor, planes)
    return blocks.mean(axis=(1, 3), dtype=stack.dtype)


def _upsample(stack, factor, shape):
    """Bilinear upsampling by `factor` to `shape`, low-res pixel centres at block centres."""
    for axis, size in enumerate(shape):
        n_low = stack.shape[axis]
        coord = (np.arange(size) + 0.5) / factor - 0.5
        coord = np.clip(coord, 0, n_low - 1)
        low = np.minimum(coord.astype(np.intp), n_low - 1)
        high = np.minimum(low + 1, n_low - 1)
        weight = (coord - low).astype(stack.dtype)
        weight = weight.reshape((-1, 1, 1) if axis == 0 else (1, -1, 1))
        first = np.take(stack, low, axis=axis)
        first += (np.take(stack, high, axis=axis) - first) * weight
        stack = first
    return stack
