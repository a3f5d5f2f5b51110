"""Tone stage: even the skin's colour at mid frequencies, keeping its luma (shading).

Blotchy redness and uneven colour are patches of chroma a few times the size of a spot. The
chroma of each skin pixel (its colour minus its luma, per channel) is moved towards the
chroma of the skin around it: a Gaussian mean over the skin only (normalised convolution with
the mask as weights, so hair and background lend no colour), wide enough to span a blotch but
narrower than the face, so the skin keeps its own colour and the changes of colour across the
face (cheeks warmer than the forehead) are kept. The shift has zero luma: shading, shape and
texture stay.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


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
    chroma = image - (image @ _LUMA)[:, :, None]  # luma 0 per pixel
    weight = np.ascontiguousarray(skin, dtype=np.float32)
    total = ndi.gaussian_filter(weight, sigma, mode="nearest")
    around = ndi.gaussian_filter(chroma * weight[:, :, None], (sigma, sigma, 0), mode="nearest")
    around /= np.maximum(total, 1e-4)[:, :, None]
    around -= chroma
    around *= np.float32(amount)
    # scaled down (all channels alike: luma stays 0) where it would leave [0, 1]
    room = np.where(around > 0, 1.0 - image, image)
    need = np.abs(around)
    limit = np.min(np.where(need > room, room / np.maximum(need, 1e-12), 1.0), axis=2)
    around *= np.clip(limit, 0.0, 1.0)[:, :, None]
    return around
