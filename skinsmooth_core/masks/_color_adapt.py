"""A soft skin mask adapted to the photo's own colours.

The model decides from shape and context, and stays unsure of skin it sees little of:
a close-up cut by the frame, a hand at the edge, a small face in a crowd. The same
photo's sure answers tell which colours are skin in this photo, under its light: a
colour histogram of the sure skin and one of the sure background give a log-likelihood
ratio per colour (the histogram skin model of [1]_, learned per photo from the mask as
in the adaptive models of [2]_). It is added to the mask's log-odds, Bayes' rule with the
model's answer as the prior: unsure pixels follow their colour, sure answers barely move.

Three quarters of the photo's log prior odds of skin (sure skin against sure other pixels)
are kept in the ratio. Without them, a colour as common in the sure skin as in the rest (an
orange suit, a tan coat) moves towards skin, skin being the rarer of the two; with all of
them, the colours of skin the models half see move too little (chosen on the training
photos' wild set, ``models/MODEL_CARD.md``; a half until the partner ran on tiles too).

At the border of the sure skin its own edge decides: a rise fades in from 1 to 4 pixels
away from it (chessboard distance), so hair at a hairline, brows and collars beside sure
skin stay where the models put them, while unsure skin further off (a close-up's far side,
a hand, a small face) gets the full rise.

References
----------
.. [1] M. J. Jones and J. M. Rehg, "Statistical color models with application to skin
       detection", International Journal of Computer Vision 46(1), 81-96, 2002.
.. [2] L. Sigal, S. Sclaroff and V. Athitsos, "Skin color-based video segmentation under
       time-varying illumination", IEEE TPAMI 26(7), 862-877, 2004.
.. [3] A. Rosenfeld and J. L. Pfaltz, "Sequential operations in digital picture
       processing", Journal of the ACM 13(4), 471-494, 1966.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .._pixelwise import CB_SCALE, CR_SCALE, LUMA_WEIGHTS
from ..filters._jit import jit

# Bins of Rec. 601 luma and of Cr and Cb (full range, 8-bit): 8 x 32 x 32.
_LUMA_BINS, _CHROMA_BINS = 8, 32
SURE_SKIN, SURE_OTHER = 0.8, 0.05  # mask values whose colours train the two histograms
MIN_SAMPLES = 64  # pixels of each kind below which the photo's colours say nothing
_SMOOTH = 0.5  # sigma of the histograms' Gaussian smoothing, in bins
_PSEUDO = 1e-3  # added to each bin's count: colours never seen get a ratio near 1
_PRIOR = 0.75  # share of the photo's log prior odds of skin kept in the ratio
_LIMIT = 4.0  # bound of the log ratio: colour alone never decides
_EPS = 1e-3  # masks are clipped to [eps, 1 - eps] before their log-odds
_FADE = (1, 4)  # pixels from sure skin: no rise at the first, the full rise from the second
_GREY = 4.0  # Cr and Cb this close to neutral (8-bit levels): a grey pixel
_MAX_GREY = 0.5  # share of grey pixels in the sure skin above which colour says nothing
_WR, _WG, _WB = LUMA_WEIGHTS


def grey_share(rgb: np.ndarray) -> float:
    """The share of `rgb`'s pixels (H x W x 3 uint8) whose Cr and Cb are within 4 levels
    of neutral: about 1 for a black-and-white photo (0.87 at most for the colour photos of
    the wild benchmark, whose walls, roads and shade are greyish).

    Examples
    --------
    >>> rgb = np.full((8, 8, 3), 90, np.uint8)
    >>> grey_share(rgb)
    1.0
    >>> rgb[:2] = (200, 150, 120)
    >>> grey_share(rgb)
    0.75
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"the photo must be H x W x 3 uint8, got {rgb.shape} {rgb.dtype}")
    count = rgb.shape[0] * rgb.shape[1]
    return _count_grey(np.ascontiguousarray(rgb)) / count if count else 0.0


@jit
def _count_grey(rgb):
    grey = 0
    for y in range(rgb.shape[0]):
        for x in range(rgb.shape[1]):
            r, g, b = np.float32(rgb[y, x, 0]), np.float32(rgb[y, x, 1]), np.float32(rgb[y, x, 2])
            luma = np.float32(_WR) * r + np.float32(_WG) * g + np.float32(_WB) * b
            cr = (r - luma) * np.float32(CR_SCALE)
            cb = (b - luma) * np.float32(CB_SCALE)
            if abs(cr) < _GREY and abs(cb) < _GREY:
                grey += 1
    return grey


@jit
def _bin_and_count(rgb, mask, sure_skin, sure_other, bins, skin_counts, other_counts):
    """Each pixel's colour bin into `bins`; counts of the sure skin and sure other bins.
    Returns how many sure skin pixels are grey (Cr and Cb within ``_GREY`` of neutral)."""
    grey = 0
    for y in range(rgb.shape[0]):
        for x in range(rgb.shape[1]):
            r, g, b = np.float32(rgb[y, x, 0]), np.float32(rgb[y, x, 1]), np.float32(rgb[y, x, 2])
            luma = np.float32(_WR) * r + np.float32(_WG) * g + np.float32(_WB) * b
            cr = (r - luma) * np.float32(CR_SCALE) + np.float32(128.0)
            cb = (b - luma) * np.float32(CB_SCALE) + np.float32(128.0)
            ly = min(max(int(luma * np.float32(_LUMA_BINS / 256)), 0), _LUMA_BINS - 1)
            lr = min(max(int(cr * np.float32(_CHROMA_BINS / 256)), 0), _CHROMA_BINS - 1)
            lb = min(max(int(cb * np.float32(_CHROMA_BINS / 256)), 0), _CHROMA_BINS - 1)
            index = (ly * _CHROMA_BINS + lr) * _CHROMA_BINS + lb
            bins[y, x] = index
            value = mask[y, x]
            if value > sure_skin:
                skin_counts[index] += 1
                if abs(cr - np.float32(128.0)) < _GREY and abs(cb - np.float32(128.0)) < _GREY:
                    grey += 1
            elif value < sure_other:
                other_counts[index] += 1
    return grey


@jit
def _near_sure_skin(mask, sure_skin, cap, near):
    """Chessboard distance of each pixel to the nearest pixel of `mask` above `sure_skin`,
    at most `cap`, into `near`: two raster passes over 8 neighbours [3]_."""
    height, width = mask.shape
    for y in range(height):
        for x in range(width):
            d = 0 if mask[y, x] > sure_skin else cap
            if d and y > 0:
                for dx in (-1, 0, 1):
                    if 0 <= x + dx < width:
                        d = min(d, near[y - 1, x + dx] + 1)
            if d and x > 0:
                d = min(d, near[y, x - 1] + 1)
            near[y, x] = d
    for y in range(height - 1, -1, -1):
        for x in range(width - 1, -1, -1):
            d = near[y, x]
            if d and y < height - 1:
                for dx in (-1, 0, 1):
                    if 0 <= x + dx < width:
                        d = min(d, near[y + 1, x + dx] + 1)
            if d and x < width - 1:
                d = min(d, near[y, x + 1] + 1)
            near[y, x] = d


@jit
def _add_log_odds(mask, bins, odds, eps, near, fade_from, fade_to, out):
    """sigmoid(logit(mask) + log(odds[bin])) per pixel, the mask clipped to [eps, 1 - eps]
    (as p odds / (p odds + 1 - p)); a rise is scaled by where `near` (pixels from sure
    skin) lies from `fade_from` (none) to `fade_to` (all of it)."""
    for y in range(mask.shape[0]):
        for x in range(mask.shape[1]):
            m = mask[y, x]
            p = min(max(m, eps), np.float32(1.0) - eps)
            q = p * odds[bins[y, x]]
            value = q / (q + (np.float32(1.0) - p))
            if value > m:
                steps = min(max(near[y, x] - fade_from, 0), fade_to - fade_from)
                value = m + (value - m) * (np.float32(steps) / np.float32(fade_to - fade_from))
            out[y, x] = value


def _log_ratio(skin_counts: np.ndarray, other_counts: np.ndarray) -> np.ndarray:
    """Per colour bin, the log-likelihood ratio of skin to other plus ``_PRIOR`` times
    the log prior odds, bounded (float32)."""
    shape = (_LUMA_BINS, _CHROMA_BINS, _CHROMA_BINS)
    densities = []
    for counts in (skin_counts, other_counts):
        smooth = ndi.gaussian_filter(counts.reshape(shape).astype(np.float64), _SMOOTH)
        densities.append((smooth + _PSEUDO) / (smooth.sum() + _PSEUDO * smooth.size))
    prior = np.log(skin_counts.sum() / other_counts.sum())
    ratio = np.log(densities[0] / densities[1]) + _PRIOR * prior
    return np.clip(ratio, -_LIMIT, _LIMIT).astype(np.float32).ravel()


def adapt_to_colors(mask: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """`mask` with each pixel's log-odds moved by how skin-like its colour is in `rgb`.

    Parameters
    ----------
    mask : ndarray of float32, shape (H, W)
        Soft skin mask on [0, 1].
    rgb : ndarray of uint8, shape (H, W, 3)
        The photo at the mask's size.

    Returns
    -------
    ndarray of float32, shape (H, W)
        The adapted mask on [0, 1]; `mask` itself (not a copy) when the photo has fewer
        than ``MIN_SAMPLES`` pixels of sure skin or of sure background, or when its sure
        skin is mostly grey (a black-and-white photo: luma alone moved such photos the
        wrong way).

    Raises
    ------
    ValueError
        If the shapes do not match or `rgb` is not uint8.

    Examples
    --------
    >>> rgb = np.zeros((64, 64, 3), np.uint8)
    >>> rgb[:, :32] = (200, 150, 120)  # skin-coloured left half
    >>> mask = np.zeros((64, 64), np.float32)
    >>> mask[:, :24] = 0.95  # the model is sure of part of it
    >>> mask[:, 24:32] = 0.4  # and unsure of the rest
    >>> bool(adapt_to_colors(mask, rgb)[0, 28] > 0.9)
    True
    """
    if mask.shape != rgb.shape[:2] or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"mask {mask.shape} and photo {rgb.shape} must be H x W and H x W x 3")
    if rgb.dtype != np.uint8:
        raise ValueError(f"the photo is {rgb.dtype}; expected uint8 (0-255)")
    mask = np.ascontiguousarray(mask, dtype=np.float32)
    size = _LUMA_BINS * _CHROMA_BINS * _CHROMA_BINS
    bins = np.empty(mask.shape, np.int32)
    skin_counts = np.zeros(size, np.int64)
    other_counts = np.zeros(size, np.int64)
    grey = _bin_and_count(
        np.ascontiguousarray(rgb), mask, np.float32(SURE_SKIN),
        np.float32(SURE_OTHER), bins, skin_counts, other_counts,
    )  # fmt: skip
    sure_skin = skin_counts.sum()
    if min(sure_skin, other_counts.sum()) < MIN_SAMPLES or grey > _MAX_GREY * sure_skin:
        return mask
    near = np.empty(mask.shape, np.int32)
    _near_sure_skin(mask, np.float32(SURE_SKIN), _FADE[1], near)
    odds = np.exp(_log_ratio(skin_counts, other_counts))
    out = np.empty_like(mask)
    _add_log_odds(mask, bins, odds, np.float32(_EPS), near, *_FADE, out)
    return out
