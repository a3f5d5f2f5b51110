"""Skin masks: the learned segmenter and the classic colour detector.

:func:`skin_mask` is the one entry point the pipeline, the command and the
plug-ins use: ``method="auto"`` takes the learned model when it and its
runtime are installed, and otherwise falls back to :func:`detect_skin_color`
with a :class:`SkinMaskFallbackWarning` that says so.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._image import check_image, max_value, split_alpha
from .._pixelwise import LUMA_WEIGHTS, luma
from .._resample import area_downsample
from ._refine import refine_mask, refinement_radius
from .color import detect_skin_color

__all__ = [
    "SegmenterUnavailable",
    "SkinMaskFallbackWarning",
    "SkinSegmenter",
    "detect_skin_color",
    "skin_mask",
]

MASK_METHODS = ("auto", "unet", "color")
MASK_PIXELS = 0.15e6  # the colour mask is computed at about this size, then refined to full size


class SkinMaskFallbackWarning(UserWarning):
    """The learned skin mask was asked for but is unavailable; the colour detector was used."""


def __getattr__(name):
    # The segmenter pulls in the model runtime: import it only when asked for.
    if name in ("SkinSegmenter", "SegmenterUnavailable"):
        from . import segmenter

        return getattr(segmenter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _learned_mask(image: np.ndarray) -> np.ndarray:
    from .segmenter import default_segmenter

    return np.asarray(default_segmenter().predict(image), dtype=np.float32)


def skin_mask(image, method: str = "auto") -> np.ndarray:
    """Return a soft skin mask of `image`.

    Parameters
    ----------
    image : ndarray
        H x W or H x W x C image (C = 1, 3 or 4; alpha ignored), dtype uint8,
        uint16, float32 or float64.
    method : {"auto", "unet", "color"}, optional
        ``"unet"``: the learned segmenter (:mod:`skinsmooth_core.masks.segmenter`);
        raises if the model or its runtime is missing. ``"color"``: the colour
        detector :func:`detect_skin_color`, computed at about 0.15 MP and
        refined edge-aware to full size (see below). ``"auto"`` (default): the
        learned segmenter when available, else ``"color"`` with a
        :class:`SkinMaskFallbackWarning`.

    Returns
    -------
    mask : ndarray of float32, shape (H, W)
        Skin probability in [0, 1], smooth inside the skin and following the
        image's edges at its border: ready to blend with, to save or to show.

    Notes
    -----
    The raw colour detector is noisy at pixel level and ignores edges. Its
    mask is therefore refined with a guided filter whose guide is the image
    luma (radius 1/32 of the skin region's size), computed at the reduced
    size and applied to the full-size luma (the fast guided filter), which
    also upsamples it without blocks. The learned segmenter refines its own
    output the same way.

    Raises
    ------
    ValueError
        If `image` or `method` is invalid.
    ImportError, SegmenterUnavailable
        With ``method="unet"`` when the segmenter, its model or runtime is missing.

    References
    ----------
    .. [1] O. Ronneberger, P. Fischer and T. Brox, "U-Net: Convolutional
           networks for biomedical image segmentation", MICCAI 2015.
    .. [2] K. He and J. Sun, "Fast Guided Filter", arXiv:1505.00996, 2015.

    Examples
    --------
    >>> from skimage import data
    >>> skin_mask(data.astronaut(), method="color").shape
    (512, 512)
    """
    if not isinstance(method, str) or method not in MASK_METHODS:
        accepted = ", ".join(map(repr, MASK_METHODS))
        raise ValueError(f"method must be one of {accepted}, got {method!r}")
    image = check_image(image)
    if method == "color":
        return _colour_mask(image)
    if method == "unet":
        return _checked(_learned_mask(image), image)
    try:
        from .segmenter import SegmenterUnavailable
    except ImportError as exc:
        reason = str(exc)
    else:
        try:
            return _checked(_learned_mask(image), image)
        except SegmenterUnavailable as exc:
            reason = str(exc)
    warnings.warn(
        f"learned skin mask unavailable ({reason}); using the colour detector, which may also "
        "select hair, wood or clothes of skin-like colour",
        SkinMaskFallbackWarning,
        stacklevel=2,
    )
    return _colour_mask(image)


def _colour_mask(image: np.ndarray) -> np.ndarray:
    """The colour detector on a reduced copy, refined edge-aware to full size."""
    colour, _ = split_alpha(image)
    height, width = colour.shape[:2]
    top = max_value(colour.dtype)
    factor = max(1, int(np.sqrt(height * width / MASK_PIXELS) + 0.5))
    small = area_downsample(colour, factor, 1.0 / top)
    raw = detect_skin_color(small)
    if factor == 1:
        guide = luma(small)
    else:
        weights = np.array(LUMA_WEIGHTS[: colour.shape[2]], np.float32)
        if colour.shape[2] == 1:
            weights[0] = 1.0
        guide = np.dot(colour, weights / np.float32(top))
    return refine_mask(raw, guide, factor, refinement_radius(raw))


def _checked(mask: np.ndarray, image: np.ndarray) -> np.ndarray:
    if mask.shape != image.shape[:2]:
        raise RuntimeError(
            f"segmenter returned a mask of shape {mask.shape}, expected {image.shape[:2]}"
        )
    return np.clip(mask, 0.0, 1.0)
