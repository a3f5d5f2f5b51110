"""The wild benchmark's other lights (training.lights) against a per-pixel float64
re-rendering with the sRGB formulas (IEC 61966-2-1)."""

import numpy as np
import pytest

from skinsmooth_core.training.lights import LIGHTS, check_lights, relight

LUMA = np.array([0.299, 0.587, 0.114])


def _decode(level):
    v = level / 255.0
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def _encode(linear):
    v = 12.92 * linear if linear <= 0.0031308 else 1.055 * linear ** (1 / 2.4) - 0.055
    return int(np.clip(np.rint(v * 255), 0, 255))


def reference(pixel, light):
    setting = LIGHTS[light]
    if setting is None:
        return list(pixel)
    if setting == "grey":
        return [int(np.clip(np.rint(LUMA @ np.asarray(pixel, float)), 0, 255))] * 3
    gains = (
        np.full(3, setting)
        if isinstance(setting, float)
        else np.asarray(setting) / (LUMA @ np.asarray(setting))
    )
    return [_encode(min(max(_decode(p) * g, 0.0), 1.0)) for p, g in zip(pixel, gains, strict=True)]


@pytest.mark.parametrize("light", list(LIGHTS))
def test_matches_the_per_pixel_formulas(light, astronaut):
    photo = np.ascontiguousarray(astronaut[::16, ::16])  # 32 x 32 photo pixels
    extremes = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [1, 128, 254]]], np.uint8)
    for image in (photo, extremes):
        done = relight(image, light)
        assert done.shape == image.shape and done.dtype == np.uint8
        expected = [reference(p, light) for p in image.reshape(-1, 3)]
        # float32 tables against float64 formulas: at most one level apart at a rounding tie
        assert np.abs(done.reshape(-1, 3).astype(int) - np.array(expected)).max() <= 1


def test_casts_colour_a_grey_and_keep_its_brightness():
    grey = np.full((2, 2, 3), 128, np.uint8)
    r, g, b = (relight(grey, "tungsten")[0, 0]).astype(int)
    assert r > g > b  # orange
    r, g, b = (relight(grey, "shade")[0, 0]).astype(int)
    assert b > g > r  # blue
    r, g, b = (relight(grey, "fluorescent")[0, 0]).astype(int)
    assert g > r and g > b  # green
    r, g, b = (relight(grey, "stage")[0, 0]).astype(int)
    assert g < r and g < b  # magenta
    for light in ("tungsten", "shade", "fluorescent", "stage"):
        assert abs(LUMA @ relight(grey, light)[0, 0] - 128) < 3  # luma kept (in linear light)
    assert relight(grey, "dim")[0, 0, 0] < 128 < relight(grey, "bright")[0, 0, 0]


def test_daylight_is_the_photo_itself(astronaut):
    assert relight(astronaut, "daylight") is astronaut


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown light 'neon'; use one or more of daylight"):
        relight(np.zeros((2, 2, 3), np.uint8), "neon")
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        relight(np.zeros((2, 2), np.uint8), "grey")
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        relight(np.zeros((2, 2, 3), np.float32), "dim")
    assert check_lights("grey, dim") == ("grey", "dim")
    with pytest.raises(ValueError, match="unknown light"):
        check_lights("")
