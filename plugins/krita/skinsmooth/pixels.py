"""Krita pixel data <-> numpy arrays (format conversion only, no image processing).

Krita's ``Node.pixelData`` returns raw bytes in the layer's colour space:
RGBA at 8-bit and 16-bit integer comes as B, G, R, A; at 16-bit and 32-bit
float as R, G, B, A. Selections and transparency masks are one 8-bit channel.
This module imports neither Krita nor Qt, so its logic is testable outside Krita.
"""

import numpy as np

# (colour model, depth) -> (numpy dtype of the channel data, True if stored B, G, R, A)
FORMATS = {
    ("RGBA", "U8"): (np.dtype("=u1"), True),
    ("RGBA", "U16"): (np.dtype("=u2"), True),
    ("RGBA", "F16"): (np.dtype("=f2"), False),
    ("RGBA", "F32"): (np.dtype("=f4"), False),
}
_DEPTH_NAMES = {
    "U8": "8-bit integer",
    "U16": "16-bit integer",
    "F16": "16-bit float",
    "F32": "32-bit float",
}
_MODEL_NAMES = {
    "GRAYA": "greyscale",
    "CMYKA": "CMYK",
    "LABA": "L*a*b*",
    "XYZA": "XYZ",
    "YCbCrA": "YCbCr",
}
_BGR_TO_RGB = [2, 1, 0, 3]


class UnsupportedLayer(ValueError):
    """The layer's type or pixel format cannot be processed; the message says what to do."""


def describe_format(model, depth):
    """A readable name of a Krita colour model and depth, e.g. "CMYK 8-bit integer"."""
    return f"{_MODEL_NAMES.get(model, model)} {_DEPTH_NAMES.get(depth, depth)}"


def check_format(model, depth):
    """Raise :class:`UnsupportedLayer` unless the format is RGBA at U8, U16, F16 or F32."""
    if (model, depth) not in FORMATS:
        raise UnsupportedLayer(
            f"Skin Smoothing works on RGB/Alpha layers (8-bit or 16-bit integer, 16-bit or "
            f"32-bit float); this layer is {describe_format(model, depth)}. Convert it with "
            "Image > Convert Image Color Space... (RGB/Alpha) and try again."
        )


def to_rgba(data, width, height, model, depth):
    """Decode Krita pixel bytes into an H x W x 4 R, G, B, A array.

    8-bit and 16-bit integer data keep their dtype (uint8, uint16); float data
    becomes float32 (16-bit float is widened, losslessly).
    """
    check_format(model, depth)
    dtype, bgr = FORMATS[(model, depth)]
    expected = width * height * 4 * dtype.itemsize
    if len(data) != expected:
        raise UnsupportedLayer(
            f"Krita returned {len(data)} bytes for a {width} x {height} "
            f"{describe_format(model, depth)} area; expected {expected}"
        )
    pixels = np.frombuffer(bytes(data), dtype=dtype).reshape(height, width, 4)
    if bgr:
        pixels = pixels[..., _BGR_TO_RGB]
    if dtype.kind == "f":
        pixels = pixels.astype(np.float32)
    return np.ascontiguousarray(pixels)


def from_rgba(rgba, model, depth):
    """Encode an H x W x 4 R, G, B, A array as Krita pixel bytes of the given format."""
    check_format(model, depth)
    dtype, bgr = FORMATS[(model, depth)]
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"expected an H x W x 4 RGBA array, got shape {rgba.shape}")
    if dtype.kind in "iu" and rgba.dtype != dtype:
        raise ValueError(f"expected {dtype} pixels for {depth}, got {rgba.dtype}")
    if bgr:
        rgba = rgba[..., _BGR_TO_RGB]
    return np.ascontiguousarray(rgba, dtype=dtype).tobytes()


def selection_to_float(data, width, height):
    """Decode 8-bit selection (or mask) bytes into a float32 H x W array on [0, 1]."""
    if len(data) != width * height:
        raise ValueError(f"expected {width * height} selection bytes, got {len(data)}")
    return (
        np.frombuffer(bytes(data), dtype=np.uint8).reshape(height, width).astype(np.float32) / 255
    )


def encode_mask(mask, depth):
    """Encode a float H x W mask on [0, 1] as one-channel bytes of `depth`.

    Selections are always U8; transparency masks follow the layer (U8, U16, F16, F32).
    """
    mask = np.clip(np.asarray(mask, dtype=np.float32), 0.0, 1.0)
    if depth == "U8":
        return np.rint(mask * 255).astype(np.uint8).tobytes()
    if depth == "U16":
        return np.rint(mask * 65535).astype("=u2").tobytes()
    if depth in ("F16", "F32"):
        return mask.astype("=f2" if depth == "F16" else "=f4").tobytes()
    raise UnsupportedLayer(f"cannot write a mask of depth {depth!r}")
