"""Tone stage: even the skin's colour at mid frequencies, keeping its luma (shading).

Blotchy redness and uneven colour are patches of chroma a few times the size of a spot. The
chroma of each skin pixel (its colour minus its luma, per channel) is moved towards the
chroma of the skin around it: a Gaussian mean (three boxes) over the skin only (normalised
convolution with the mask as weights, so hair and background lend no colour), wide enough
to span a blotch but narrower than the face, so the skin keeps its own colour and the
changes of colour across the face (cheeks warmer than the forehead) are kept. The shift has
zero luma: shading, shape and texture stay.
"""

from __future__ import annotations

import numpy as np

from .._parallel import for_strips
from .._pixelwise import LUMA_WEIGHTS, luma
from .._resample import BilinearUpsampler, area_downsample
from ..filters._jit import jit
from ._blur import bounding_box, box_gaussian

MAX_SHIFT = 0.06  # on [0, 1]: about 15 levels of 8 bits, the size of a blotch's colour cast


def tone_shift(image: np.ndarray, skin: np.ndarray, sigma: float, amount: float) -> np.ndarray:
    """The colour shift that evens `image`'s skin tone, H x W x C float32 (0 for grey).

    Parameters
    ----------
    image : ndarray, H x W x C float32 on [0, 1]
        The working image (C = 1 or 3).
    skin : ndarray, H x W float32 in [0, 1]
        Where the skin is: the weights of the surrounding colour.
    sigma : float
        Gaussian width of "the skin around", in pixels of `image`.
    amount : float in [0, 1]
        0 changes nothing, 1 gives every skin pixel the chroma around it.

    Returns
    -------
    ndarray
        ``amount * (chroma around - chroma)``, scaled down where ``image`` plus it would
        leave [0, 1]; add it where the skin is. Its luma is 0.
    """
    if image.shape[2] != 3 or amount == 0.0:
        return np.zeros(image.shape, np.float32)
    box = bounding_box(np.asarray(skin) > 0.5, int(4 * sigma) + 8)  # sure skin, the blur's reach
    shift = np.zeros(image.shape, np.float32)
    if box is not None:
        shift[box] = _shift(image[box], np.asarray(skin)[box], sigma, amount)
    return shift


def _shift(image, skin, sigma, amount):
    weight = np.ascontiguousarray(skin, dtype=np.float32)
    # the skin's chroma around, smooth at `sigma`: computed on blocks of about sigma / 4
    # pixels, then upsampled strip by strip
    step = max(1, int(sigma // 4))
    chroma = _chroma(image)
    chroma *= weight[:, :, None]
    planes = np.empty(image.shape[:2] + (4,), np.float32)
    planes[:, :, :3] = chroma
    planes[:, :, 3] = weight
    planes = box_gaussian(area_downsample(planes, step, 1.0), sigma / step)
    around = planes[:, :, :3] / np.maximum(planes[:, :, 3:], 1e-4)
    upsampler = BilinearUpsampler(image.shape[:2], around.shape[:2], step)
    shift = np.empty(image.shape, np.float32)

    def work(start, stop):
        part = upsampler.strip(around, start, stop)
        shift[start:stop] = _evening(part, image[start:stop], weight[start:stop], amount)

    for_strips(work, image.shape[0], 64 * image.shape[1])  # about 16 floats a pixel
    return shift


def _chroma(image):
    """Colour minus luma, per channel (luma 0 per pixel)."""
    return image - luma(image)[:, :, None]


@jit
def _evening(around, image, weight, amount):
    """The shift of `image`'s chroma towards the chroma `around` it (in place in `around`):
    `amount` of the difference, only on sure skin (`weight` 0.5 -> 0.8, not on what a soft
    mask edge half includes: a visor, a wall), scaled down (all channels alike, so luma
    stays 0) to at most MAX_SHIFT per channel and to where ``image`` plus it stays in
    [0, 1]."""
    height, width = weight.shape
    red, green, blue = LUMA_WEIGHTS
    for y in range(height):
        for x in range(width):
            r, g, b = image[y, x, 0], image[y, x, 1], image[y, x, 2]
            grey = red * r + green * g + blue * b
            sure = min(max((weight[y, x] - 0.5) * (1.0 / 0.3), 0.0), 1.0) * amount
            largest = 0.0
            for c in range(3):
                around[y, x, c] = (around[y, x, c] - (image[y, x, c] - grey)) * sure
                largest = max(largest, abs(around[y, x, c]))
            scale = 1.0 if largest <= MAX_SHIFT else MAX_SHIFT / largest
            limit = 1.0
            for c in range(3):
                need = abs(around[y, x, c]) * scale
                room = 1.0 - image[y, x, c] if around[y, x, c] > 0 else image[y, x, c]
                if need > room:
                    limit = min(limit, max(room, 0.0) / max(need, 1e-12))
            scale *= limit
            for c in range(3):
                around[y, x, c] *= scale
    return around
