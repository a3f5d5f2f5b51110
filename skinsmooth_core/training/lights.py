"""The wild benchmark's photos under other light: colour casts, exposure, black and white.

Photos are shot under tungsten bulbs, in the shade, under office tubes and stage lights,
too dark or too bright, or turned black and white; a skin mask that only knows daylight
fails there. :func:`relight` re-renders a photo as if it had been taken under another
light, so the same labelled photos measure the mask under each (the labels do not change).

A cast is a per-channel gain in linear light (the photo's sRGB values decoded, scaled,
clipped, encoded), as a camera balanced for daylight records a bulb's or the shade's light;
the gains keep the luma of a grey, so casts change colour, not brightness. Exposure scales
all three channels alike. "grey" is the luma (Rec. 601) of the sRGB values in all three
channels, as a black-and-white conversion keeps it.
"""

from __future__ import annotations

import numpy as np

from .._pixelwise import LUMA_WEIGHTS

# name -> linear-light gains (R, G, B) before the luma is restored, or a keyword
LIGHTS = {
    "daylight": None,  # the photo as it is
    "tungsten": (1.0, 0.70, 0.40),  # orange: a bulb, about 2800 K, on daylight balance
    "shade": (0.70, 0.85, 1.0),  # blue: open shade, overcast, about 9000 K
    "fluorescent": (0.80, 1.0, 0.75),  # green: office tubes
    "stage": (1.0, 0.60, 0.95),  # magenta: a gel on a stage or a party light
    "dim": 0.35,  # under-exposed by 1.5 stops
    "bright": 2.0,  # over-exposed by a stop: highlights clip
    "grey": "grey",  # black and white
}


def check_lights(names) -> tuple[str, ...]:
    """The light names of a comma-separated string or a list, checked against LIGHTS."""
    if isinstance(names, str):
        names = names.split(",")
    names = tuple(name.strip() for name in names)
    unknown = [name for name in names if name not in LIGHTS]
    if unknown or not names:
        raise ValueError(
            f"unknown light {', '.join(map(repr, unknown)) or '(none)'}; "
            f"use one or more of {', '.join(LIGHTS)}, separated by commas"
        )
    return names


def relight(image: np.ndarray, light: str) -> np.ndarray:
    """`image` (H x W x 3 uint8 sRGB) as if shot under `light` (a key of LIGHTS): a new
    uint8 array, or `image` itself for "daylight".

    Examples
    --------
    >>> import numpy as np
    >>> grey = np.full((1, 1, 3), 128, np.uint8)
    >>> relight(grey, "tungsten")[0, 0].tolist()  # orange, about as bright
    [146, 124, 95]
    """
    (light,) = check_lights([light])
    setting = LIGHTS[light]
    if setting is None:
        return image
    rgb = np.asarray(image)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"image must be H x W x 3 uint8, got {rgb.shape} {rgb.dtype}")
    weights = np.asarray(LUMA_WEIGHTS, np.float32)
    if setting == "grey":
        luma = rgb.astype(np.float32) @ weights
        return np.repeat(np.clip(np.rint(luma), 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)
    if isinstance(setting, float):
        return apply_gains(rgb, np.full(3, setting, np.float32), keep_luma=False)
    return apply_gains(rgb, np.asarray(setting, np.float32))


def apply_gains(rgb: np.ndarray, gains, *, keep_luma: bool = True) -> np.ndarray:
    """`rgb` (H x W x 3 uint8 sRGB) with its channels scaled by `gains` in linear light
    (clipped), scaled first so that a grey keeps its luma unless `keep_luma` is False."""
    gains = np.asarray(gains, np.float32)
    if keep_luma:
        gains = gains / (gains @ np.asarray(LUMA_WEIGHTS, np.float32))
    table = _decode_table()[:, None] * gains[None, :]  # 256 x 3, linear
    table = _encode(np.clip(table, 0.0, 1.0))
    return np.stack([table[rgb[:, :, c], c] for c in range(3)], axis=2)


def _decode_table() -> np.ndarray:
    """Linear light of each 8-bit sRGB level."""
    level = np.arange(256, dtype=np.float64) / 255
    return np.where(level <= 0.04045, level / 12.92, ((level + 0.055) / 1.055) ** 2.4)


def _encode(linear: np.ndarray) -> np.ndarray:
    """8-bit sRGB levels of linear light on [0, 1]."""
    srgb = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.clip(np.rint(srgb * 255), 0, 255).astype(np.uint8)
