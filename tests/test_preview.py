"""The plug-ins' preview (skinsmooth_core.pipeline.preview) on real pixels."""

import numpy as np
import pytest
from bounds import U32, gamma, output
from conftest import DTYPES, as_dtype

from skinsmooth_core._image import from_float
from skinsmooth_core.pipeline import smooth_skin
from skinsmooth_core.pipeline.preview import (
    PREVIEW_SIZE,
    SkinPreview,
    composite,
    downscale,
    preview_factor,
)

# Regions of the astronaut at half size (rows, columns).
FACE = np.s_[48:72, 95:125]
WALL = np.s_[0:30, 160:195]


def with_channels(image, channels):
    """The RGB portrait as grey (2-D or 1 channel), grey + alpha, RGB or RGBA."""
    grey = image.mean(axis=2).astype(image.dtype)
    alpha = np.linspace(0, 1, image.shape[1])[None, :].repeat(image.shape[0], 0)
    alpha = as_dtype(np.round(alpha * 255).astype(np.uint8), image.dtype)
    return {
        0: grey,
        1: grey[:, :, None],
        2: np.dstack([grey, alpha]),
        3: image,
        4: np.dstack([image, alpha]),
    }[channels]


@pytest.fixture(scope="module")
def half(astronaut):
    """The portrait at half size, float32 on [0, 1], as a dialog would hold it."""
    return downscale(astronaut, 2)


def test_preview_factor():
    assert preview_factor(512, 512) == 1  # 512 is closer to 420 than 256 is
    assert preview_factor(1000, 800) == 2
    assert preview_factor(4000, 6000) == 14
    assert preview_factor(1, 1) == 1
    assert preview_factor(6000, 4000, size=1000) == 6
    for height in range(1, 3000, 7):  # the longer side ends near the size asked for
        factor = preview_factor(height, 10)
        assert factor == 1 or 2 / 3 * PREVIEW_SIZE <= height / factor <= 1.5 * PREVIEW_SIZE


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, None])
def test_preview_factor_rejects(bad):
    with pytest.raises(ValueError, match="integer >= 1"):
        preview_factor(bad, 100)
    with pytest.raises(ValueError, match="size"):
        preview_factor(100, 100, size=bad)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [0, 1, 2, 3, 4])
def test_downscale_is_block_means(astronaut, dtype, channels):
    image = with_channels(as_dtype(astronaut[:47, :38], dtype), channels)
    factor = 4
    small = downscale(image, factor)
    assert small.dtype == np.float32
    assert small.shape == (12, 10) + image.shape[2:]  # partial blocks at the edges kept
    reference = image.astype(np.float64) / (np.iinfo(dtype).max if dtype in DTYPES[:2] else 1)
    # Integer sums are exact; then up to `factor` float32 additions per axis, one product by
    # the scale and the row count, one division by the column count, of values <= 1 (and the
    # float32 conversion of float64 input): gamma(2 factor + 3) of the magnitude 1.
    atol = gamma(2 * factor + 3, U32)
    for i in range(small.shape[0]):
        for j in range(small.shape[1]):
            block = reference[i * factor : (i + 1) * factor, j * factor : (j + 1) * factor]
            np.testing.assert_allclose(small[i, j], block.mean(axis=(0, 1)), rtol=0, atol=atol)


def test_downscale_in_strips_equals_whole(astronaut):
    factor = 3
    whole = downscale(astronaut, factor)
    strips = [downscale(astronaut[top : top + 4 * factor], factor) for top in range(0, 512, 12)]
    np.testing.assert_array_equal(np.concatenate(strips), whole)
    # Factor 1: each value times float32(1 / 255), as the pipeline converts integers.
    expected = astronaut.astype(np.float32) * np.float32(1 / 255)
    np.testing.assert_array_equal(downscale(astronaut, 1), expected)


def test_downscale_rejects(astronaut):
    with pytest.raises(ValueError, match="factor"):
        downscale(astronaut, 0)
    with pytest.raises(ValueError, match="channels"):
        downscale(np.zeros((4, 4, 5), np.uint8), 2)
    with pytest.raises(ValueError, match="dtype"):
        downscale(astronaut.astype(np.int32), 2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_composite(astronaut, dtype):
    original = as_dtype(astronaut[:64, :64], dtype)
    result = as_dtype(255 - astronaut[:64, :64], dtype)
    weight = np.zeros((64, 64))
    weight[10:30, 5:40] = 1.0
    hard = composite(original, result, weight)
    assert hard.dtype == original.dtype
    np.testing.assert_array_equal(hard[10:30, 5:40], result[10:30, 5:40])
    hard[10:30, 5:40] = original[10:30, 5:40]
    np.testing.assert_array_equal(hard, original)  # outside: the original, exactly

    weight = np.linspace(0, 1, 64)[None, :].repeat(64, 0)  # a feathered edge
    soft = composite(original, result, weight)
    scale = np.iinfo(dtype).max if dtype in DTYPES[:2] else 1.0
    x, r = original / scale, result / scale
    expected = x + (r - x) * weight[:, :, None]
    # x + (r - x) w in float32: a subtraction, a product and a sum of values <= 1 (gamma(3)),
    # each input converted with input rounding; then the store in the output dtype.
    atol = output(dtype, gamma(3, U32) + 2 * gamma(2, U32))
    np.testing.assert_allclose(soft / scale, expected, rtol=0, atol=atol)


def test_downscale_stays_in_the_input_range():
    # In float32, sum(1.0 x 49) * float32(1 / 7) / 7 is 1 + 1 ulp: clipped to exactly 1.
    for factor in range(2, 41):
        np.testing.assert_array_equal(downscale(np.ones((factor * 3, 5), np.float32), factor), 1)
        ramp = np.linspace(0.25, 0.75, factor * 3 * 5).reshape(factor * 3, 5)
        small = downscale(ramp, factor)
        assert 0.25 <= small.min() and small.max() <= 0.75


def test_masks_a_rounding_above_one_are_accepted(astronaut):
    # A selection reduced elsewhere may exceed 1 by a float32 rounding: clipped, not refused.
    selection = np.full((10, 10), np.nextafter(np.float32(1), np.float32(2)))
    original = downscale(astronaut[:70, :70], 7)
    result = 1 - original
    np.testing.assert_array_equal(composite(original, result, selection), result)
    assert SkinPreview(original, selection, factor=7).selection.max() == 1.0


def test_composite_rejects(astronaut):
    image = astronaut[:8, :8]
    with pytest.raises(ValueError, match="shape and dtype"):
        composite(image, image.astype(np.uint16), np.ones((8, 8)))
    with pytest.raises(ValueError, match="H x W"):
        composite(image, image, np.ones((8, 9)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        composite(image, image, np.full((8, 8), 1.5))


def test_preview_is_smooth_skin_with_the_cached_mask(half):
    preview = SkinPreview(half, factor=2)
    result, notes = preview.smooth("color", strength=0.8, texture=0.3, method="guided")
    assert notes == [] and result.shape == half.shape and result.dtype == np.float32
    mask, _ = preview.skin("color")
    np.testing.assert_array_equal(
        result, smooth_skin(half, mask, strength=0.8, texture=0.3, method="guided")
    )
    # The same as smooth_skin computing its own mask: that one only zeroes mask values below
    # 1/256 first, which moves a pixel by at most 1/256 (mask x strength x |retouch - x| <= 1),
    # plus the float32 roundings of the two blend formulas (a few operations each).
    own = smooth_skin(half, "color", strength=0.8, texture=0.3, method="guided")
    np.testing.assert_allclose(result, own, rtol=0, atol=1 / 256 + 2 * gamma(8, U32))
    assert np.abs(result[FACE] - half[FACE]).mean() > 1 / 255  # skin smoothed
    np.testing.assert_allclose(result[WALL], half[WALL], rtol=0, atol=1 / 256 + gamma(8, U32))


def test_mask_computed_once_while_sliders_move(half):
    preview = SkinPreview(half, factor=2)
    pictures = []
    for strength, texture, method in [
        (0.3, 0.5, "guided"),
        (0.9, 0.2, "guided"),
        (0.9, 0.2, "wls"),
    ]:
        result, _ = preview.smooth("color", strength=strength, texture=texture, method=method)
        pictures.append(preview.picture("result", result))
    assert preview.mask_computations == 1
    # Every change of a slider or the method changes the skin's pixels, not the wall's.
    for before, after in zip(pictures[:-1], pictures[1:], strict=True):
        face_change = np.abs(after[FACE].astype(int) - before[FACE]).mean()
        assert face_change > 0.5, face_change
    assert np.abs(pictures[1][WALL].astype(int) - pictures[0][WALL]).max() <= 1
    preview.smooth("none", strength=0.5)
    assert preview.mask_computations == 1  # "none" needs no mask
    preview.smooth("auto", strength=0.5)
    preview.picture("mask", source="auto")
    assert preview.mask_computations == 2  # another source: one more mask, then cached


def test_scale_is_for_the_full_image(half):
    preview = SkinPreview(half, factor=2)
    result, _ = preview.smooth("color", scale=3.0)
    mask, _ = preview.skin("color")
    np.testing.assert_array_equal(result, smooth_skin(half, mask, scale=1.5))
    with pytest.raises(ValueError, match="scale"):
        preview.smooth("color", scale=-1)


def test_selection_is_composited(half):
    selection = np.zeros(half.shape[:2], np.float32)
    selection[40:80, 90:112] = 1.0
    selection[40:80, 112:130] = 0.5
    preview = SkinPreview(half, selection=selection, factor=2)
    result, _ = preview.smooth("none", strength=0.9)
    unselected, _ = SkinPreview(half, factor=2).smooth("none", strength=0.9)
    outside = selection == 0
    np.testing.assert_array_equal(result[outside], half[outside])
    np.testing.assert_array_equal(result[40:80, 90:112], unselected[40:80, 90:112])
    np.testing.assert_allclose(
        result[40:80, 112:130],
        (half[40:80, 112:130] + unselected[40:80, 112:130]) / 2,
        rtol=0,
        atol=gamma(3, U32),  # a subtraction, a product and a sum of values <= 1
    )
    np.testing.assert_array_equal(preview.mask("none"), selection)
    np.testing.assert_array_equal(preview.mask("color"), preview.skin("color")[0] * selection)


@pytest.mark.parametrize("channels", [0, 1, 2, 3, 4])
def test_channels_and_alpha(astronaut, channels):
    image = with_channels(astronaut[::2, ::2], channels)
    preview = SkinPreview(image, factor=2)
    source = "color" if channels in (3, 4) else "none"  # the colour detector needs colour
    result, _ = preview.smooth(source, strength=0.8)
    depth = max(channels, 1)
    assert result.shape == image.shape[:2] + (depth,)
    if channels in (2, 4):
        np.testing.assert_array_equal(result[:, :, -1], preview.original[:, :, -1])
    for view in ("result", "original"):
        picture = preview.picture(view, result)
        assert picture.dtype == np.uint8 and picture.shape == result.shape
    np.testing.assert_array_equal(
        preview.picture("original"), image.reshape(picture.shape)
    )  # 8-bit in, the same 8 bits out
    mask = preview.picture("mask", source=source)
    assert mask.shape == image.shape[:2] + (1,)
    np.testing.assert_array_equal(mask[:, :, 0], from_float(preview.mask(source), np.uint8))


def test_nothing_asked_shows_the_original(half):
    preview = SkinPreview(half)
    result, _ = preview.smooth("color", strength=0.0, blemish=0.0, tone=0.0)
    np.testing.assert_array_equal(result, half)


def test_preview_rejects(half):
    preview = SkinPreview(half)
    with pytest.raises(ValueError, match="view"):
        preview.picture("detail")
    with pytest.raises(ValueError, match="result"):
        preview.picture("result")
    with pytest.raises(ValueError, match="source"):
        preview.skin("selection")
    with pytest.raises(ValueError, match="strength"):
        preview.smooth("color", strength=2.0)
    with pytest.raises(ValueError, match="factor"):
        SkinPreview(half, factor=0)
    with pytest.raises(ValueError, match="selection"):
        SkinPreview(half, selection=np.ones((3, 3)))
