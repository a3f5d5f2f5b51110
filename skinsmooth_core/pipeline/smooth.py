"""The retouch, stage by stage: mask -> scale -> layers -> heal -> tone -> blend.

:func:`smooth_skin` validates its arguments and runs the stages, each in its own module:
:mod:`.mask` (which skin), :mod:`.scale` (how large the effect is and the working size),
:mod:`.layers` (edge-preserving base and detail bands, with :mod:`.heal` for the spots),
:mod:`.tone` (colour evening) and :mod:`.blend` (the full-resolution blend).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._image import check_float, check_image, max_value, split_alpha
from .._resample import area_downsample
from ._choices import note
from .blend import blend, opacity
from .layers import METHODS, filter_function, retouch_layers
from .mask import MASK_SOURCES, check_mask, working_mask
from .scale import WORKING_PIXELS, auto_scale, finest_factor, largest_skin_area
from .tone import tone_shift

__all__ = [
    "smooth_skin",
    "auto_scale",
    "largest_skin_area",
    "working_plan",
    "METHODS",
    "MASK_SOURCES",
]

TONE_SIGMA = 16.0  # colour patches up to about this radius (at scale 1) are evened by `tone`


def smooth_skin(
    image,
    mask="auto",
    *,
    strength=0.6,
    texture=0.35,
    blemish=0.5,
    tone=0.3,
    moles=False,
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
    moles : bool, optional
        Also heal moles and beauty marks (small, round, very dark blobs on sure skin all
        around), with the blemishes at their opacity (`blemish`). Default False: they
        stay. Pupils, nostrils, lips and hairlines are never healed.
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
    moles = check_switch(moles, "moles")
    scale = check_scale(scale)
    filter_fn = filter_function(method, filter_options)
    mask = check_mask(mask, image.shape[:2])
    if strength == 0.0 and blemish == 0.0 and tone == 0.0:
        return image.copy()

    colour, alpha = split_alpha(image)
    plan = working_plan(colour, mask, scale)
    factor, small, small_mask, full_mask = plan.factor, plan.small, plan.small_mask, plan.full_mask
    scale, top = plan.scale, plan.max_value
    # for batch reports and --save-mask: the mask this retouch uses (the working one is
    # upsampled as the blend does)
    note(scale, plan.mask, colour.shape[:2], factor)

    if full_mask is not None:
        skin = area_downsample(full_mask[:, :, None], factor, 1.0)[:, :, 0]
    else:
        skin = small_mask
    layer, keep, heal = retouch_layers(
        small, skin, filter_fn, filter_options, method, scale, factor, texture, blemish, moles
    )
    if full_mask is None and small_mask is None:
        small_mask = skin = np.ones(small.shape[:2], np.float32)
    shift = None
    if tone > 0 and small.shape[2] == 3:
        # evened on the working-size estimate of the result so far (smoothed and healed)
        applied = skin * opacity(strength, heal)
        estimate = layer + keep[:, :, None] * small
        estimate -= small
        estimate *= applied[:, :, None]
        estimate += small
        sigma = max(1.0, TONE_SIGMA * min(scale, factor * max(small.shape[:2])) / factor)
        shift = tone_shift(estimate, skin, sigma, tone)
    if full_mask is None:
        # spots are healed fully (opacity `blemish`), whatever the smoothing strength
        small_mask = small_mask * opacity(strength, heal)
    out = blend(
        colour, layer, keep, heal, shift, skin, small_mask, full_mask, strength, factor, top
    )
    if alpha is not None:
        return np.concatenate([out, alpha[:, :, None]], axis=2)
    return out.reshape(image.shape)


class Plan(NamedTuple):
    """Where a retouch works: the working grid, the mask it uses and the scale."""

    factor: int  # the working image is `image` reduced by this factor
    small: np.ndarray  # the working image, H' x W' x C float32 on [0, 1]
    small_mask: np.ndarray | None  # the skin mask at working size (a mask source's)
    full_mask: np.ndarray | None  # the caller's H x W mask (an array `mask`)
    scale: float  # the scale used ("auto" resolved)
    max_value: float  # 255, 65535 or 1: the top of the image's range

    @property
    def mask(self) -> np.ndarray | None:
        """The mask the blend applies (working size or full size); None: the whole image."""
        return self.full_mask if self.full_mask is not None else self.small_mask


def working_plan(colour: np.ndarray, mask, scale) -> Plan:
    """The working grid, skin mask and scale :func:`smooth_skin` uses for `colour`.

    Parameters
    ----------
    colour : ndarray
        H x W x C (C = 1 or 3, no alpha), validated by :func:`smooth_skin`.
    mask : str or ndarray
        A mask source, or an H x W float32 mask (as :func:`check_mask` returns it).
    scale : "auto" or float
        The validated ``scale`` option.

    Returns
    -------
    Plan
        Masks of a source are exactly 0 below 1/256 (they change nothing visible).
    """
    height, width = colour.shape[:2]
    top = max_value(colour.dtype)
    factor = max(1, int(math.sqrt(height * width / WORKING_PIXELS) + 0.5))
    if scale != "auto":
        factor = min(factor, finest_factor(scale))
    small = area_downsample(colour, factor, 1.0 / top)

    full_mask = small_mask = None
    if isinstance(mask, np.ndarray):
        full_mask = mask
        skin_area = largest_skin_area(mask)
    elif mask != "none":
        small_mask, skin_area = working_mask(small, mask, factor)
    else:
        skin_area = float(height * width) / 16.0
    if scale == "auto":
        scale = auto_scale(skin_area, height, width)
        if finest_factor(scale) < factor:  # small skin in a large photo: work finer
            factor = finest_factor(scale)
            small = area_downsample(colour, factor, 1.0 / top)
            if small_mask is not None:
                small_mask, _ = working_mask(small, mask, factor)
    if small_mask is not None:  # a mask below 1/256 changes nothing visible: exactly 0
        small_mask[small_mask < 1.0 / 256] = 0.0
    return Plan(factor, small, small_mask, full_mask, float(scale), top)


def check_switch(value, name: str) -> bool:
    """Validate an on/off option (``moles``): True or False (numpy's too)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_scale(scale):
    """Validate the ``scale`` option: "auto" or a finite number > 0."""
    if isinstance(scale, str) and scale == "auto":
        return scale
    if isinstance(scale, str):
        raise ValueError(f"scale must be 'auto' or a number > 0, got {scale!r}")
    return check_float(scale, "scale", inclusive=False)
