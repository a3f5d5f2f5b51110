"""Healing stage: find blemishes (darker, redder or both) on the skin and fill them.

A blemish is a small blob that is darker or redder than the skin around it. Both are found
with directional top-hats: a closing (darkness) or opening (redness) with a line segment
removes blobs shorter than the segment but keeps lines along it, so the minimum over four
orientations lifts round spots only, never lash lines, wrinkles, lip or eyelid contours.
Darkness is measured relative to the surrounding skin's luma, so a spot on dark skin counts as
much as one on light skin. Very dark, sharp blobs (pupils, nostrils, moles and beauty marks)
are left alone, with a margin around them.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .._pixelwise import luma, ramp
from ._blur import bounding_box, box_gaussian

# Relative darkness (1 - luma / surrounding luma) at which a spot starts and is fully a spot,
# and from which on a blob is a feature (pupil, nostril, mole) that is left alone.
DARKNESS = (0.03, 0.08)
FEATURE_DARKNESS = (0.3, 0.4)
# Redness (R - G on [0, 1], above its surroundings) at which a spot starts and is full.
REDNESS = (0.015, 0.05)


def spot_map(
    image: np.ndarray,
    size: float,
    sensitivity: float = 1.0,
    skin: np.ndarray | None = None,
) -> np.ndarray:
    """How much each pixel of `image` belongs to a blemish, 0 to 1 (float32, H x W).

    Parameters
    ----------
    image : ndarray, H x W x C float32
        The working image on [0, 1] (C = 1 or 3; redness needs colour).
    size : float
        The largest spot diameter to find, in pixels of `image`.
    sensitivity : float, optional
        Divides the darkness and redness thresholds: above 1, fainter spots count.
    skin : ndarray, H x W float32, optional
        The skin mask: spots are looked for only well inside it (mask >= 0.8, at least half
        a spot size from its edge), never on hairlines, jaw lines or lip borders.
    """
    length = max(3, 2 * round(size / 2) + 1)
    if skin is None:
        return _spots(image, length, sensitivity, None)
    box = bounding_box(skin >= 0.5, 2 * length + 2)  # only well inside the mask
    spots = np.zeros(skin.shape, np.float32)
    if box is not None:
        spots[box] = _spots(image[box], length, sensitivity, skin[box])
    return spots


def _spots(image, length, sensitivity, skin):
    """:func:`spot_map` of `image` with line segments of `length` pixels."""
    grey = np.ascontiguousarray(luma(image))
    lifted = _directional(grey, length, ndi.grey_closing, np.minimum)
    darkness = (lifted - grey) / np.maximum(lifted, 0.02)
    spots = ramp(darkness, *(t / sensitivity for t in DARKNESS))
    if image.shape[2] == 3:
        red = np.ascontiguousarray(image[:, :, 0] - image[:, :, 1])
        lowered = _directional(red, length, ndi.grey_opening, np.maximum)
        np.maximum(spots, ramp(red - lowered, *(t / sensitivity for t in REDNESS)), out=spots)
    _drop_elongated(spots, 1.5 * length)
    spots = ndi.grey_dilation(spots, size=(3, 3))  # the spot's rim too
    # Pupils, nostrils, moles: darker than any blemish (any shape), and a margin around them.
    background = ndi.grey_closing(grey, size=(length, length), mode="nearest")
    feature = ramp((background - grey) / np.maximum(background, 0.02), *FEATURE_DARKNESS)
    near = ndi.maximum_filter(feature, size=length, mode="nearest")
    spots *= 1.0 - near
    if skin is not None:
        spots *= ndi.minimum_filter(ramp(skin, 0.5, 0.8), size=length, mode="nearest")
    return spots


def _drop_elongated(spots: np.ndarray, longest: float) -> None:
    """Zero the blobs of `spots` (above 0.3) that reach further than `longest` pixels in
    either direction: folds, lash lines, contours at angles the four line closings miss."""
    labels, count = ndi.label(spots > 0.3)
    if count == 0:
        return
    long = np.zeros(count + 1, bool)
    for index, box in enumerate(ndi.find_objects(labels), start=1):
        if box is not None and max(b.stop - b.start for b in box) > longest:
            long[index] = True
    spots[long[labels]] = 0.0


def fill_spots(base: np.ndarray, spots: np.ndarray, size: float, source: np.ndarray) -> None:
    """Replace `base` inside `spots` by the spot-free skin of `source` around them (in place).

    The unsmoothed `source`, not `base`: an edge-preserving base has the spot's darkness
    spread into its surroundings. Normalised convolution, ``G(x (1 - s)) / G(1 - s)`` with a
    Gaussian G of a third of the spot size, so the fill follows the shading right around the
    spot; where a large spot leaves that Gaussian too little spot-free skin, a Gaussian of the
    whole spot size fills
    in. `spots` is the opacity of the replacement; it is lowered (in place) where even that
    Gaussian finds no spot-free skin.
    """
    box = bounding_box(spots > 0, int(3 * max(1.5, float(size))) + 2)  # the wider reach
    if box is not None:
        _fill_box(base[box], spots[box], size, source[box])


def _fill_box(base, spots, size, source):
    outside = 1.0 - np.minimum(ndi.grey_dilation(spots, size=(3, 3)), 1.0)
    filled, confidence = None, None
    for sigma in (max(1.0, size / 3.0), max(1.5, float(size))):
        weight = box_gaussian(outside, sigma)
        mean = box_gaussian(source * outside[:, :, None], sigma)
        mean /= np.maximum(weight, 1e-6)[:, :, None]
        if filled is None:
            filled, confidence = mean, ramp(weight, 0.005, 0.03)
        else:
            filled += (mean - filled) * (1.0 - confidence)[:, :, None]
            # no spot-free skin around at all (a "spot" as large as the image): not healed
            spots *= ramp(weight, 0.005, 0.03)
    filled -= base
    if filled.shape[2] == 3:  # a blemish is darker: healing never darkens (only its colour
        darker = np.minimum(luma(filled), 0.0)  # changes where the fill is darker)
        filled -= darker[:, :, None]
    filled *= spots[:, :, None]
    filled += base
    # healed pixels stay within the range of the pixels around (keeping luma can push a
    # channel past it)
    np.clip(filled, source.min(axis=(0, 1)), source.max(axis=(0, 1)), out=filled)
    np.copyto(base, filled, where=(spots > 0)[:, :, None])


def _directional(values, length, operation, combine):
    """`combine` of `operation` (closing or opening) with lines at 0, 45, 90 and 135 degrees."""
    diagonal = np.eye(length, dtype=bool)
    result = None
    # rows and columns by size (scipy's fast 1-d min/max), diagonals by footprint
    for shape in ({"size": (1, length)}, {"size": (length, 1)}):
        done = operation(values, mode="nearest", **shape)
        result = done if result is None else combine(result, done, out=result)
    for footprint in (diagonal, diagonal[::-1]):
        combine(result, operation(values, footprint=footprint, mode="nearest"), out=result)
    return result
