"""Classic colour-space skin detector: a soft Gaussian in CbCr gated by HSV rules.

This is the baseline of the source article (skin-colour statistics) and of
G'MIC's "Smooth [skin]". It needs no model, runs anywhere, and is what
``skin_mask(image, "auto")`` falls back to when the learned segmenter is not
installed. Its weakness is well known: skin-coloured hair, wood, sand and
clothes are taken for skin, and coloured light moves skin out of the range.
"""

from __future__ import annotations

import numpy as np

from .._image import check_image, split_alpha, to_float
from .._pixelwise import CB_SCALE, CR_SCALE, LUMA_WEIGHTS, ramp

# Skin chroma statistics (BT.601 full-range Cb, Cr on [0, 1], neutral = 0.5),
# estimated on about 1.2 M labelled skin pixels of 600 training photos of the
# project's skin data (faces, bodies, street photos; varied light and tones).
_SKIN_CBCR_MEAN = np.array([0.443, 0.568])
_SKIN_CBCR_COV = np.array([[1.063e-3, -1.042e-3], [-1.042e-3, 1.395e-3]])
# Mahalanobis distance squared at which the chroma term falls to 0.5 (3 sigma).
_CHROMA_HALF_D2 = 9.0
# HSV rules: hue (degrees, red = 0) in [0, 45], saturation >= 0.18, value not black.
_HUE_RANGE = (0.0, 45.0)
_HUE_SOFTNESS = 8.0
_SAT_MIN, _SAT_SOFTNESS = 0.18, 0.06
_VALUE_MIN, _VALUE_SOFTNESS = 0.06, 0.04


def _step(x: np.ndarray, edge: float, width: float) -> np.ndarray:
    """Soft step rising from 0 at ``edge - width`` to 1 at ``edge + width`` (in place on x)."""
    return ramp(x, edge - width, edge + width, out=x)


def _chroma_likelihood(r, g, b) -> np.ndarray:
    """exp(-ln2 * d^2 / d_half^2) with d the Mahalanobis distance of (Cb, Cr) to skin."""
    weight_r, weight_g, weight_b = LUMA_WEIGHTS
    luma = weight_r * r + weight_g * g + weight_b * b
    cb = b - luma
    cb *= np.float32(CB_SCALE)
    cb += np.float32(0.5 - _SKIN_CBCR_MEAN[0])
    cr = r - luma
    cr *= np.float32(CR_SCALE)
    cr += np.float32(0.5 - _SKIN_CBCR_MEAN[1])
    inv = np.linalg.inv(_SKIN_CBCR_COV) * (np.log(2.0) / _CHROMA_HALF_D2)
    d2 = cb * cb
    d2 *= np.float32(inv[0, 0])
    d2 += np.float32(2.0 * inv[0, 1]) * cb * cr
    d2 += np.float32(inv[1, 1]) * (cr * cr)
    return np.exp(-d2, out=d2)


def _hsv_gate(r, g, b) -> np.ndarray:
    """Soft HSV rule: reddish-yellow hue, some saturation, not black."""
    value = np.maximum(np.maximum(r, g), b)
    spread = value - np.minimum(np.minimum(r, g), b)
    saturation = spread / np.maximum(value, np.float32(1e-6))
    gate = _step(saturation, _SAT_MIN, _SAT_SOFTNESS)
    gate *= _step(value, _VALUE_MIN, _VALUE_SOFTNESS)
    # Hue angle from the opponent axes; red is 0, yellow 60 degrees.
    hue = np.arctan2(np.float32(np.sqrt(3.0)) * (g - b), 2.0 * r - g - b)
    hue *= np.float32(180.0 / np.pi)
    low, high = _HUE_RANGE
    gate *= _step(hue.copy(), low, _HUE_SOFTNESS / 2)
    gate *= _step(np.negative(hue, out=hue), -high, _HUE_SOFTNESS / 2)
    return gate


def detect_skin_color(image) -> np.ndarray:
    """Detect skin by its colour: a soft Gaussian model in CbCr combined with HSV rules.

    The chroma term is a Gaussian likelihood of the pixel's (Cb, Cr) under skin
    statistics (as G'MIC's skin mask, but with a fixed model instead of a
    picked colour); it is multiplied by a soft HSV rule (hue between red and
    orange-yellow, saturation at least 0.18, not black), which removes grey,
    white and bluish pixels that the elongated CbCr ellipse would otherwise
    accept. All steps are soft, so the mask has no hard quantisation edges.

    Parameters
    ----------
    image : ndarray
        H x W (grey) or H x W x C image with C = 1, 3 or 4 (alpha ignored),
        dtype uint8, uint16, float32 or float64.

    Returns
    -------
    mask : ndarray of float32, shape (H, W)
        Skin likelihood in [0, 1]. A grey image carries no colour, so every
        pixel is returned as possible skin (1.0) except near-black ones.

    Notes
    -----
    On the validation split of the project's skin data, the mask thresholded
    at 0.5 reaches a pixel F1 of about 0.84 on studio faces and 0.6 on photos
    in the wild, and about 0.3 on full-body street photos, where clothes, wood
    and sand are taken for skin. Dark skin is not lost: the recall of skin
    pixels is 0.77 for luma below 0.15, 0.92 for 0.15-0.3 and 0.96 for
    0.3-0.45 (0.73 on highlights above 0.6, where shine washes the colour
    out). It is the baseline the learned mask (``skin_mask(image, "unet")``)
    is measured against.

    References
    ----------
    .. [1] R.-L. Hsu, M. Abdel-Mottaleb and A. K. Jain, "Face detection in
           color images", IEEE TPAMI 24(5), 2002.
    .. [2] K. Sobottka and I. Pitas, "A novel method for automatic face
           segmentation, facial feature extraction and tracking", Signal
           Processing: Image Communication 12(3), 1998.
    .. [3] V. Vezhnevets, V. Sazonov and A. Andreeva, "A survey on pixel-based
           skin color detection techniques", Graphicon 2003.
    .. [4] D. Tschumperle, G'MIC "Smooth [skin]" filter, https://gmic.eu

    Examples
    --------
    >>> from skimage import data
    >>> mask = detect_skin_color(data.astronaut())
    >>> mask.shape, mask.dtype
    ((512, 512), dtype('float32'))
    """
    image = check_image(image)
    colour, _ = split_alpha(image)
    colour = to_float(colour).astype(np.float32, copy=False)
    if colour.shape[2] == 1:
        grey = colour[:, :, 0].copy()
        return _step(grey, _VALUE_MIN, _VALUE_SOFTNESS)
    r, g, b = colour[:, :, 0], colour[:, :, 1], colour[:, :, 2]
    mask = _chroma_likelihood(r, g, b)
    mask *= _hsv_gate(r, g, b)
    return np.clip(mask, 0.0, 1.0, out=mask)
