"""The Krita plug-in's pixel-format conversion (plugins/krita/skinsmooth/pixels.py).

The module needs neither Krita nor Qt, so it is loaded from its file here; the
round trip through the real Krita is in tests/hosts/test_krita.py.
"""

import importlib.util

import numpy as np
import pytest
from bounds import U16, U32, U64

from skinsmooth_core._resources import resource_dir

_spec = importlib.util.spec_from_file_location(
    "skinsmooth_krita_pixels", resource_dir("plugins") / "krita" / "skinsmooth" / "pixels.py"
)
pixels = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pixels)


@pytest.fixture(scope="module")
def rgba(astronaut):
    alpha = np.linspace(0, 255, astronaut.shape[1]).astype(np.uint8)
    return np.dstack([astronaut, np.broadcast_to(alpha, astronaut.shape[:2])])


def _krita_bytes(rgba_u8, depth):
    """Bytes laid out as Krita documents them, built independently of pixels.py."""
    r, g, b, a = (rgba_u8[..., i] for i in range(4))
    if depth == "U8":
        return np.stack([b, g, r, a], axis=-1).astype("<u1").tobytes()
    if depth == "U16":
        return (np.stack([b, g, r, a], axis=-1).astype("<u2") * 257).tobytes()
    dtype = "<f2" if depth == "F16" else "<f4"
    return (np.stack([r, g, b, a], axis=-1) / 255.0).astype(dtype).tobytes()


@pytest.mark.parametrize("depth", ["U8", "U16", "F16", "F32"])
def test_decode_matches_krita_layout(rgba, depth):
    h, w = rgba.shape[:2]
    decoded = pixels.to_rgba(_krita_bytes(rgba, depth), w, h, "RGBA", depth)
    assert decoded.shape == (h, w, 4)
    if depth == "U8":
        np.testing.assert_array_equal(decoded, rgba)
    elif depth == "U16":
        assert decoded.dtype == np.uint16
        np.testing.assert_array_equal(decoded, rgba.astype(np.uint16) * 257)
    else:
        assert decoded.dtype == np.float32
        # values <= 1 stored as binary16 (or float32), widened exactly to float32, against
        # the float64 quotient: one rounding to the storage format, plus the quotient's own
        bound = (U16 if depth == "F16" else U32) + U64
        np.testing.assert_allclose(decoded, rgba / 255.0, rtol=0, atol=bound)


@pytest.mark.parametrize("depth", ["U8", "U16", "F16", "F32"])
def test_round_trip_is_exact(rgba, depth):
    h, w = rgba.shape[:2]
    data = _krita_bytes(rgba, depth)
    assert pixels.from_rgba(pixels.to_rgba(data, w, h, "RGBA", depth), "RGBA", depth) == data


@pytest.mark.parametrize(
    "model, depth, name",
    [
        ("CMYKA", "U8", "CMYK"),
        ("GRAYA", "U16", "greyscale"),
        ("LABA", "F32", "L*a*b*"),
        ("RGBA", "F64", "RGBA"),
    ],
)
def test_unsupported_formats_are_refused_with_advice(model, depth, name):
    with pytest.raises(pixels.UnsupportedLayer, match=name) as info:
        pixels.to_rgba(b"\0" * 64, 2, 2, model, depth)
    assert "Convert Image Color Space" in str(info.value)


def test_wrong_byte_count_is_refused():
    with pytest.raises(pixels.UnsupportedLayer, match="expected 64"):
        pixels.to_rgba(b"\0" * 60, 4, 4, "RGBA", "U8")


def test_integer_encode_refuses_other_dtypes():
    with pytest.raises(ValueError, match="uint16"):
        pixels.from_rgba(np.zeros((2, 2, 4), np.uint8), "RGBA", "U16")


def test_selection_and_mask_bytes(astronaut):
    grey = astronaut[..., 1]
    h, w = grey.shape
    mask = pixels.selection_to_float(grey.tobytes(), w, h)
    assert mask.dtype == np.float32 and mask.min() >= 0 and mask.max() <= 1
    assert pixels.encode_mask(mask, "U8") == grey.tobytes()
    np.testing.assert_array_equal(
        np.frombuffer(pixels.encode_mask(mask, "U16"), "<u2").reshape(h, w), grey.astype(int) * 257
    )
    as_float = np.frombuffer(pixels.encode_mask(mask, "F32"), "<f4").reshape(h, w)
    np.testing.assert_array_equal(as_float, mask)
    with pytest.raises(ValueError, match="selection bytes"):
        pixels.selection_to_float(b"\0" * 3, 2, 2)
