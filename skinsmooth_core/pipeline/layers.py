"""Layers stage: the edge-preserving base, the detail bands and the healed working layer.

The working image D is split into an edge-preserving base (the filter chosen by `method`),
a mid band (dropped: uneven tone, blotches) and a fine texture band (a fraction `texture` put
back); spots are healed in the base (:mod:`.heal`); strong features (lash lines, contours)
are kept whole.
"""

from __future__ import annotations

import functools
import importlib
import inspect

import numpy as np
from scipy import ndimage as ndi

from .._image import check_float
from .._parallel import run_all
from .._pixelwise import luma, ramp
from .heal import fill_spots, spot_map
from .scale import TEXTURE_SIGMA

__all__ = ["METHODS", "filter_function", "retouch_layers"]

# method name -> function of skinsmooth_core.filters
METHODS = {
    "guided": "guided_filter",
    "bilateral": "bilateral_filter",
    "surface": "surface_blur",
    "local-mean": "local_mean_filter",
    "wls": "wls_filter",
    "smart": "smart_blur",
}
# Sizes at scale 1, in pixels of the input (see :mod:`.scale`).
BASE_RADIUS = 6.0  # edge-preserving smoothing radius
SPOT_SIZE = 5.0  # blemishes up to about this diameter are healed
# at most this many working pixels: larger "spots" are not blemishes, and the spot search's
# cost grows with the size (line closings)
MAX_SPOT_SIZE = 64.0
EDGE_GRADIENT = (0.08, 0.16)  # luma gradient per pixel: texture below, an edge above
FEATURE_CONTRAST = (0.08, 0.16)  # luma above/below the base: texture below, a feature above
SUBGRID_FEATURE_CONTRAST = (0.04, 0.1)  # the same, for detail finer than the working grid
GUIDED_EPS = 1e-2  # guided-filter regularisation: skin variations below ~0.1 are smoothed
SIZE_OPTIONS = ("radius", "sigma_spatial")  # filter options in pixels: rescaled to working size


def filter_function(method, options: dict):
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
    for name in SIZE_OPTIONS:
        if name in options:
            check_float(options[name], name, inclusive=name == "radius")
    return function


def base_options(method, radius, factor, user):
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
        if name in SIZE_OPTIONS:
            value = value / factor
            if name == "radius":
                value = max(0, round(value))
        defaults[name] = value
    return defaults


def retouch_layers(
    small, skin, filter_fn, user_options, method, scale, factor, texture, blemish, moles=False
):
    """The working layer E = S - keep * D and the fraction `keep` of finer detail to keep.

    S = D + (S' - D'), where D' is the working image D with the non-skin
    pixels replaced by the surrounding skin (see :func:`extend_skin`) and
    S' = base + t' * fine is its retouch: the edge-preserving base with spots
    filled, plus the fraction t' (`texture`, less inside spots) of the fine
    detail band. Filtering D' instead of D keeps background, hair and eyes
    from bleeding into the skin next to them (no halo inside the border), and
    applying only the correction S' - D' keeps the border pixels' own colour
    (no skin-coloured fringe outside it). Detail finer than the working grid
    is kept in the proportion `texture`, and whole on edges (eyes, lips, hair).
    `moles`: moles are healed too (:func:`~.heal.spot_map`).
    """
    # Sizes beyond the working image show nothing new and cost in proportion to their size:
    # the smoothing radius (the largest size, with the spot size) is capped at its larger side.
    scale = min(scale, factor * max(small.shape[:2]) / BASE_RADIUS)
    radius = max(1, round(BASE_RADIUS * scale / factor))
    source = small if skin is None else extend_skin(small, skin, 4 * radius + 1)
    options = base_options(method, radius, factor, user_options)
    base = filter_fn(source, **options).astype(np.float32, copy=False)
    fine = source - base
    sigma = TEXTURE_SIGMA * scale / factor
    if sigma >= 0.3:  # else the detail band is all texture at this resolution
        low = np.empty_like(fine)
        run_all(  # plane by plane on the thread pool
            functools.partial(ndi.gaussian_filter, plane, sigma, output=out, mode="nearest")
            for plane, out in _planes(fine, low)
        )
        fine -= low
    texture = np.float32(texture)
    # Strong local features (lash lines, eyelid and lip contours, thin hair) stand far out of
    # the base, unlike texture: they are kept whole.
    contrast = np.abs(luma(source - base))
    # At a reduced working size a feature shows weakened by the averaging: lower bounds.
    protect = ramp(contrast, *(FEATURE_CONTRAST if factor == 1 else SUBGRID_FEATURE_CONTRAST))
    if blemish > 0:
        spot_size = min(SPOT_SIZE * scale / factor, MAX_SPOT_SIZE)
        # up to 0.5 `blemish` is the healing's opacity; above, fainter spots count too
        sensitivity = 1.0 + 0.5 * max(0.0, blemish - 0.5)
        spots = spot_map(source, spot_size, sensitivity, skin, moles)
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
        keep = np.maximum(edge_map(small), protect)
        # Constant over each feature's neighbours too, so its bilinear upsampling is exact there.
        keep = ndi.maximum_filter(keep, size=3, mode="nearest")
    else:
        keep = np.zeros(small.shape[:2], np.float32)
    keep *= 1.0 - texture
    keep += texture
    keep *= 1.0 - spots  # a healed spot keeps none of its own sub-grid detail
    base -= small * keep[:, :, None]
    return base, keep, spots


def extend_skin(small, skin, size):
    """D with the pixels that are not clearly skin replaced by the mean skin colour around them.

    "Clearly skin" ramps from mask 0.5 to 0.8; the mean is a normalised box
    average of those pixels over `size` pixels. Where no skin is near, the
    pixel is kept.
    """
    sure = np.clip((skin - 0.5) * (1.0 / 0.3), 0.0, 1.0)
    weighted = small * sure[:, :, None]
    fill, weight = np.empty_like(weighted), np.empty_like(sure)
    run_all(  # plane by plane on the thread pool
        functools.partial(ndi.uniform_filter, plane, size, output=out, mode="nearest")
        for plane, out in [*_planes(weighted, fill), (sure, weight)]
    )
    fill /= np.maximum(weight, 1e-3)[:, :, None]
    fill -= small
    fill *= ((1.0 - sure) * (weight > 1e-3))[:, :, None]
    fill += small
    return fill


def edge_map(small):
    """1 on strong edges of the working image (luma gradient >= EDGE_GRADIENT[1]), 0 on skin."""
    grey = np.ascontiguousarray(luma(small), dtype=np.float32)
    gradient = np.hypot(ndi.sobel(grey, 0, mode="nearest"), ndi.sobel(grey, 1, mode="nearest"))
    gradient *= 1.0 / 8.0  # Sobel sums 8 differences
    return ramp(gradient, *EDGE_GRADIENT)


def _planes(image, out):
    """(plane of `image`, plane of `out`) pairs of two H x W x C arrays: scipy.ndimage
    filters them in parallel (it releases the GIL), with the result of filtering the
    stack whole with size 1 (or sigma 0) across the planes."""
    return [(image[:, :, c], out[:, :, c]) for c in range(image.shape[2])]
