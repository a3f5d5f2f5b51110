"""Previews for the plug-ins' dialogs: :func:`smooth_skin` on a reduced copy of the image.

A dialog reads its layer once, reduces it with :func:`downscale` (the factor
from :func:`preview_factor`), and keeps a :class:`SkinPreview` of it: the skin
mask is computed once per mask source and reused while only the sliders move,
and every result is ``smooth_skin`` itself, so the preview shows what the full
run will do. :func:`composite` blends a result through a soft selection.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral

import numpy as np

from .._image import check_image, from_float, max_value, to_float
from .._resample import area_downsample
from .smooth import MASK_SOURCES, auto_scale, largest_skin_area, smooth_skin

__all__ = [
    "PREVIEW_SIZE",
    "VIEWS",
    "SkinPreview",
    "composite",
    "detail_window",
    "downscale",
    "picture",
    "preview_factor",
]

PREVIEW_SIZE = 420  # about this many pixels on the longer side
VIEWS = ("result", "original", "mask")
_ROUNDING = 1e-6  # masks may exceed [0, 1] by this much (float32 block averages): clipped


def preview_factor(height: int, width: int, size: int = PREVIEW_SIZE) -> int:
    """The integer reduction that brings an image of height x width to about `size` pixels.

    ``max(1, round(max(height, width) / size))``: the longer side of the
    reduced copy lies between about 2/3 and 3/2 of `size` (or is the image's
    own, when that is smaller).

    Parameters
    ----------
    height, width : int
        Size of the image in pixels, at least 1.
    size : int, optional
        The wanted length of the longer side of the preview.

    Returns
    -------
    int
        The factor, at least 1, for :func:`downscale`.

    Raises
    ------
    ValueError
        If a size is not a positive integer.

    Examples
    --------
    >>> preview_factor(512, 512), preview_factor(4000, 6000)
    (1, 14)
    """
    for name, value in (("height", height), ("width", width), ("size", size)):
        if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return max(1, round(max(height, width) / size))


def _check_preview_image(image, name: str = "image") -> np.ndarray:
    """check_image, also accepting 2 channels (grey and alpha)."""
    if isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 2:
        check_image(image[:, :, :1], name=name)
        return image
    return check_image(image, name=name)


def check_weight(mask, shape, name: str) -> np.ndarray:
    """Validate a selection or blend weight: a float H x W array in [0, 1], returned
    clipped (a block average of 1s may come out as 1 + 1 ulp)."""
    mask = np.asarray(mask)
    if mask.shape != tuple(shape):
        raise ValueError(f"{name} has shape {mask.shape}; it must be H x W = {tuple(shape)}")
    slack = _ROUNDING
    if (
        mask.dtype.kind != "f"
        or not np.isfinite(mask).all()
        or mask.min() < -slack
        or mask.max() > 1 + slack
    ):
        raise ValueError(f"{name} must be a float array with values in [0, 1]")
    return np.clip(mask, 0.0, 1.0)


def downscale(image, factor: int) -> np.ndarray:
    """Average `factor` x `factor` blocks of `image`, as float32 on the [0, 1] scale.

    The result is ceil(H / factor) x ceil(W / factor) (blocks at the bottom
    and right edges average the pixels there are), with the channels of
    `image`, and stays within the range of its values (a block of 1s gives
    exactly 1). Rows of blocks do not depend on each other, so a large image can
    be reduced strip by strip, with strips whose heights are multiples of
    `factor`: the strips' results stacked equal the whole image's.

    Parameters
    ----------
    image : ndarray
        H x W or H x W x C, C = 1 to 4 (2 and 4: the last channel is alpha),
        dtype uint8, uint16, float32 or float64; integers are divided by their
        maximum, floats kept as they are.
    factor : int
        The reduction, at least 1 (see :func:`preview_factor`).

    Returns
    -------
    ndarray of float32
        The reduced image.

    Raises
    ------
    ValueError
        For an invalid image or factor.

    Examples
    --------
    >>> from skimage import data
    >>> downscale(data.astronaut(), 3).shape
    (171, 171, 3)
    """
    image = _check_preview_image(image)
    if not isinstance(factor, Integral) or isinstance(factor, bool) or factor < 1:
        raise ValueError(f"factor must be an integer >= 1, got {factor!r}")
    top = max_value(image.dtype)
    planes = image if image.ndim == 3 else image[:, :, None]
    small = area_downsample(planes, int(factor), 1.0 / top)
    if factor > 1:
        # An average lies within the values averaged; in float32 it may overshoot by a
        # rounding (a block of 1s may give 1 + 1 ulp): clip to the input's range.
        low, high = (float(value) / top for value in (planes.min(), planes.max()))
        np.clip(small, np.float32(low), np.float32(high), out=small)
    return small if image.ndim == 3 else small[:, :, 0]


def composite(original, result, weight) -> np.ndarray:
    """`result` where `weight` is 1, `original` where it is 0, and a blend in between.

    How a host shows a result through a soft (feathered) selection. Pixels
    where `weight` is 0 or 1 are taken as they are; in between the blend is
    computed on the [0, 1] scale and converted back.

    Parameters
    ----------
    original, result : ndarray
        Images of the same shape and dtype (see :func:`downscale` for the
        accepted ones).
    weight : ndarray
        H x W float array in [0, 1].

    Returns
    -------
    ndarray
        The blend, with the shape and dtype of `original`.

    Raises
    ------
    ValueError
        If the shapes or dtypes differ, or `weight` is not in [0, 1].

    Examples
    --------
    >>> original, result = np.zeros((2, 2), np.uint8), np.full((2, 2), 200, np.uint8)
    >>> composite(original, result, np.array([[0.0, 0.5], [1.0, 0.0]]))
    array([[  0, 100],
           [200,   0]], dtype=uint8)
    """
    original = _check_preview_image(original, "original")
    result = _check_preview_image(result, "result")
    if result.shape != original.shape or result.dtype != original.dtype:
        raise ValueError(
            f"result ({result.shape}, {result.dtype}) must have the shape and dtype of "
            f"original ({original.shape}, {original.dtype})"
        )
    weight = check_weight(weight, original.shape[:2], "weight")
    inside = weight[:, :, None] if original.ndim == 3 else weight
    if np.isin(weight, (0.0, 1.0)).all():
        return np.where(inside > 0, result, original)
    base, top = to_float(original), to_float(result)
    blended = base + (top - base) * inside.astype(base.dtype, copy=False)
    blended = np.where(inside == 1, top, blended)  # exactly the result where fully selected
    return from_float(blended, original.dtype)


class SkinPreview:
    """What a dialog shows: ``smooth_skin`` on a reduced copy, with its skin masks cached.

    The skin mask of each source is computed on the first request and reused,
    so moving a slider costs one ``smooth_skin`` call on the reduced copy;
    only another mask source computes another mask.

    Parameters
    ----------
    image : ndarray
        The reduced copy (e.g. from :func:`downscale`): H x W or H x W x C,
        C = 1 to 4; with C = 2 or 4 the last channel is alpha, passed through.
        Any dtype :func:`downscale` accepts; kept as float32 on [0, 1].
    selection : ndarray, optional
        H x W float in [0, 1]: where the host will apply the result (its
        selection, reduced the same way). The result is composited through it.
    factor : int, optional
        How much smaller than the processed image `image` is; a numeric
        ``scale`` is divided by it, so the preview has the full run's look.

    Attributes
    ----------
    original : ndarray of float32
        The reduced image, H x W x C.
    mask_computations : int
        How many skin masks were computed so far (one per source used).

    Examples
    --------
    >>> from skimage import data
    >>> preview = SkinPreview(downscale(data.astronaut(), 2), factor=2)
    >>> result, notes = preview.smooth("color", strength=0.8)
    >>> preview.picture("result", result).shape, preview.mask_computations
    ((256, 256, 3), 1)
    """

    def __init__(self, image, selection=None, factor: int = 1):
        image = _check_preview_image(image)
        if not isinstance(factor, Integral) or isinstance(factor, bool) or factor < 1:
            raise ValueError(f"factor must be an integer >= 1, got {factor!r}")
        planes = image if image.ndim == 3 else image[:, :, None]
        self.original = np.ascontiguousarray(to_float(planes), dtype=np.float32)
        colours = {1: 1, 2: 1, 3: 3, 4: 3}[planes.shape[2]]
        self._colour = np.ascontiguousarray(self.original[:, :, :colours])
        self.selection = None
        if selection is not None:
            selection = check_weight(selection, image.shape[:2], "selection")
            self.selection = selection.astype(np.float32)
        self.factor = int(factor)
        self.mask_computations = 0
        self._skins: dict[str, tuple[np.ndarray, list[str]]] = {}

    def skin(self, source: str = "auto") -> tuple[np.ndarray, list[str]]:
        """The skin mask of the reduced copy for `source`, and the warnings it gave.

        Parameters
        ----------
        source : {"auto", "unet", "color", "none"}, optional
            As `mask` of :func:`smooth_skin`; "none" is all ones.

        Returns
        -------
        mask : ndarray of float32
            H x W in [0, 1], computed once per source.
        notes : list of str
            Warnings of the computation (e.g. the colour fallback of "auto").

        Raises
        ------
        ValueError
            For an unknown source.
        ImportError, skinsmooth_core.masks.SegmenterUnavailable
            For "unet" when the learned model is not available (not cached).
        """
        if source not in MASK_SOURCES:
            raise ValueError(f"source must be one of {', '.join(map(repr, MASK_SOURCES))}")
        if source not in self._skins:
            if source == "none":
                mask, notes = np.ones(self.original.shape[:2], np.float32), []
            else:
                from ..masks import skin_mask

                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    mask = skin_mask(self._colour, method=source)
                self.mask_computations += 1
                notes = list(dict.fromkeys(str(warning.message) for warning in caught))
            self._skins[source] = mask, notes
        return self._skins[source]

    def mask(self, source: str = "auto") -> np.ndarray:
        """Where the result shows: the skin mask of `source` times the selection (H x W)."""
        mask, _ = self.skin(source)
        return mask if self.selection is None else mask * self.selection

    def smooth(self, source: str = "auto", **options) -> tuple[np.ndarray, list[str]]:
        """``smooth_skin`` of the reduced copy with the cached skin mask of `source`.

        Parameters
        ----------
        source : {"auto", "unet", "color", "none"}, optional
            The mask source, as for :func:`smooth_skin`.
        **options
            Keyword arguments of :func:`smooth_skin` (strength, texture,
            blemish, scale, method, filter options). A numeric ``scale`` is
            for the full image and is divided by the factor here.

        Returns
        -------
        result : ndarray of float32
            H x W x C like :attr:`original` (alpha untouched), composited
            through the selection.
        notes : list of str
            Warnings of the mask and of the smoothing, without repeats.

        Raises
        ------
        ValueError
            For invalid options (those of :func:`smooth_skin`).
        """
        skin, notes = self.skin(source)
        scale = options.get("scale", "auto")
        if not isinstance(scale, str):
            if not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
                raise ValueError(f"scale must be 'auto' or a number > 0, got {scale!r}")
            options["scale"] = scale / self.factor
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            colour = smooth_skin(self._colour, "none" if source == "none" else skin, **options)
        if self.selection is not None:
            colour = composite(self._colour, colour, self.selection)
        result = self.original.copy()
        result[:, :, : colour.shape[2]] = colour
        notes = notes + [str(warning.message) for warning in caught]
        return result, list(dict.fromkeys(notes))

    def picture(self, view: str, result=None, source: str = "auto") -> np.ndarray:
        """An 8-bit picture of one view, for the dialog's image widget.

        Parameters
        ----------
        view : {"result", "original", "mask"}
            The smoothed copy (`result`, from :meth:`smooth`), the reduced
            original, or the mask of `source` (:meth:`mask`) in grey.
        result : ndarray, optional
            The result to show; required for "result".
        source : str, optional
            The mask source for "mask".

        Returns
        -------
        ndarray of uint8
            H x W x C with the channels of :attr:`original` (grey, grey and
            alpha, RGB, RGBA), or H x W x 1 for the mask.

        Raises
        ------
        ValueError
            For an unknown view, or "result" without a result of the right shape.
        """
        if view not in VIEWS:
            raise ValueError(f"view must be one of {', '.join(map(repr, VIEWS))}, got {view!r}")
        if view == "mask":
            shown = self.mask(source)[:, :, None]
        elif view == "original":
            shown = self.original
        else:
            if result is None or np.shape(result) != self.original.shape:
                raise ValueError(f"the result view needs a result of shape {self.original.shape}")
            shown = np.asarray(result, dtype=np.float32)
        return picture(shown)


def picture(image) -> np.ndarray:
    """An 8-bit copy of `image` to show on screen (floats clipped to [0, 1]).

    Examples
    --------
    >>> picture(np.array([[0.0, 0.5, 2.0]]))
    array([[  0, 128, 255]], dtype=uint8)
    """
    image = np.clip(to_float(np.asarray(image)), 0.0, 1.0)
    return np.ascontiguousarray(from_float(image, np.uint8))


def detail_window(shape, weight=None, factor: int = 1, size: int = PREVIEW_SIZE):
    """A window of about `size` pixels of the full image around the skin, for a 1:1 view.

    Parameters
    ----------
    shape : tuple
        The full image's height and width (and channels).
    weight : ndarray, optional
        H' x W' float in [0, 1] on the preview's reduced copy: where the result shows
        (the skin mask times the selection). The window is centred on its centre of
        mass; without one, or where it is all 0, on the image's centre.
    factor : int, optional
        How much smaller the reduced copy is than the image.
    size : int, optional
        The window's side, at most the image's shorter side.

    Returns
    -------
    window : tuple of slices
        Rows and columns of the image.
    scale : float or None
        The scale ``scale="auto"`` gives the whole image (its skin, not the window's);
        None without a `weight`.

    Examples
    --------
    >>> weight = np.zeros((100, 100))
    >>> weight[10:20, 10:20] = 1.0
    >>> detail_window((400, 400), weight, factor=4, size=100)[0]
    (slice(10, 110, None), slice(10, 110, None))
    """
    height, width = shape[:2]
    centre_y, centre_x = height / 2, width / 2
    scale = None
    if weight is not None:
        weight = np.asarray(weight, dtype=np.float64)
        total = weight.sum()
        if total > 0:
            rows, columns = np.indices(weight.shape)
            centre_y = (rows * weight).sum() / total * factor
            centre_x = (columns * weight).sum() / total * factor
        scale = auto_scale(largest_skin_area(weight) * factor**2, height, width)
    side = min(size, height, width)
    top = int(min(max(centre_y - side / 2, 0), height - side))
    left = int(min(max(centre_x - side / 2, 0), width - side))
    return (slice(top, top + side), slice(left, left + side)), scale
