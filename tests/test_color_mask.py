"""The colour skin detector and the skin_mask entry point, on real pixels."""

import sys
import warnings

import numpy as np
import pytest
from bounds import U32, gamma, skin_colour_detector
from conftest import DTYPES, as_dtype

from skinsmooth_core.masks import SkinMaskFallbackWarning, detect_skin_color, skin_mask
from skinsmooth_core.masks import color as colour_module

pytestmark = pytest.mark.numerical

FACE = (slice(90, 150), slice(190, 250))  # forehead, cheeks and nose of the astronaut
FLAG_BLUE = (slice(0, 90), slice(0, 40))  # the blue canton of the flag
HELMET_VISOR = (slice(400, 480), slice(300, 420))  # the black visor of the helmet


@pytest.mark.parametrize("dtype", DTYPES)
def test_face_in_blue_background_out(astronaut, dtype):
    mask = detect_skin_color(as_dtype(astronaut, dtype))
    assert mask.dtype == np.float32 and mask.shape == astronaut.shape[:2]
    assert 0.0 <= mask.min() and mask.max() <= 1.0
    assert (mask[FACE] > 0.5).mean() > 0.85
    assert (mask[FLAG_BLUE] < 0.1).mean() > 0.95
    assert mask[HELMET_VISOR].mean() < 0.1


def _detector_bound(rho):
    """bounds.skin_colour_detector with the detector's constants, as float32 like the code."""
    c = colour_module
    inv = np.linalg.inv(c._SKIN_CBCR_COV) * (np.log(2.0) / c._CHROMA_HALF_D2)
    cross = float(np.float32(2.0 * inv[0, 1])) / 2
    quadratic = [[float(np.float32(inv[0, 0])), cross], [cross, float(np.float32(inv[1, 1]))]]
    return skin_colour_detector(
        rho,
        quadratic,
        chroma_scale=(0.564, 0.713),
        chroma_offset=tuple(0.5 - c._SKIN_CBCR_MEAN),
        saturation=(c._SAT_MIN, c._SAT_SOFTNESS),
        value=(c._VALUE_MIN, c._VALUE_SOFTNESS),
        hue=(*c._HUE_RANGE, c._HUE_SOFTNESS / 2),
    )


def test_dtypes_agree(astronaut):
    reference = detect_skin_color(astronaut)
    # Each dtype brings the same 8-bit pixels to float32 with a relative error <= gamma(2)
    # (k * fl(1 / max), or k / 255 rounded from float64); both masks are within
    # skin_colour_detector of the exact mask (ramp slopes times the input and float32 errors,
    # the hue's angle error near grey, exp and arctan2 to 4 ulps): twice that apart.
    bound = 2 * _detector_bound(gamma(2, U32))
    for dtype in DTYPES[1:]:
        mask = detect_skin_color(as_dtype(astronaut, dtype))
        np.testing.assert_allclose(mask, reference, rtol=0, atol=bound)


def test_alpha_ignored(astronaut):
    alpha = (np.arange(512 * 512) % 256).reshape(512, 512)
    rgba = np.dstack([astronaut, alpha]).astype(np.uint8)
    np.testing.assert_array_equal(detect_skin_color(rgba), detect_skin_color(astronaut))


@pytest.mark.parametrize(
    "colour, expected",
    [((0, 0, 255), 0.0), ((0, 200, 0), 0.0), ((128, 128, 128), 0.0), ((0, 0, 0), 0.0),
     ((210, 160, 130), 1.0), ((110, 70, 50), 1.0)],
)  # fmt: skip
def test_flat_colours(colour, expected):
    # Light and dark skin tones are in; blue, green, grey and black are out.
    image = np.full((4, 5, 3), colour, dtype=np.uint8)
    mask = detect_skin_color(image)
    assert np.all(np.abs(mask - expected) < 0.5), (colour, mask[0, 0])


def test_grey_image_gives_luminance_gate(astronaut):
    grey = astronaut.mean(axis=2).astype(np.uint8)
    for image in (grey, grey[:, :, None]):
        mask = detect_skin_color(image)
        assert mask.shape == grey.shape and mask.dtype == np.float32
        assert np.all(mask[grey > 40] == 1.0) and np.all(mask[grey < 5] == 0.0)


@pytest.mark.parametrize(
    "bad", [np.zeros((4, 4, 2)), np.zeros((0, 4, 3)), np.zeros((4, 4, 3), np.int32), [[1, 2]],
            np.full((2, 2, 3), np.nan)],
)  # fmt: skip
def test_bad_images_rejected(bad):
    with pytest.raises(ValueError):
        detect_skin_color(bad)
    with pytest.raises(ValueError):
        skin_mask(bad, "color")


@pytest.mark.parametrize("method", ["colour", "UNET", None, 1])
def test_bad_method_rejected(astronaut, method):
    with pytest.raises(ValueError, match="method"):
        skin_mask(astronaut, method)


def test_skin_mask_color_refines_the_detector(astronaut):
    raw, mask = detect_skin_color(astronaut), skin_mask(astronaut, "color")
    assert mask.dtype == np.float32 and mask.shape == raw.shape
    assert 0.0 <= mask.min() and mask.max() <= 1.0
    assert np.abs(mask - raw).mean() < 0.1
    assert (mask[FACE] > 0.5).mean() > 0.9 and (mask[FLAG_BLUE] < 0.1).mean() > 0.95

    def speckle(m):  # pixel-level noise: difference to the 4-neighbour mean
        return np.abs(m[1:-1, 1:-1] - (m[:-2, 1:-1] + m[2:, 1:-1] + m[1:-1, :-2] + m[1:-1, 2:]) / 4)

    assert speckle(mask).mean() < 0.3 * speckle(raw).mean()


@pytest.mark.parametrize("size", [256, 1200])  # 1200: computed at 1/3 size, refined to full
def test_skin_mask_snaps_to_the_skin_border(size):
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[:size, :size]
    radius = np.hypot(yy - size / 2, xx - size / 2) / (size / 256)
    image = np.empty((size, size, 3))
    image[:] = (40, 90, 160)
    image[radius <= 80] = (205, 160, 135)
    image = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
    mask = skin_mask(image, "color")
    assert mask.shape == (size, size)
    assert mask[radius < 70].min() > 0.7
    assert mask[(radius >= 76) & (radius < 79)].mean() > 0.8
    assert mask[(radius >= 81) & (radius < 84)].mean() < 0.15
    assert mask[radius > 90].max() < 0.05


def test_auto_falls_back_with_a_warning(astronaut, monkeypatch):
    # Make the learned segmenter unimportable, as on an install without it.
    monkeypatch.setitem(sys.modules, "skinsmooth_core.masks.segmenter", None)
    with pytest.warns(SkinMaskFallbackWarning, match="colour detector"):
        mask = skin_mask(astronaut)
    np.testing.assert_array_equal(mask, skin_mask(astronaut, "color"))
    with pytest.raises(ImportError):
        skin_mask(astronaut, "unet")


def test_auto_result_is_a_mask(astronaut):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkinMaskFallbackWarning)
        mask = skin_mask(astronaut)
    assert mask.shape == (512, 512) and mask.dtype == np.float32
    assert 0.0 <= mask.min() and mask.max() <= 1.0
    assert mask[FACE].mean() > 0.6


def _learned_segmenter():
    try:
        from skinsmooth_core.masks.segmenter import SegmenterUnavailable, default_segmenter
    except ImportError as exc:
        pytest.skip(f"the learned segmenter has not landed: {exc}")
    try:
        return default_segmenter()
    except SegmenterUnavailable as exc:
        pytest.skip(f"learned skin mask unavailable here: {exc}")


def test_auto_uses_the_learned_mask_when_available(astronaut):
    segmenter = _learned_segmenter()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkinMaskFallbackWarning)
        mask = skin_mask(astronaut)
    # the same segmenter on the same pixels (its clip to [0, 1] is the identity on its output):
    # bit for bit (see test_segmenter.test_thread_count)
    np.testing.assert_array_equal(mask, segmenter.predict(astronaut))
    np.testing.assert_array_equal(skin_mask(astronaut, "unet"), mask)
    assert (mask[FACE] > 0.5).mean() > 0.8
    assert (mask[FLAG_BLUE] < 0.5).mean() > 0.95


def test_segmenter_names_reexported():
    _learned_segmenter()
    from skinsmooth_core import masks
    from skinsmooth_core.masks import segmenter

    assert masks.SkinSegmenter is segmenter.SkinSegmenter
    assert masks.SegmenterUnavailable is segmenter.SegmenterUnavailable
