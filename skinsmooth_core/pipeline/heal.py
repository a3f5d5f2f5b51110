"""Healing stage: find blemishes (darker, redder or both) on the skin and fill them.

A blemish is a small blob that is darker or redder than the skin around it. Both are found
with directional top-hats: a closing (darkness) or opening (redness) with a line segment
removes blobs shorter than the segment but keeps lines along it, so the minimum over four
orientations lifts round spots only, never lash lines, wrinkles, lip or eyelid contours.
Darkness is measured relative to the surrounding skin's luma, so a spot on dark skin counts as
much as one on light skin.

What is not a blemish is left alone:

- **Features next to something else.** A blemish sits on even skin: in a ring one spot size
  wide around it, luma's 5th percentile is at most 25 % below the ring's median (pores,
  freckles and shading are darker), its 95th percentile and the skin's mean luma around
  at most 15 % off it (`SURROUND`). Pores and freckles pass; the inner corner of an eye
  (lashes, the white), gaps between teeth and the lip line (teeth, the mouth's shadow), a
  nostril (the nose's shading and highlights) and a hairline do not, whatever the skin
  mask says. (The rule costs healing next to features and strong shading: see
  docs/pipeline.md for what it does to the synthetic-spot benchmark.)
- **Very dark, sharp blobs** (relative darkness >= `FEATURE_DARKNESS`: pupils, nostrils,
  moles, beauty marks), with a margin of half a spot size around them.
- **Moles, unless asked** (``moles=True``). A mole is the one kind of very dark blob
  healed then: small (at most `MOLE_SIZE`, half the spot size, across), roughly round
  (its sides within 1.5 : 1), on sure skin all around (mask >= 0.8 over a spot size
  beyond it) and on even skin (the ring test above). A pupil fails all but the first
  (it sits in the eye, which a skin mask leaves out, ringed by iris, white and lashes);
  a nostril is larger, elongated and next to the nose's shading. Without a skin mask
  nothing is sure skin, so no mole is healed.
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
# A blemish's surroundings: luma's 5th percentile at most this fraction below their median
# (skin has pores, freckles and shading), the 95th and the skin's level around at most this
# fraction above or off it.
SURROUND = (0.25, 0.15)
# Moles (healed with ``moles=True``): at most this fraction of the spot size across, sides
# within MOLE_ASPECT : 1, skin mask >= MOLE_SKIN all around.
MOLE_SIZE = 0.5
MOLE_ASPECT = 1.5
MOLE_SKIN = 0.8


def spot_map(
    image: np.ndarray,
    size: float,
    sensitivity: float = 1.0,
    skin: np.ndarray | None = None,
    moles: bool = False,
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
    moles : bool, optional
        Also find moles and beauty marks (see the module's notes); pupils and nostrils
        never. Needs `skin`.

    Returns
    -------
    ndarray
        H x W float32: 1 on a spot to heal fully, 0 where nothing is healed.
    """
    length = max(3, 2 * round(size / 2) + 1)
    if skin is None:
        return _spots(image, length, sensitivity, None, False)
    box = bounding_box(skin >= 0.5, 2 * length + 2)  # only well inside the mask
    spots = np.zeros(skin.shape, np.float32)
    if box is not None:
        spots[box] = _spots(image[box], length, sensitivity, skin[box], moles)
    return spots


def _spots(image, length, sensitivity, skin, moles):
    """:func:`spot_map` of `image` with line segments of `length` pixels."""
    grey = np.ascontiguousarray(luma(image))
    lifted = _directional(grey, length, ndi.grey_closing, np.minimum)
    darkness = (lifted - grey) / np.maximum(lifted, 0.02)
    spots = ramp(darkness, *(t / sensitivity for t in DARKNESS))
    if image.shape[2] == 3:
        red = np.ascontiguousarray(image[:, :, 0] - image[:, :, 1])
        lowered = _directional(red, length, ndi.grey_opening, np.maximum)
        np.maximum(spots, ramp(red - lowered, *(t / sensitivity for t in REDNESS)), out=spots)
    # Pupils, nostrils, moles: darker than any blemish (any shape), and a margin around them.
    background = ndi.grey_closing(grey, size=(length, length), mode="nearest")
    feature = ramp((background - grey) / np.maximum(background, 0.02), *FEATURE_DARKNESS)
    # the skin's luma around (sure skin, over four spot sizes): what a blemish's ring matches
    sure = np.ones_like(grey) if skin is None else ramp(skin, 0.5, 0.8)
    level = ndi.uniform_filter(grey * sure, 4 * length + 1, mode="nearest")
    level /= np.maximum(ndi.uniform_filter(sure, 4 * length + 1, mode="nearest"), 1e-3)
    if moles:
        _drop_moles(feature, grey, level, skin, length)
    keep = 1.0 - ndi.maximum_filter(feature, size=length, mode="nearest")
    if skin is not None:  # only well inside the mask
        keep *= ndi.minimum_filter(sure, size=length, mode="nearest")
    healed = ndi.maximum_filter(keep, size=3) > 0
    _drop_non_blemishes(spots, grey, level, length, healed)
    spots = ndi.grey_dilation(spots, size=(3, 3))  # the spot's rim too
    spots *= keep
    return spots


def _drop_non_blemishes(spots, grey, level, length: int, healed) -> None:
    """Zero the blobs of `spots` (above 0.3) that are not blemishes, with the fainter
    spot pixels around them: those longer than 1.5 `length` in either direction (folds,
    lash lines, contours at angles the four line closings miss) and those next to
    something other than even skin (:func:`_uneven`; tested only where `healed`)."""
    labels, count = ndi.label(spots > 0.3)
    drop = np.zeros(count + 1, bool)
    tested = np.zeros(count + 1, bool)
    tested[labels[healed]] = True
    for index, box in enumerate(ndi.find_objects(labels), start=1):
        if box is not None:
            longest = max(b.stop - b.start for b in box)
            drop[index] = longest > 1.5 * length or (
                tested[index] and _uneven(grey, level, box, length)
            )
    if not drop.any():
        return
    dropped = drop[labels]
    faint, _ = ndi.label(spots > 0)
    attached = np.zeros(faint.max() + 1, bool)
    attached[faint[dropped]] = True
    attached[0] = False
    spots[dropped | (attached[faint] & (spots <= 0.3))] = 0.0


def _drop_moles(feature, grey, level, skin, length: int) -> None:
    """Zero the blobs of `feature` (very dark blobs) that are moles: small, round, on sure
    skin all around and on even skin (see the module's notes)."""
    if skin is None:  # nothing is sure skin
        return
    labels, _ = ndi.label(feature > 0)
    mole = np.zeros(labels.max() + 1, bool)
    for index, box in enumerate(ndi.find_objects(labels), start=1):
        if box is None:
            continue
        short, long = sorted(b.stop - b.start for b in box)
        if long > MOLE_SIZE * length or long > MOLE_ASPECT * short:
            continue
        around = _grow(box, length, labels.shape)
        even = not _uneven(grey, level, box, length)
        mole[index] = even and skin[around].min() >= MOLE_SKIN
    feature[mole[labels]] = 0.0


def _grow(box, margin, shape):
    """`box` (slices) grown by `margin` pixels on each side, within `shape`."""
    grown = zip(box, shape, strict=True)
    return tuple(slice(max(0, b.start - margin), min(n, b.stop + margin)) for b, n in grown)


def _uneven(grey, level, box, length) -> bool:
    """Whether the skin around the blob in `box` is not even: in the ring from 3 to
    `length` pixels out of the box, luma's 5th percentile more than `SURROUND[0]` below
    the ring's median, or its 95th percentile or the skin's `level` around more than
    `SURROUND[1]` off it (teeth and the white of the eye are even, but not at the skin's
    level)."""
    around = _grow(box, length, grey.shape)
    inner = tuple(
        slice(i.start - a.start, i.stop - a.start)
        for i, a in zip(_grow(box, 2, grey.shape), around, strict=True)
    )
    ring = np.ones(grey[around].shape, bool)
    ring[inner] = False
    values = grey[around][ring]
    if values.size == 0:
        return False
    values.sort()
    last = values.size - 1
    low, middle, high = values[[round(0.05 * last), round(0.5 * last), round(0.95 * last)]]
    unit = max(middle, 0.02)
    # teeth, the white of the eye, a highlight; not at the skin's luma around
    if max(high - middle, abs(level[box].mean() - middle)) > SURROUND[1] * unit:
        return True
    # lashes, a nostril's rim, the mouth's shadow
    return middle - low > SURROUND[0] * unit


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
