"""Healing stage: find blemishes (darker, redder or both) on the skin and fill them.

A blemish is a small blob that is darker or redder than the skin around it. Both are found
with directional top-hats: a closing (darkness) or opening (redness) with a line segment
removes blobs shorter than the segment but keeps lines along it, so the minimum over four
orientations lifts round spots only, never lash lines, wrinkles, lip or eyelid contours.
Darkness is measured relative to the surrounding skin's luma, so a spot on dark skin counts as
much as one on light skin.

What is not a blemish is left alone:

- **Features next to something else.** A blemish sits on even skin: in a ring one spot size
  wide around it, with the skin's shading across the ring (a fitted plane) taken out, luma's
  5th percentile is at most 15 % below the ring's median and its 95th percentile at most
  12 % above it, and the skin's mean luma around is at most 15 % off the ring's (`SURROUND`;
  only pixels the mask calls skin count, when it does). Pores, freckles and shading pass;
  the inner corner of an eye (lashes, the white), gaps between teeth and the lip line
  (teeth, the mouth's shadow), a nostril (its rim) and a hairline do not, whatever the skin
  mask says. (The rule costs healing next to features: see docs/pipeline.md for what it
  does to the synthetic-spot benchmark.)
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

import functools

import numpy as np
from scipy import ndimage as ndi

from .._parallel import run_all, run_parallel
from .._pixelwise import luma, ramp
from ..filters._jit import jit
from ..filters._lines import directional_closing, directional_opening
from ._blur import bounding_box, box_gaussian

# Relative darkness (1 - luma / surrounding luma) at which a spot starts and is fully a spot,
# and from which on a blob is a feature (pupil, nostril, mole) that is left alone.
DARKNESS = (0.03, 0.08)
FEATURE_DARKNESS = (0.3, 0.4)
# Redness (R - G on [0, 1], above its surroundings) at which a spot starts and is full.
REDNESS = (0.015, 0.05)
# A blemish's surroundings, their shading taken out: luma's 5th percentile at most this
# fraction below their median (skin has pores and freckles), the 95th at most this fraction
# above it; and the skin's level around at most this fraction off their median.
SURROUND = (0.15, 0.12, 0.15)
# Moles (healed with ``moles=True``): at most this fraction of the spot size across, sides
# within MOLE_ASPECT : 1, skin mask >= MOLE_SKIN all around.
MOLE_SIZE = 0.5
MOLE_ASPECT = 1.5
MOLE_SKIN = 0.8
# spots are filled in tiles of this many pixels (and their reach): only where spots are
FILL_TILE = 48


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
    red = np.ascontiguousarray(image[:, :, 0] - image[:, :, 1]) if image.shape[2] == 3 else None
    # the skin's luma around (sure skin, over four spot sizes): what a blemish's ring matches
    sure = np.ones_like(grey) if skin is None else ramp(skin, 0.5, 0.8)
    around = functools.partial(ndi.uniform_filter, size=4 * length + 1, mode="nearest")

    def nothing():  # a step that does not apply
        return None

    # in parallel, longest first: luma lifted by lines (darker spots), R - G lowered by lines
    # (redder spots), luma lifted by squares (pupils, nostrils, moles); the sums around; how
    # far inside the skin
    lifted, lowered, background, level, total, inner = run_all(
        [
            functools.partial(directional_closing, grey, length),
            nothing if red is None else functools.partial(directional_opening, red, length),
            functools.partial(_square_closing, grey, length),
            functools.partial(around, grey * sure),
            functools.partial(around, sure),
            nothing
            if skin is None
            else functools.partial(ndi.minimum_filter, sure, length, mode="nearest"),
        ]
    )
    darkness = (lifted - grey) / np.maximum(lifted, 0.02)
    spots = ramp(darkness, *(t / sensitivity for t in DARKNESS))
    if red is not None:
        np.maximum(spots, ramp(red - lowered, *(t / sensitivity for t in REDNESS)), out=spots)
    # Pupils, nostrils, moles: darker than any blemish (any shape), and a margin around them.
    feature = ramp((background - grey) / np.maximum(background, 0.02), *FEATURE_DARKNESS)
    level /= np.maximum(total, 1e-3)
    if moles:
        _drop_moles(feature, grey, level, skin, length)
    keep = 1.0 - ndi.maximum_filter(feature, size=length, mode="nearest")
    if skin is not None:  # only well inside the mask
        keep *= inner
    healed = ndi.maximum_filter(keep, size=3) > 0
    _drop_non_blemishes(spots, grey, level, length, healed, sure)
    spots = ndi.grey_dilation(spots, size=(3, 3))  # the spot's rim too
    spots *= keep
    return spots


def _drop_non_blemishes(spots, grey, level, length: int, healed, sure) -> None:
    """Zero the blobs of `spots` (above 0.3) that are not blemishes, with the fainter
    spot pixels around them: those longer than 1.5 `length` in either direction (folds,
    lash lines, contours at angles the four line closings miss) and those next to
    something other than even skin (:func:`_uneven`; tested only where `healed`)."""
    labels, count = ndi.label(spots > 0.3)
    first, last = _extents(labels, count)
    drop = ((last - first + 1) > 1.5 * length).any(axis=0)
    drop[0] = False  # the background
    tested = np.zeros(count + 1, bool)
    tested[labels[healed]] = True
    tested[0] = False
    candidates = np.flatnonzero(tested & ~drop)
    drop[candidates] = _uneven(grey, level, sure, first, last, candidates, length)
    if not drop.any():
        return
    dropped = drop[labels]
    faint, _ = ndi.label(spots > 0)
    attached = np.zeros(faint.max() + 1, bool)
    attached[faint[dropped]] = True
    attached[0] = False
    spots[dropped | (attached[faint] & (spots <= 0.3))] = 0.0


def _extents(labels, count):
    """First and last row (index 0) and column (index 1) of each of the `count` labels of
    `labels`: two 2 x (count + 1) arrays (label 0, the background, unused)."""
    height, width = labels.shape
    where = np.flatnonzero(labels)
    which = labels.ravel()[where]
    first = np.array([[height], [width]]).repeat(count + 1, axis=1)
    last = np.zeros((2, count + 1), np.intp)
    for axis, positions in enumerate(np.divmod(where, width)):
        np.minimum.at(first[axis], which, positions)
        np.maximum.at(last[axis], which, positions)
    return first, last


def _box(first, last, index):
    """The slices of label `index` from its :func:`_extents`."""
    return slice(first[0, index], last[0, index] + 1), slice(first[1, index], last[1, index] + 1)


def _drop_moles(feature, grey, level, skin, length: int) -> None:
    """Zero the blobs of `feature` (very dark blobs) that are moles: small, round, on sure
    skin all around and on even skin (see the module's notes)."""
    if skin is None:  # nothing is sure skin
        return
    labels, count = ndi.label(feature > 0)
    first, last = _extents(labels, count)
    short, long = np.sort(last - first + 1, axis=0)
    mole = np.zeros(count + 1, bool)
    small = (long <= MOLE_SIZE * length) & (long <= MOLE_ASPECT * short)
    small[0] = False  # the background
    candidates = np.flatnonzero(small)
    uneven = _uneven(grey, level, ramp(skin, 0.5, 0.8), first, last, candidates, length)
    for index, bumpy in zip(candidates, uneven, strict=True):
        around = _grow(_box(first, last, index), length, labels.shape)
        mole[index] = not bumpy and skin[around].min() >= MOLE_SKIN
    feature[mole[labels]] = 0.0


def _grow(box, margin, shape):
    """`box` (slices) grown by `margin` pixels on each side, within `shape`."""
    grown = zip(box, shape, strict=True)
    return tuple(slice(max(0, b.start - margin), min(n, b.stop + margin)) for b, n in grown)


def _within(box, around):
    """`box` (slices) as slices of the array cut out by `around`, which holds it."""
    pairs = zip(box, around, strict=True)
    return tuple(slice(b.start - a.start, b.stop - a.start) for b, a in pairs)


def _uneven(grey, level, sure, first, last, indices, length):
    """Whether the skin around each blob `indices` (its box from :func:`_extents`) is not
    even: in the ring from 3 to `length` pixels out of the box (its pixels with `sure` skin
    >= 0.5; uneven when they are under a quarter of it), with the ring's linear trend
    (shading, a least-squares plane) taken out, luma's 5th percentile more than
    `SURROUND[0]` below the median or its 95th percentile more than `SURROUND[1]` above it,
    or the skin's `level` around more than `SURROUND[2]` off the ring's median (teeth and
    the white of the eye are even, but not at the skin's level). A bool array."""
    return _uneven_blobs(grey, level, sure, first, last, indices, length, *SURROUND)


@jit
def _uneven_blobs(grey, level, sure, first, last, indices, length, below, above, off):
    """:func:`_uneven` compiled: each blob's ring gathered, its plane fitted (float64 sums),
    its quantiles read off sorted copies; `below`, `above`, `off` are `SURROUND`."""
    height, width = grey.shape
    uneven = np.zeros(len(indices), np.bool_)
    side = 2 * length + 1 + max(np.max(last - first + 1), 1) if len(indices) else 1
    values = np.empty(side * side, np.float64)
    rows = np.empty(side * side, np.float64)
    columns = np.empty(side * side, np.float64)
    for n in range(len(indices)):
        index = indices[n]
        top, bottom = first[0, index], last[0, index] + 1
        left, right = first[1, index], last[1, index] + 1
        count = 0
        size = 0
        for y in range(max(0, top - length), min(height, bottom + length)):
            for x in range(max(0, left - length), min(width, right + length)):
                if top - 2 <= y < bottom + 2 and left - 2 <= x < right + 2:
                    continue  # the blob and its rim
                count += 1
                if sure[y, x] >= 0.5:
                    values[size] = grey[y, x]
                    rows[size] = y
                    columns[size] = x
                    size += 1
        if size == 0 or size < 0.25 * count:
            uneven[n] = size > 0
            continue
        v, r, c = values[:size], rows[:size], columns[:size]
        r = r - r.mean()
        c = c - c.mean()
        centred = v - v.mean()
        rr, cc, rc = np.sum(r * r), np.sum(c * c), np.sum(r * c)
        det = rr * cc - rc * rc
        residual = v.copy()
        if det > 1e-9 * max(rr * cc, 1.0):  # a plane (not a line of pixels)
            vr, vc = np.sum(centred * r), np.sum(centred * c)
            residual -= ((cc * vr - rc * vc) * r + (rr * vc - rc * vr) * c) / det
        residual.sort()
        final = size - 1
        low = residual[round(0.05 * final)]
        centre = residual[round(0.5 * final)]
        high = residual[round(0.95 * final)]
        middle = np.sort(v)[round(0.5 * final)]
        unit = max(middle, 0.02)
        around = level[top:bottom, left:right].mean()
        # teeth, the white of the eye, a highlight; not at the skin's luma around;
        # lashes, a nostril's rim, the mouth's shadow
        uneven[n] = (
            high - centre > above * unit
            or abs(around - middle) > off * unit
            or centre - low > below * unit
        )
    return uneven


def fill_spots(base: np.ndarray, spots: np.ndarray, size: float, source: np.ndarray) -> None:
    """Replace `base` inside `spots` by the spot-free skin of `source` around them (in place).

    The unsmoothed `source`, not `base`: an edge-preserving base has the spot's darkness
    spread into its surroundings. Normalised convolution, ``G(x (1 - s)) / G(1 - s)`` with a
    Gaussian G of a third of the spot size, so the fill follows the shading right around the
    spot; where a large spot leaves that Gaussian too little spot-free skin, a Gaussian of the
    whole spot size fills in (computed only when some spot pixel needs it). `spots` is the
    opacity of the replacement; it is lowered (in place) where even that Gaussian finds no
    spot-free skin. Done in tiles of `FILL_TILE`
    pixels that hold spots, side by side ones together (each box reading out to the wider
    Gaussian's reach), in parallel.
    """
    reach = int(3 * max(1.5, float(size))) + 2  # the wider Gaussian's reach
    tile = max(FILL_TILE, 2 * reach)
    given = spots.copy()  # what every tile reads; each writes its own core only
    # healed pixels stay within the photo's range (keeping luma can push a channel past it)
    channels = [source[:, :, c] for c in range(source.shape[2])]  # (fast: one plane each)
    limits = np.array([c.min() for c in channels]), np.array([c.max() for c in channels])
    height, width = spots.shape
    cores = []  # each row of tiles' runs of tiles with spots, one box per run
    for top in range(0, height, tile):
        rows = slice(top, top + tile)
        spotted = [given[rows, left : left + tile].any() for left in range(0, width, tile)]
        for run in np.split(np.arange(len(spotted)), np.flatnonzero(np.diff(spotted)) + 1):
            if spotted[run[0]]:
                cores.append((rows, slice(run[0] * tile, (run[-1] + 1) * tile)))

    def fill(core):
        around = _grow(core, reach, spots.shape)
        inner = _within(core, around)
        part_base, part_spots = base[around].copy(), given[around].copy()
        _fill_box(part_base, part_spots, size, source[around], limits)
        base[core], spots[core] = part_base[inner], part_spots[inner]

    run_parallel(fill, cores)


def _fill_box(base, spots, size, source, limits):
    outside = 1.0 - np.minimum(ndi.grey_dilation(spots, size=(3, 3)), 1.0)
    filled, confidence = None, None
    for sigma in (max(1.0, size / 3.0), max(1.5, float(size))):
        if confidence is not None and confidence[spots > 0].min(initial=1.0) >= 1.0:
            break  # spot-free skin right around every spot pixel: no wider look needed
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
    np.clip(filled, *limits, out=filled)
    np.copyto(base, filled, where=(spots > 0)[:, :, None])


def _square_closing(values, length):
    """The grey closing with a `length` x `length` square (scipy's separable min/max)."""
    return ndi.grey_closing(values, size=(length, length), mode="nearest")
