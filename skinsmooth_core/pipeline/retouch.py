"""The one call of the command and the plug-ins: the retouched image, its mask, its scale.

:func:`retouch` runs :func:`~skinsmooth_core.pipeline.smooth_skin` and hands out what a front
end needs besides the image: the mask the retouch used (for ``--save-mask``, a selection, a
layer mask), the scale, the share of skin and the warnings. It also does what a host asks
for around the retouch: a result only within a (soft) selection, and a "mask as a layer"
output, a layer smoothed everywhere at the scale its skin mask implies, shown through it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from .._image import check_image
from ._choices import smooth_skin_info, upsample_mask
from .mask import check_mask
from .options import check_options
from .preview import _check_preview_image, check_weight, composite
from .smooth import check_scale, smooth_skin, working_plan

__all__ = ["OUTPUTS", "Retouched", "context_box", "retouch"]

OUTPUTS = ("image", "layer", "mask")


@dataclass
class Retouched:
    """What :func:`retouch` returns.

    Attributes
    ----------
    image : ndarray
        The retouched image, with the shape and dtype of the input (for ``output="mask"``
        the input itself).
    mask : ndarray of float32 or None
        H x W in [0, 1]: exactly the mask the retouch used, at full size as the blend
        applied it, times the selection; None unless asked for.
    scale : float or None
        The scale used (None when every effect is 0 and nothing was done).
    skin : float or None
        The share of the image that is skin, the mean of the mask (before the selection).
    warnings : list of str
        The warnings of the retouch (e.g. the colour fallback of ``mask="auto"``), each once.
    """

    image: np.ndarray
    mask: np.ndarray | None = None
    scale: float | None = None
    skin: float | None = None
    warnings: list[str] = field(default_factory=list)


def retouch(
    image, mask="auto", *, selection=None, output="image", return_mask=False, **options
) -> Retouched:
    """Retouch `image`, optionally within a selection; hand out the mask it used.

    Parameters
    ----------
    image : ndarray
        H x W or H x W x C, C = 1 to 4 (2 and 4: the last channel is alpha, returned
        untouched), dtype uint8, uint16, float32 or float64.
    mask : {"auto", "unet", "color", "none"} or ndarray, optional
        As for :func:`~skinsmooth_core.pipeline.smooth_skin`.
    selection : ndarray, optional
        H x W float in [0, 1]: only selected pixels change, a soft selection blends
        (the result is composited through it), and the mask handed out is the skin mask
        times the selection.
    output : {"image", "layer", "mask"}, optional
        "image" (default): the retouched image. "layer": the image smoothed everywhere
        (without tone, which takes "the skin around" from the mask) at the scale its
        skin mask implies, to be shown through the mask handed out (a layer mask):
        that looks like the "image" output. "mask": only the mask; the image is the
        input, unchanged.
    return_mask : bool, optional
        Also hand out the mask with ``output="image"`` (the other outputs always do).
    **options
        Keyword arguments of :func:`~skinsmooth_core.pipeline.smooth_skin`.

    Returns
    -------
    Retouched
        The image, the mask, the scale, the share of skin and the warnings.

    Raises
    ------
    ValueError
        For an invalid image, mask, selection, output or option.
    ImportError, skinsmooth_core.masks.SegmenterUnavailable
        With ``mask="unet"`` when the learned segmenter is not available.

    Examples
    --------
    >>> from skimage import data
    >>> done = retouch(data.astronaut(), "color", return_mask=True)
    >>> done.image.shape, done.mask.shape, 0 < done.skin < 1
    ((512, 512, 3), (512, 512), True)
    """
    image = _check_preview_image(image)
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(map(repr, OUTPUTS))}, got {output!r}")
    channels = image.shape[2] if image.ndim == 3 else 1
    colour = image[:, :, : channels - 1] if channels in (2, 4) else image
    if selection is not None:
        selection = check_weight(selection, image.shape[:2], "selection")
    options = check_options(options)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if output == "image":
            result, info = smooth_skin_info(colour, mask, return_mask=return_mask, **options)
            if return_mask and info["mask"] is None:  # nothing done: the mask it would use
                info["mask"] = _mask_of(colour, mask, options.get("scale", "auto"))["mask"]
        else:
            info = _mask_of(colour, mask, options.get("scale", "auto"))
            result = colour
            if output == "layer":
                layer = {**options, "scale": info["scale"], "tone": 0.0}
                result = smooth_skin(colour, "none", **layer)
    notes = list(dict.fromkeys(str(warning.message) for warning in caught))
    if result is not colour:
        if colour is not image:
            result = np.concatenate([result.reshape(colour.shape), image[:, :, -1:]], axis=2)
        if selection is not None:
            result = composite(image, result, selection)
    used = info.get("mask")
    if used is not None and selection is not None:
        used = used * selection.astype(np.float32, copy=False)
    return Retouched(
        image if result is colour else result, used, info["scale"], info["skin"], notes
    )


def _mask_of(colour, mask, scale) -> dict:
    """The mask and scale a retouch of `colour` uses, without retouching: ``scale``,
    ``skin`` and the full-size ``mask``."""
    colour = check_image(colour)
    plan = working_plan(colour, check_mask(mask, colour.shape[:2]), check_scale(scale))
    skin = 1.0 if plan.mask is None else float(np.mean(plan.mask, dtype=np.float64))
    full = upsample_mask(plan.mask, colour.shape[:2], plan.factor)
    return {"scale": plan.scale, "skin": skin, "mask": full}


def context_box(box, size, margin=None):
    """A box grown by a margin of context for the filters, within the image.

    A host that retouches only a selection reads its bounds and this margin around
    them, so the filters see the pixels beside the selection, then keeps the bounds.

    Parameters
    ----------
    box : (x, y, width, height)
        The selection's bounds, in pixels of the image.
    size : (width, height)
        The image's size.
    margin : int, optional
        Pixels added on each side; default ``max(32, min(256, ceil(side / 20)))`` for
        the box's longer side.

    Returns
    -------
    outer : (x, y, width, height)
        The box to read and retouch.
    inner : tuple of slices
        Where `box` lies in the retouched `outer` box (rows, columns).

    Examples
    --------
    >>> context_box((100, 50, 40, 20), (512, 512))
    ((68, 18, 104, 84), (slice(32, 52, None), slice(32, 72, None)))
    """
    x, y, width, height = box
    if margin is None:
        margin = max(32, min(256, (max(width, height) + 19) // 20))
    left, top = max(0, x - margin), max(0, y - margin)
    right, bottom = min(size[0], x + width + margin), min(size[1], y + height + margin)
    inner = (slice(y - top, y - top + height), slice(x - left, x - left + width))
    return (left, top, right - left, bottom - top), inner
