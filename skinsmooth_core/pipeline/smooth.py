"""The skin-smoothing pipeline: edge-preserving base, detail bands, skin mask, blend."""

from __future__ import annotations

import importlib
import inspect
import math

import numpy as np
from scipy import ndimage as ndi

from .._image import check_float, check_image, split_alpha
from .._resample import BilinearUpsampler, area_downsample, for_strips
from ..masks._refine import luma
from ._choices import note
from .heal import fill_spots, spot_map
from .tone import tone_shift

__all__ = ["smooth_skin", "auto_scale", "largest_skin_area", "METHODS", "MASK_SOURCES"]

# method name -> function of skinsmooth_core.filters
METHODS = {
    "guided": "guided_filter",
    "bilateral": "bilateral_filter",
    "surface": "surface_blur",
    "local-mean": "local_mean_filter",
    "wls": "wls_filter",
    "smart": "smart_blur",
}
MASK_SOURCES = ("auto", "unet", "color", "none")

# Geometry at scale 1, in pixels of the input: a skin region of REFERENCE_SKIN_SIZE^2
# pixels, about the face and neck of a 512 x 512 head-and-shoulders portrait.
REFERENCE_SKIN_SIZE = 128.0
BASE_RADIUS = 6.0  # edge-preserving smoothing radius
TEXTURE_SIGMA = 1.0  # detail finer than this is texture (pores) and is put back
EDGE_GRADIENT = (0.08, 0.16)  # luma gradient per pixel: texture below, an edge above
FEATURE_CONTRAST = (0.08, 0.16)  # luma above/below the base: texture below, a feature above
SUBGRID_FEATURE_CONTRAST = (0.04, 0.1)  # the same, for detail finer than the working grid
SPOT_SIZE = 5.0  # blemishes up to about this diameter are filled
TONE_SIGMA = 16.0  # colour patches up to about this radius are evened by `tone`
# at most this many working pixels: larger "spots" are not blemishes, and the spot search's
# cost grows with the size (four line closings)
MAX_SPOT_SIZE = 64.0
WORKING_PIXELS = 0.5e6  # smoothing runs at about this many pixels; finer detail is texture
GUIDED_EPS = 1e-2  # guided-filter regularisation: skin variations below ~0.1 are smoothed

_INT_MAX = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
_SIZE_OPTIONS = ("radius", "sigma_spatial")  # filter options in pixels: rescaled to working size


def smooth_skin(
    image,
    mask="auto",
    *,
    strength=0.6,
    texture=0.35,
    blemish=0.5,
    tone=0.3,
    scale="auto",
    method="guided",
    **filter_options,
):
    """Smooth the skin of a portrait, keeping pores, features, hair and background.

    The image is split into an edge-preserving base layer (the filter chosen
    by `method`), a mid-frequency detail band (uneven tone, blotches) and a
    fine texture band (pores). The mid band is dropped, a fraction `texture`
    of the fine band is put back so the skin never looks plastic, and small
    dark spots found by a high-pass (black top-hat) are filled from their
    surroundings (`blemish`). The retouched layer is blended over the
    original with the soft skin mask times `strength` as alpha.

    Smoothing runs at a reduced working resolution (about 0.5 MP) where its
    result is invisible; detail finer than the working grid is handled as
    texture (strong thin features such as lash lines are kept whole), and
    the blend is done at full resolution. The skin mask
    (:func:`skinsmooth_core.masks.skin_mask`) is refined edge-aware, and
    the filters see the skin extended over non-skin pixels, so neither the
    background nor the skin bleeds across the border: no halo.

    Parameters
    ----------
    image : ndarray
        H x W (grey) or H x W x C image, C = 1, 3 or 4 (the alpha of RGBA is
        returned untouched), dtype uint8, uint16, float32 or float64.
    mask : {"auto", "unet", "color", "none"} or ndarray, optional
        Where the skin is. "auto" (default): the learned segmenter if it and
        its runtime are installed, otherwise the colour detector with a
        warning; "unet": the learned segmenter (error if unavailable);
        "color": :func:`skinsmooth_core.masks.detect_skin_color`, refined
        edge-aware; "none": the whole image. An array H x W is used as given (not refined): float in
        [0, 1], bool, or uint8 0..255; pixels where it is 0 are not changed.
    strength : float in [0, 1], optional
        Opacity of the retouch over the original. 0 returns the input exactly.
    texture : float in [0, 1], optional
        Fraction of the fine texture (pores) kept in the smoothed skin.
    blemish : float in [0, 1], optional
        Healing of blemishes (spots darker or redder than the skin around them, up to
        about 5 % of the face's width): up to 0.5 the opacity of the healing, above it
        fainter spots count too. Healing does not depend on `strength`: ``blemish=1``
        heals a spot fully even at a light ``strength``, and ``strength=0`` with
        ``blemish > 0`` only heals.
    tone : float in [0, 1], optional
        Evening of the skin's colour: blotchy redness and uneven colour at mid
        frequencies (patches smaller than about a third of the face) move towards the
        skin's own colour around them; luma (shading) is untouched. Independent of
        `strength`, like `blemish`.
    scale : "auto" or float > 0, optional
        Size of the effect. 1 suits a face of about 110 px (a skin region of
        about 128 x 128 px); "auto" (default) derives it from the area of the
        largest connected skin region (:func:`largest_skin_area`), so the same
        portrait at 1 MP and 24 MP, alone or in a group, gets the same look.
    method : str, optional
        Edge-preserving filter of the base layer, one of "guided" (default,
        fastest), "bilateral", "surface", "local-mean", "wls", "smart"
        (see :mod:`skinsmooth_core.filters`).
    **filter_options
        Override options of that filter (e.g. ``eps=0.01`` for "guided").
        Sizes (``radius``, ``sigma_spatial``) are in pixels of `image`.

    Returns
    -------
    ndarray
        The retouched image, with the shape and dtype of `image`.

    Raises
    ------
    ValueError
        For an invalid image, mask, parameter, method or filter option.
    ImportError, skinsmooth_core.masks.SegmenterUnavailable
        With ``mask="unet"`` when the learned segmenter is not available.

    References
    ----------
    .. [1] K. He, J. Sun and X. Tang, "Guided Image Filtering", IEEE TPAMI
           35(6), 2013 (base layer and edge-aware mask refinement).
    .. [2] K. He and J. Sun, "Fast Guided Filter", arXiv:1505.00996, 2015.
    .. [3] "AI beauty series: AI skin-smoothing algorithm, part 1" (2018):
           edge-preserving smoothing, high-pass attenuation of blemishes,
           blending with a skin mask.
    .. [4] D. Tschumperle, G'MIC "Smooth [skin]" (base/detail split, skin mask).

    Examples
    --------
    >>> from skimage import data
    >>> portrait = data.astronaut()
    >>> out = smooth_skin(portrait, mask="color", strength=0.7)
    >>> out.shape, out.dtype
    ((512, 512, 3), dtype('uint8'))
    """
    image = check_image(image)
    strength = check_float(strength, "strength", maximum=1.0)
    texture = check_float(texture, "texture", maximum=1.0)
    blemish = check_float(blemish, "blemish", maximum=1.0)
    tone = check_float(tone, "tone", maximum=1.0)
    if not (isinstance(scale, str) and scale == "auto"):
        if isinstance(scale, str):
            raise ValueError(f"scale must be 'auto' or a number > 0, got {scale!r}")
        scale = check_float(scale, "scale", inclusive=False)
    filter_fn = _filter_function(method, filter_options)
    mask = _check_mask(mask, image.shape[:2])
    if strength == 0.0 and blemish == 0.0 and tone == 0.0:
        return image.copy()

    colour, alpha = split_alpha(image)
    height, width = colour.shape[:2]
    max_value = _INT_MAX.get(image.dtype, 1.0)
    factor = max(1, int(math.sqrt(height * width / WORKING_PIXELS) + 0.5))
    if scale != "auto":
        factor = min(factor, _finest_factor(scale))
    small = area_downsample(colour, factor, 1.0 / max_value)

    full_mask = small_mask = None
    if isinstance(mask, np.ndarray):
        full_mask = mask
        skin_area = largest_skin_area(mask)
    elif mask != "none":
        small_mask, skin_area = _working_mask(small, mask, factor)
    else:
        skin_area = float(height * width) / 16.0
    if scale == "auto":
        scale = auto_scale(skin_area, height, width)
        if _finest_factor(scale) < factor:  # small skin in a large photo: work finer
            factor = _finest_factor(scale)
            small = area_downsample(colour, factor, 1.0 / max_value)
            if small_mask is not None:
                small_mask, _ = _working_mask(small, mask, factor)
    note(scale, full_mask if full_mask is not None else small_mask)  # for batch reports

    if full_mask is not None:
        skin = area_downsample(full_mask[:, :, None], factor, 1.0)[:, :, 0]
    else:
        if small_mask is not None:  # a mask below 1/256 changes nothing visible: exactly 0
            small_mask[small_mask < 1.0 / 256] = 0.0
        skin = small_mask
    layer, keep, heal = _retouch(
        small, skin, filter_fn, filter_options, method, scale, factor, texture, blemish
    )
    if full_mask is None and small_mask is None:
        small_mask = skin = np.ones(small.shape[:2], np.float32)
    shift = None
    if tone > 0 and small.shape[2] == 3:
        # evened on the working-size estimate of the result so far (smoothed and healed)
        opacity = skin * _opacity(strength, heal)
        estimate = layer + keep[:, :, None] * small
        estimate -= small
        estimate *= opacity[:, :, None]
        estimate += small
        sigma = max(1.0, TONE_SIGMA * min(scale, factor * max(small.shape[:2])) / factor)
        shift = tone_shift(estimate, skin, sigma, tone)
    if full_mask is None:
        # spots are healed fully (opacity `blemish`), whatever the smoothing strength
        small_mask = small_mask * _opacity(strength, heal)
    out = _blend(
        colour, layer, keep, heal, shift, skin, small_mask, full_mask, strength, factor, max_value
    )
    if alpha is not None:
        return np.concatenate([out, alpha[:, :, None]], axis=2)
    return out.reshape(image.shape)


def auto_scale(skin_area: float, height: int, width: int) -> float:
    """The ``scale`` that ``scale="auto"`` picks for a skin area in an image of height x width.

    ``sqrt(skin_area) / 128``, with the skin size bounded to 1/16 .. 0.8 of
    the frame side (an empty mask, or a frame full of skin-coloured pixels).
    `skin_area` is in pixels: the pipeline passes :func:`largest_skin_area`
    of its mask. Useful to smooth with a mask of one's own at the scale the
    pipeline would choose.

    Examples
    --------
    >>> auto_scale(256 * 256, 1024, 1024)
    2.0
    """
    side = math.sqrt(height * width)
    size = min(max(math.sqrt(max(skin_area, 0.0)), side / 16.0), 0.8 * side)
    return size / REFERENCE_SKIN_SIZE


def largest_skin_area(mask: np.ndarray) -> float:
    """Area in pixels of the largest connected skin region of a soft mask in [0, 1].

    Regions are the 8-connected parts of ``mask > 0.5``; the result is the
    mask's total (soft) area times the largest region's share of those pixels,
    so one face gives its whole area and four equal faces a quarter of it:
    the size of one person, not of the group. Masks over ~0.5 MP are
    labelled on a block-averaged copy (the share barely moves).

    Examples
    --------
    >>> mask = np.zeros((100, 100))
    >>> mask[10:30, 10:30] = mask[60:80, 60:80] = 1.0
    >>> largest_skin_area(mask)
    400.0
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (H x W), got shape {mask.shape}")
    total = float(mask.sum(dtype=np.float64))
    factor = math.ceil(math.sqrt(mask.size / WORKING_PIXELS))
    if factor > 1:
        mask = area_downsample(mask[:, :, None], factor, 1.0)[:, :, 0]
    labels, count = ndi.label(mask > 0.5, structure=np.ones((3, 3), bool))
    if count <= 1:
        return total
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    return total * float(sizes.max()) / float(sizes.sum())


def _finest_factor(scale: float) -> int:
    """The coarsest working grid that still resolves the texture band (sigma >= 0.5 px)."""
    return max(1, int(2.0 * TEXTURE_SIGMA * scale))


def _filter_function(method, options: dict):
    """Validate `method` and the names of its `options`; return the filter function."""
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
    filters = importlib.import_module("skinsmooth_core.filters")
    try:
        function = getattr(filters, METHODS[method])
    except AttributeError:
        raise ImportError(
            f"method {method!r} needs skinsmooth_core.filters.{METHODS[method]}, "
            "which this installation does not provide"
        ) from None
    accepted = [
        name
        for name, parameter in inspect.signature(function).parameters.items()
        if name not in ("image", "guide")
        and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"unknown option(s) {', '.join(unknown)} for method {method!r}; "
            f"accepted: {', '.join(accepted)}"
        )
    for name in _SIZE_OPTIONS:
        if name in options:
            check_float(options[name], name, inclusive=name == "radius")
    return function


def _check_mask(mask, shape):
    """Validate `mask`: a source name, or an H x W array turned into float32 in [0, 1]."""
    if isinstance(mask, str):
        if mask not in MASK_SOURCES:
            raise ValueError(
                f"mask must be one of {', '.join(map(repr, MASK_SOURCES))} or an H x W array, "
                f"got {mask!r}"
            )
        return mask
    if not isinstance(mask, np.ndarray):
        raise ValueError(
            f"mask must be one of {', '.join(map(repr, MASK_SOURCES))} or an H x W numpy array, "
            f"got {type(mask).__name__}"
        )
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[:, :, 0]
    if mask.shape != tuple(shape):
        raise ValueError(f"mask has shape {mask.shape}; it must be H x W = {tuple(shape)}")
    if mask.dtype == np.bool_:
        return mask.astype(np.float32)
    if mask.dtype == np.uint8:
        return mask.astype(np.float32) * np.float32(1 / 255)
    if mask.dtype.kind != "f":
        raise ValueError(
            f"mask has dtype {mask.dtype}; accepted are bool, uint8 (0..255) or float in [0, 1]"
        )
    if not np.isfinite(mask).all() or mask.min() < 0 or mask.max() > 1:
        raise ValueError("a float mask must hold finite values in [0, 1]")
    return mask.astype(np.float32)


def _working_mask(small, source, factor):
    """Skin mask of the working image (refined edge-aware by skin_mask) and the full-size
    area of its largest region."""
    from ..masks import skin_mask

    mask = skin_mask(small, source)
    return mask, largest_skin_area(mask) * factor**2


def _base_options(method, radius, factor, user):
    """Options of the base-layer filter at the working resolution."""
    defaults = {
        "guided": {"radius": radius, "eps": GUIDED_EPS, "subsample": max(1, min(4, radius // 4))},
        "bilateral": {"sigma_spatial": radius / 2.0, "sigma_color": 0.1},
        "surface": {"radius": radius, "threshold": 25 / 255},
        "local-mean": {"radius": radius, "sigma": 0.08},
        "wls": {"lam": 0.004 * radius**2, "alpha": 1.0},
        "smart": {"radius": radius, "threshold": 30 / 255},
    }[method]
    for name, value in user.items():
        if name in _SIZE_OPTIONS:
            value = value / factor
            if name == "radius":
                value = max(0, round(value))
        defaults[name] = value
    return defaults


def _retouch(small, skin, filter_fn, user_options, method, scale, factor, texture, blemish):
    """The working layer E = S - keep * D and the fraction `keep` of finer detail to keep.

    S = D + (S' - D'), where D' is the working image D with the non-skin
    pixels replaced by the surrounding skin (see :func:`_extend_skin`) and
    S' = base + t' * fine is its retouch: the edge-preserving base with spots
    filled, plus the fraction t' (`texture`, less inside spots) of the fine
    detail band. Filtering D' instead of D keeps background, hair and eyes
    from bleeding into the skin next to them (no halo inside the border), and
    applying only the correction S' - D' keeps the border pixels' own colour
    (no skin-coloured fringe outside it). Detail finer than the working grid
    is kept in the proportion `texture`, and whole on edges (eyes, lips, hair).
    """
    # Sizes beyond the working image show nothing new and cost in proportion to their size:
    # the smoothing radius (the largest size, with the spot size) is capped at its larger side.
    scale = min(scale, factor * max(small.shape[:2]) / BASE_RADIUS)
    radius = max(1, round(BASE_RADIUS * scale / factor))
    source = small if skin is None else _extend_skin(small, skin, 4 * radius + 1)
    options = _base_options(method, radius, factor, user_options)
    base = filter_fn(source, **options).astype(np.float32, copy=False)
    fine = source - base
    sigma = TEXTURE_SIGMA * scale / factor
    if sigma >= 0.3:  # else the detail band is all texture at this resolution
        fine -= ndi.gaussian_filter(fine, sigma=(sigma, sigma, 0), mode="nearest")
    texture = np.float32(texture)
    # Strong local features (lash lines, eyelid and lip contours, thin hair) stand far out of
    # the base, unlike texture: they are kept whole.
    contrast = np.abs(luma(source - base))
    # At a reduced working size a feature shows weakened by the averaging: lower bounds.
    protect = _ramp(contrast, *(FEATURE_CONTRAST if factor == 1 else SUBGRID_FEATURE_CONTRAST))
    if blemish > 0:
        spot_size = min(SPOT_SIZE * scale / factor, MAX_SPOT_SIZE)
        # up to 0.5 `blemish` is the healing's opacity; above, fainter spots count too
        sensitivity = 1.0 + 0.5 * max(0.0, blemish - 0.5)
        spots = spot_map(source, spot_size, sensitivity, skin)
        spots *= np.float32(min(1.0, 2.0 * blemish))
        fill_spots(base, spots, spot_size, source)
        fine *= ((1.0 - spots) * texture)[:, :, None]
        protect *= 1.0 - spots
    else:
        spots = np.zeros(small.shape[:2], np.float32)
        fine *= texture
    base += fine
    base += (source - base) * protect[:, :, None]
    if source is not small:
        base -= source
        base += small
    if factor > 1:
        keep = np.maximum(_edge_map(small), protect)
        # Constant over each feature's neighbours too, so its bilinear upsampling is exact there.
        keep = ndi.maximum_filter(keep, size=3, mode="nearest")
    else:
        keep = np.zeros(small.shape[:2], np.float32)
    keep *= 1.0 - texture
    keep += texture
    keep *= 1.0 - spots  # a healed spot keeps none of its own sub-grid detail
    base -= small * keep[:, :, None]
    return base, keep, spots


def _extend_skin(small, skin, size):
    """D with the pixels that are not clearly skin replaced by the mean skin colour around them.

    "Clearly skin" ramps from mask 0.5 to 0.8; the mean is a normalised box
    average of those pixels over `size` pixels. Where no skin is near, the
    pixel is kept.
    """
    sure = np.clip((skin - 0.5) * (1.0 / 0.3), 0.0, 1.0)
    weight = ndi.uniform_filter(sure, size, mode="nearest")
    fill = ndi.uniform_filter(small * sure[:, :, None], (size, size, 1), mode="nearest")
    fill /= np.maximum(weight, 1e-3)[:, :, None]
    fill -= small
    fill *= ((1.0 - sure) * (weight > 1e-3))[:, :, None]
    fill += small
    return fill


def _ramp(values, low, high):
    """0 below `low`, 1 above `high`, linear in between (float32)."""
    ramp = np.asarray(values, dtype=np.float32) - np.float32(low)
    ramp *= np.float32(1.0 / (high - low))
    return np.clip(ramp, 0.0, 1.0, out=ramp)


def _edge_map(small):
    """1 on strong edges of the working image (luma gradient >= EDGE_GRADIENT[1]), 0 on skin."""
    grey = np.ascontiguousarray(luma(small), dtype=np.float32)
    gradient = np.hypot(ndi.sobel(grey, 0, mode="nearest"), ndi.sobel(grey, 1, mode="nearest"))
    gradient *= 1.0 / 8.0  # Sobel sums 8 differences
    return _ramp(gradient, *EDGE_GRADIENT)


def _opacity(strength, heal):
    """The blend's opacity where the skin mask is 1: `strength`, raised to 1 inside spots."""
    return np.float32(strength) + np.float32(1.0 - strength) * heal


def _blend(
    colour, layer, keep, heal, shift, skin, small_mask, full_mask, strength, factor, max_value
):
    """Blend at full resolution, strip by strip.

    With x the original, m the mask times strength, k the fraction of
    sub-grid detail kept and S the retouched working image, the result is
    ``x + m (up(S) + k (x - up(D)) - x)``, computed as ``x w + up(A)`` with
    ``w = 1 - m (1 - k)`` and ``A = m (S - k D)`` prepared at working size
    (and ``+ 0.5`` for integers, which are then truncated: rounding). Where
    m = 0 this is exactly x, and rows and columns whose working-size `skin`
    blocks are all 0 are copied without arithmetic.
    """
    height, width, channels = colour.shape
    work_dtype = np.float64 if colour.dtype == np.float64 else np.float32
    out = np.empty_like(colour)
    small_shape = layer.shape[:2]
    upsampler = BilinearUpsampler((height, width), small_shape, factor)
    offset = np.float32(0.5 if max_value != 1.0 else 0.0)
    if full_mask is None:
        # planes: A (C channels), w
        planes = np.empty(small_shape + (channels + 1,), np.float32)
        planes[:, :, :channels] = layer
        planes[:, :, channels] = 1.0 - small_mask * (1.0 - keep)
        planes[:, :, :channels] *= (small_mask * np.float32(max_value))[:, :, None]
        planes[:, :, :channels] += offset
        if shift is not None:  # the tone's colour shift, at the mask's own opacity
            planes[:, :, :channels] += shift * (skin * np.float32(max_value))[:, :, None]
    else:
        # planes: S - k D (C channels), 1 - k, opacity, the tone's shift (C channels, or none);
        # the mask is applied at full resolution
        extra = 0 if shift is None else channels
        planes = np.empty(small_shape + (channels + 2 + extra,), np.float32)
        planes[:, :, :channels] = layer * np.float32(max_value)
        planes[:, :, channels] = 1.0 - keep
        planes[:, :, channels + 1] = _opacity(strength, heal)
        if shift is not None:
            planes[:, :, channels + 2 :] = shift * np.float32(max_value)
    active = skin > 0  # working-size blocks with any skin: the rest is copied

    def work(start, stop):
        spans = np.flatnonzero(active[upsampler.rows(start, stop)].any(axis=0))
        if spans.size == 0:
            out[start:stop] = colour[start:stop]
            return
        first, last = upsampler.columns(spans[0], spans[-1] + 1)
        out[start:stop, :first] = colour[start:stop, :first]
        out[start:stop, last:] = colour[start:stop, last:]
        x = colour[start:stop, first:last]
        upsampled = upsampler.strip(planes, start, stop, (first, last))
        weight, detail = upsampled[:, :, channels : channels + 1], upsampled[:, :, :channels]
        if full_mask is not None:
            mask = full_mask[start:stop, first:last, None]
            alpha = mask * upsampled[:, :, channels + 1 : channels + 2]
            weight *= -alpha
            weight += 1.0
            detail *= alpha
            detail += offset
            if shift is not None:
                detail += mask * upsampled[:, :, channels + 2 :]
        x = np.multiply(x, weight, dtype=work_dtype)
        x += detail
        if max_value != 1.0:
            np.clip(x, 0.0, max_value, out=x)
        out[start:stop, first:last] = x

    for_strips(height, width, work)
    return out
