"""The front door of the command and the plug-ins: the options (pipeline/options.py) and
:func:`retouch` (pipeline/retouch.py): the image, the mask it used, within a selection,
"mask as a layer"."""

import inspect

import numpy as np
import pytest
from conftest import as_dtype
from PIL import Image

from skinsmooth_core.masks import skin_mask
from skinsmooth_core.pipeline import (
    METHODS,
    PRESETS,
    auto_scale,
    context_box,
    largest_skin_area,
    retouch,
    smooth_skin,
    smooth_skin_info,
)
from skinsmooth_core.pipeline import options as opts
from skinsmooth_core.pipeline.mask import MASK_SOURCES
from skinsmooth_core.pipeline.preview import composite, detail_window, picture

FACE = (slice(95, 145), slice(190, 250))
WALL = (slice(0, 60), slice(320, 390))


# ---------------------------------------------------------------- options


def test_options_are_smooth_skins():
    parameters = inspect.signature(smooth_skin).parameters
    for name, option in opts.OPTIONS.items():
        assert option.default == parameters[name].default, name
    assert opts.METHOD.values == tuple(METHODS)
    assert opts.MASK.values == MASK_SOURCES and opts.MASK.default == parameters["mask"].default
    assert opts.PRESET.values == tuple(PRESETS)
    assert all(amount.minimum == 0 and amount.maximum == 1 for amount in opts.AMOUNTS)
    assert all(entry.label for choice in (opts.METHOD, opts.MASK) for entry in choice.entries)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"strength": -1}, "strength must be a finite number >= 0 and <= 1, got -1.0"),
        ({"tone": "lots"}, "tone must be a real number"),
        ({"scale": 0}, "scale must be a finite number > 0"),
        ({"scale": "big"}, "scale must be 'auto' or a number > 0"),
        ({"method": "magic"}, "method must be one of 'guided'"),
        ({"method": "guided", "radius": 4, "sharpness": 2}, "unknown option(s) sharpness"),
    ],
)
def test_check_options_names_the_option(options, message):
    with pytest.raises(ValueError) as info:
        opts.check_options(options)
    assert message in str(info.value)


def test_check_options_returns_them():
    checked = opts.check_options({"strength": 1, "scale": "auto", "method": "wls"})
    assert checked == {"strength": 1.0, "scale": "auto", "method": "wls"}
    assert type(checked["strength"]) is float
    assert opts.MASK.entry("unet").label == "AI skin model only"
    with pytest.raises(ValueError, match="mask must be one of"):
        opts.MASK.check("face")


# ---------------------------------------------------------------- retouch


def test_image_is_smooth_skins_and_the_mask_the_one_used(astronaut):
    done = retouch(astronaut, "color", return_mask=True, strength=0.8)
    np.testing.assert_array_equal(done.image, smooth_skin(astronaut, "color", strength=0.8))
    _, info = smooth_skin_info(astronaut, "color", return_mask=True, strength=0.8)
    np.testing.assert_array_equal(done.mask, info["mask"])
    assert (done.scale, done.skin) == (info["scale"], info["skin"]) and done.warnings == []
    assert retouch(astronaut, "color").mask is None  # only when asked for


def test_mask_handed_out_is_the_one_used_on_a_large_photo(astronaut):
    """The working-size path (1536 px): the image does not depend on asking for the mask,
    and the mask is the working one upsampled as the blend applied it."""
    big = np.asarray(Image.fromarray(astronaut).resize((1536, 1536), Image.BICUBIC))
    plain = retouch(big, "color")
    done = retouch(big, "color", return_mask=True)
    np.testing.assert_array_equal(done.image, plain.image)
    np.testing.assert_array_equal(done.image, smooth_skin(big, "color"))
    _, info = smooth_skin_info(big, "color", return_mask=True)
    np.testing.assert_array_equal(done.mask, info["mask"])
    # the mask at the image's size: as skin_mask sees it there, within its refinement
    assert done.mask.shape == big.shape[:2] and done.mask[285:435, 570:750].mean() > 0.8


def test_nothing_asked_still_hands_out_the_mask(astronaut):
    nothing = dict(strength=0.0, blemish=0.0, tone=0.0)
    done = retouch(astronaut, "color", return_mask=True, **nothing)
    np.testing.assert_array_equal(done.image, astronaut)
    np.testing.assert_array_equal(done.mask, retouch(astronaut, "color", output="mask").mask)
    assert done.scale is None and done.skin is None


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_within_a_selection(astronaut, dtype):
    image = as_dtype(astronaut, dtype)
    selection = np.zeros(image.shape[:2], np.float32)
    selection[60:180, 150:230] = 1.0
    selection[60:180, 230:260] = np.linspace(1, 0, 30, dtype=np.float32)  # feathered
    done = retouch(image, "color", selection=selection, return_mask=True)
    whole = retouch(image, "color", return_mask=True)
    np.testing.assert_array_equal(done.image, composite(image, whole.image, selection))
    np.testing.assert_array_equal(done.image[selection == 0], image[selection == 0])
    np.testing.assert_array_equal(done.mask, whole.mask * selection)


def test_mask_as_a_layer(astronaut):
    """Smoothed everywhere at the scale the skin mask implies, without tone; seen through
    its mask it looks like the image output."""
    layer = retouch(astronaut, "color", output="layer")
    image = retouch(astronaut, "color", return_mask=True)
    np.testing.assert_array_equal(layer.mask, image.mask)
    assert (layer.scale, layer.skin) == (image.scale, image.skin)
    everywhere = smooth_skin(astronaut, "none", scale=image.scale, tone=0.0)
    np.testing.assert_array_equal(layer.image, everywhere)
    seen = composite(astronaut, layer.image, layer.mask)
    assert np.abs(seen.astype(int) - image.image).mean() < 0.5
    fixed = retouch(astronaut, "color", output="layer", scale=2.0)
    assert fixed.scale == 2.0


def test_mask_output_changes_nothing(astronaut):
    done = retouch(astronaut, "color", output="mask")
    assert done.image is astronaut
    # a 512 px photo is its own working image: the mask is skin_mask's (0 below 1/256)
    expected = skin_mask(astronaut.astype(np.float32) / 255, method="color")
    expected[expected < 1 / 256] = 0
    np.testing.assert_allclose(done.mask, expected, atol=1e-6)
    whole = retouch(astronaut, "none", output="mask")
    assert (whole.mask == 1).all() and whole.skin == 1.0


@pytest.mark.parametrize("channels", [1, 2, 4])
def test_alpha_is_kept(astronaut, channels):
    grey = np.ascontiguousarray(astronaut[:, :, 1])
    colour = grey[:, :, None] if channels < 3 else astronaut
    alpha = (np.arange(512 * 512) % 251).astype(np.uint8).reshape(512, 512, 1)
    image = colour if channels == 1 else np.concatenate([colour, alpha], axis=2)
    done = retouch(image, "none")
    assert done.image.shape == image.shape and done.image.dtype == image.dtype
    expected = smooth_skin(grey if channels < 3 else astronaut, "none")
    np.testing.assert_array_equal(
        done.image[:, :, : channels - (channels != 1)].squeeze(), expected
    )
    if channels > 1:
        np.testing.assert_array_equal(done.image[:, :, -1], image[:, :, -1])


def test_warnings_are_handed_out(astronaut, monkeypatch):
    import skinsmooth_core.masks as masks

    real = masks.skin_mask

    def warning(image, method="auto"):
        import warnings

        warnings.warn("the colour mask stands in", stacklevel=1)
        return real(image, "color")

    monkeypatch.setattr(masks, "skin_mask", warning)
    done = retouch(astronaut, "auto")
    assert done.warnings == ["the colour mask stands in"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(output="channel"), "output must be one of"),
        (dict(selection=np.ones((4, 4))), "selection has shape"),
        (dict(selection=np.full((512, 512), 2.0)), "selection must be a float array"),
        (dict(strength=2), "strength"),
        (dict(output="mask", scale=-1), "scale"),
        (dict(output="mask", strength=2), "strength"),
    ],
)
def test_bad_arguments(astronaut, kwargs, message):
    with pytest.raises(ValueError, match=message):
        retouch(astronaut, "color", **kwargs)


# ---------------------------------------------------------------- host helpers


def test_context_box():
    assert context_box((0, 0, 10, 10), (50, 40)) == ((0, 0, 42, 40), (slice(0, 10), slice(0, 10)))
    outer, inner = context_box((1000, 900, 4000, 100), (6000, 1200))
    assert outer == (800, 700, 4400, 500)  # a margin of 4000 / 20 px, within the image
    assert inner == (slice(200, 300), slice(200, 4200))


def test_detail_window_and_scale():
    weight = np.zeros((128, 96), np.float32)
    weight[20:40, 60:80] = 1.0  # skin in the top right
    window, scale = detail_window((512, 384), weight, factor=4, size=100)
    assert window == (slice(68, 168), slice(228, 328))  # centred on it: (29.5, 69.5) x 4
    assert scale == pytest.approx(auto_scale(largest_skin_area(weight) * 16, 512, 384))
    assert detail_window((80, 60), None, 1, 100) == ((slice(10, 70), slice(0, 60)), None)


def test_picture():
    assert picture(np.array([0, 65535], np.uint16)).tolist() == [0, 255]
    assert picture(np.array([-1.0, 0.5, 3.0], np.float32)).tolist() == [0, 128, 255]
