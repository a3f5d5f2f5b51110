"""Guided image filter (He, Sun and Tang), with the fast subsampled variant."""

from __future__ import annotations

import numpy as np

from .._image import check_float, check_image, check_int, filter_image, split_alpha, to_float
from ._box import for_row_strips, map_tiles, planar, window_sums

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
    height, width, n_src = src.shape
    self_guided = guide is src
    n_guide = guide.shape[2]
    a_index = _coefficient_index(n_guide, n_src, self_guided)
    out = np.empty_like(src)
    factor = min(subsample, height, width)
    if factor == 1:
        halo = 2 * radius

        def exact(src_tile, guide_tile=None):
            src_planes = _plane_major(src_tile)
            guide_planes = src_planes if guide_tile is None else _plane_major(guide_tile)
            coefs = _mean_coefficients(src_planes, guide_planes, radius, eps, a_index)
            out = _apply(coefs, guide_planes[:, halo:-halo, halo:-halo], a_index)
            return np.moveaxis(out, 0, 2)

        # tiles of about 128 x 256 pixels at radius 8 (measured fastest on 12 MP)
        return map_tiles(exact, [src] if self_guided else [src, guide], halo, out, planes=1)

    small_guide = _downsample(guide, factor)
    small_src = small_guide if self_guided else _downsample(src, factor)
    small_radius = max(1, round(radius / factor))

    def coefficients(src_tile, guide_tile):
        src_planes = _plane_major(src_tile)
        guide_planes = src_planes if self_guided else _plane_major(guide_tile)
        coefs = _mean_coefficients(src_planes, guide_planes, small_radius, eps, a_index)
        return np.moveaxis(coefs, 0, 2)

    n_coefs = a_index.max() + 1 + n_src
    small_coefs = np.empty(small_src.shape[:2] + (n_coefs,), src.dtype)
    map_tiles(coefficients, [small_src, small_guide], 2 * small_radius, small_coefs)
    small_coefs = planar(small_coefs)

    def upsample_and_apply(rows):
        coefs = _upsample_rows(small_coefs, rows, factor)
        _upsample_columns_and_apply(coefs, guide[rows], a_index, factor, out[rows])

    for_row_strips(upsample_and_apply, height, width * n_coefs * out.itemsize)
    return out


def _plane_major(tile):
    """H x W x K tile -> contiguous K x H x W copy."""
    return np.ascontiguousarray(np.moveaxis(tile, 2, 0))


def _coefficient_index(n_guide, n_src, self_guided):
    """Plane of a[g, c] among the coefficients (b[c] follow the a planes).

    Self-guided colour coefficients ``(S + eps I)^-1 S`` are symmetric: 6 planes, not 9.
    """
    if self_guided and n_guide == 3:
        return np.array([[0, 1, 2], [1, 3, 4], [2, 4, 5]])
    return np.arange(n_guide * n_src).reshape(n_guide, n_src)


def _mean_coefficients(src, guide, radius, eps, a_index):
    """Box-averaged linear coefficients of tiles with a 2 * radius halo on every side.

    `src` is C x H x W and `guide` G x H x W (planes, rows, columns; the same
    array when self-guided). Returns P x (H - 4 * radius) x (W - 4 * radius): the
    a planes (see `_coefficient_index`), then b[c]. Plane-major layout: every
    per-plane operation runs over one contiguous block.
    """
    self_guided = src is guide
    n_src, n_guide = src.shape[0], guide.shape[0]
    pairs = [(i, j) for i in range(n_guide) for j in range(i, n_guide)]
    cross = [] if self_guided else [(g, c) for g in range(n_guide) for c in range(n_src)]
    sources = [] if self_guided else [src]
    n_planes = n_guide + len(sources) * n_src + len(pairs) + len(cross)
    stack = np.empty((n_planes,) + guide.shape[1:], guide.dtype)
    stack[:n_guide] = guide
    k = n_guide
    if not self_guided:
        stack[k : k + n_src] = src
        k += n_src
    for i, j in pairs:
        np.multiply(guide[i], guide[j], out=stack[k])
        k += 1
    for g, c in cross:
        np.multiply(guide[g], src[c], out=stack[k])
        k += 1
    means = _box_mean(stack, radius)
    mean_guide = [means[g] for g in range(n_guide)]
    mean_src = mean_guide if self_guided else [means[n_guide + c] for c in range(n_src)]
    k = n_guide + len(sources) * n_src
    var = {}
    for i, j in pairs:  # guide covariances, in place of E[I_i I_j]
        var[i, j] = var[j, i] = means[k]
        var[i, j] -= mean_guide[i] * mean_guide[j]
        k += 1
    cov = var if self_guided else {}
    for g, c in cross:  # guide-source covariances, in place of E[I_g p_c]
        cov[g, c] = means[k]
        cov[g, c] -= mean_guide[g] * mean_src[c]
        k += 1
    n_a = a_index.max() + 1
    coefs = np.empty((n_a + n_src,) + means.shape[1:], means.dtype)
    if n_guide == 1:
        inv_var = 1.0 / (var[0, 0] + eps)
        for c in range(n_src):
            np.multiply(cov[0, c], inv_var, out=coefs[a_index[0, c]])
    else:
        inverse = _inverse_3x3(var, eps)
        for g in range(n_guide):
            for c in range(n_src):
                a = coefs[a_index[g, c]]
                if self_guided:  # (S + eps I)^-1 S = I - eps (S + eps I)^-1
                    if g <= c:
                        np.multiply(inverse[g, c], -eps, out=a)
                        a += float(g == c)
                else:
                    np.multiply(inverse[g, 0], cov[0, c], out=a)
                    a += inverse[g, 1] * cov[1, c]
                    a += inverse[g, 2] * cov[2, c]
    for c in range(n_src):
        b = coefs[n_a + c]
        b[...] = mean_src[c]
        for g in range(n_guide):
            b -= coefs[a_index[g, c]] * mean_guide[g]
    return _box_mean(coefs, radius)


def _box_mean(stack, radius):
    """Box means of a K x H x W stack, 'valid' along rows and columns (2 * radius fewer)."""
    size = 2 * radius + 1
    sums = window_sums(window_sums(stack, size, 1), size, 2)
    sums *= sums.dtype.type(1.0 / size**2)
    return sums


def _inverse_3x3(var, eps):
    """Per-pixel inverse of the symmetric 3 x 3 matrix var + eps I, by the adjugate."""
    s00, s11, s22 = var[0, 0] + eps, var[1, 1] + eps, var[2, 2] + eps
    s01, s02, s12 = var[0, 1], var[0, 2], var[1, 2]
    i00 = s11 * s22 - s12 * s12
    i01 = s02 * s12 - s01 * s22
    i02 = s01 * s12 - s02 * s11
    i11 = s00 * s22 - s02 * s02
    i12 = s01 * s02 - s00 * s12
    i22 = s00 * s11 - s01 * s01
    inv_det = 1.0 / (s00 * i00 + s01 * i01 + s02 * i02)
    for entry in (i00, i01, i02, i11, i12, i22):
        entry *= inv_det
    return {
        (0, 0): i00, (0, 1): i01, (0, 2): i02,
        (1, 0): i01, (1, 1): i11, (1, 2): i12,
        (2, 0): i02, (2, 1): i12, (2, 2): i22,
    }  # fmt: skip


def _apply(coefs, guide, a_index):
    """q[c] = sum_g a[g, c] * guide[g] + b[c] on P x H x W coefficients, G x H x W guide."""
    n_guide, n_src = a_index.shape
    n_a = a_index.max() + 1
    out = coefs[n_a:].copy()
    product = np.empty_like(guide[0])
    for c in range(n_src):
        for g in range(n_guide):
            out[c] += np.multiply(coefs[a_index[g, c]], guide[g], out=product)
    return out


def _downsample(stack, factor):
    """Area-average downsampling of H x W x C by an integer factor (edge-replicated to a
    multiple of it)."""
    height, width = stack.shape[:2]
    pad_h, pad_w = -height % factor, -width % factor
    if pad_h or pad_w:
        stack = np.pad(stack, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    rows = stack.reshape(stack.shape[0] // factor, factor, *stack.shape[1:])
    total = rows[:, 0].copy()
    for i in range(1, factor):  # whole rows first: contiguous runs
        total += rows[:, i]
    blocks = total.reshape(total.shape[0], total.shape[1] // factor, factor, total.shape[2])
    out = blocks[:, :, 0].copy()
    for j in range(1, factor):
        out += blocks[:, :, j]
    out *= stack.dtype.type(1.0 / factor**2)
    return out


def _upsample_rows(small, rows, factor):
    """Bilinear upsampling along axis 0 of `small` to the full-resolution `rows` (a slice).

    Low-resolution row i is the centre of full-resolution rows [i * factor, (i + 1) * factor).
    """
    coord = np.clip((np.arange(rows.start, rows.stop) + 0.5) / factor - 0.5, 0, len(small) - 1)
    low = coord.astype(np.intp)
    high = np.minimum(low + 1, len(small) - 1)
    weight = (coord - low).astype(small.dtype)[:, None, None]
    out = small[low]
    out += (small[high] - out) * weight
    return out


def _upsample_columns_and_apply(coefs, guide, a_index, factor, out):
    """Bilinear upsampling of H x P x w coefficients along the columns by `factor`, fused
    with :func:`_apply` on the H x W x G `guide`, into the H x W x C `out`.

    Works one output phase (column ``i * factor + phase``) at a time on arrays of the
    low-resolution width, so no full-resolution coefficient planes are formed.
    """
    rows, n_coefs, count = coefs.shape
    width, n_guide = guide.shape[1:]
    n_src = a_index.shape[1]
    n_a = n_coefs - n_src
    full = count * factor
    if full != width:  # edge columns up to a whole number of blocks, cropped at the end
        guide = np.pad(guide, ((0, 0), (0, full - width), (0, 0)), mode="edge")
    # guide phases: phase_guide[:, phase, g] holds columns phase, phase + factor, ...
    phase_guide = np.ascontiguousarray(
        guide.reshape(rows, count, factor, n_guide).transpose(0, 2, 3, 1)
    )
    # an edge column on each side stands in for clamping at the borders
    padded = np.empty((rows, n_coefs, count + 2), coefs.dtype)
    padded[..., 1:-1] = coefs
    padded[..., 0] = coefs[..., 0]
    padded[..., -1] = coefs[..., -1]
    step = padded[..., 1:] - padded[..., :-1]
    # output phases: blocks[:, i, phase] is column i * factor + phase
    direct = full == width and out.flags.c_contiguous
    blocks = out if direct else np.empty((rows, full, n_src), coefs.dtype)
    blocks = blocks.reshape(rows, count, factor, n_src)
    values = np.empty_like(coefs)
    total = np.empty((rows, count), coefs.dtype)
    product = np.empty_like(total)
    for phase in range(factor):
        offset = (phase + 0.5) / factor - 0.5  # output i * factor + phase sits at i + offset
        low = 1 if offset >= 0 else 0  # padded index of the low neighbour of i = 0
        weight = coefs.dtype.type(offset if offset >= 0 else 1 + offset)
        np.multiply(step[..., low : low + count], weight, out=values)
        values += padded[..., low : low + count]
        for c in range(n_src):
            total[...] = values[:, n_a + c]
            for g in range(n_guide):
                np.multiply(values[:, a_index[g, c]], phase_guide[:, phase, g], out=product)
                total += product
            blocks[:, :, phase, c] = total
    if not direct:
        out[...] = blocks.reshape(rows, full, n_src)[:, :width]
