"""smooth_skin on real pixels: what a retoucher cares about, and every bad input."""

import numpy as np
import pytest
from bounds import U32, U64, bilinear_upsample, block_mean, gamma
from conftest import DTYPES, as_dtype, image_arrays, image_shapes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import skinsmooth_core.filters as filters
from skinsmooth_core._resample import BilinearUpsampler, area_downsample
from skinsmooth_core.masks import skin_mask
from skinsmooth_core.pipeline import METHODS, PRESETS, preset_options, smooth_skin
from skinsmooth_core.pipeline import smooth as smooth_module

pytestmark = pytest.mark.numerical

FACE_BOX = (slice(70, 170), slice(175, 265))  # the astronaut's face
CHEEK = (slice(118, 140), slice(192, 212))


def face_mask(shape=(512, 512)):
    mask = np.zeros(shape, bool)
    mask[FACE_BOX] = True
    return mask


def channels_of(image_u8, channels):
    if channels == 1:
        return np.round(image_u8 @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    if channels == 4:
        alpha = (np.arange(image_u8.shape[0] * image_u8.shape[1]) % 251).astype(np.uint8)
        return np.dstack([image_u8, alpha.reshape(image_u8.shape[:2])])
    return image_u8


def high_pass_energy(image, region):
    grey = np.asarray(image, np.float64)[region]
    grey = grey[..., :3].mean(axis=2) if grey.ndim == 3 else grey
    blurred = (grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:]) / 4
    return np.abs(grey[1:-1, 1:-1] - blurred).mean()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_skin_changed_outside_mask_unchanged(astronaut, dtype, channels):
    image = as_dtype(channels_of(astronaut, channels), dtype)
    out = smooth_skin(image, face_mask(), strength=1.0)
    assert out.shape == image.shape and out.dtype == image.dtype
    outside = ~face_mask()
    # Exact: where the mask is 0 the blend weight is 1 - 0 = 1 and the detail 0 (+ 0.5 for
    # integers, then truncated), so x * 1 + 0 is x in every precision (see pipeline._blend).
    np.testing.assert_array_equal(out[outside], image[outside])
    scale = {np.uint8: 1, np.uint16: 257}.get(dtype, 1 / 255)
    change = np.abs(out[FACE_BOX].astype(np.float64) - image[FACE_BOX]) / scale
    assert change.mean() > 0.5
    assert high_pass_energy(out, CHEEK) < 0.8 * high_pass_energy(image, CHEEK)
    if channels == 4:
        np.testing.assert_array_equal(out[..., 3], image[..., 3])
    if np.dtype(dtype).kind == "f":
        assert np.isfinite(out).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_nothing_asked_returns_input_exactly(astronaut, dtype):
    image = as_dtype(astronaut, dtype)
    out = smooth_skin(image, "color", strength=0, blemish=0, tone=0)
    assert out.dtype == image.dtype and np.array_equal(out, image)
    assert out is not image


def _spotted(astronaut):
    """The astronaut with a soft dark-red spot (radius 3 px) on her cheek, at (120, 252)."""
    image = astronaut / 255.0
    yy, xx = np.mgrid[0:512, 0:512]
    alpha = np.exp(-((yy - 120) ** 2 + (xx - 252) ** 2) / (2 * 2.0**2))[:, :, None]
    spotted = image * (1 - alpha * np.array([0.05, 0.2, 0.15]))
    return np.clip(np.rint(spotted * 255), 0, 255).astype(np.uint8), alpha[:, :, 0]


@pytest.mark.parametrize("strength", [0.0, 0.3, 1.0])
def test_a_spot_is_healed_whatever_the_strength(astronaut, strength):
    """blemish=1 heals the spot (most of its error gone) at any strength; strength 0 with
    healing changes nothing far from the spot."""
    spotted, alpha = _spotted(astronaut)
    out = smooth_skin(spotted, "color", strength=strength, blemish=1.0, tone=0)
    spot = alpha > 0.3
    before = np.abs(spotted[spot].astype(float) - astronaut[spot]).mean()
    after = np.abs(out[spot].astype(float) - astronaut[spot]).mean()
    assert after < 0.5 * before, (before, after)
    if strength == 0:  # only healing: a few freckles elsewhere at most, nothing off the skin
        far = np.ones(alpha.shape, bool)
        far[88:153, 220:284] = False
        changed = np.abs(out.astype(int) - spotted).max(axis=2) > 3
        assert changed[far].mean() < 0.002
        off_skin = skin_mask(spotted, "color") < 1e-3
        np.testing.assert_array_equal(out[off_skin], spotted[off_skin])


def test_tone_evens_a_red_blotch_and_keeps_luma(astronaut):
    """A wide soft red blotch on the cheek: tone=1 moves its colour back towards the skin's,
    luma (shading) unchanged up to rounding."""
    image = astronaut / 255.0
    yy, xx = np.mgrid[0:512, 0:512]
    alpha = np.exp(-((yy - 135) ** 2 + (xx - 205) ** 2) / (2 * 8.0**2))[:, :, None]
    blotch = image + alpha * np.array([0.06, -0.03, -0.03])
    blotched = np.clip(np.rint(blotch * 255), 0, 255).astype(np.uint8)
    out = smooth_skin(blotched, "color", strength=0, blemish=0, tone=1.0)
    region = alpha[:, :, 0] > 0.5
    luma = np.array([0.299, 0.587, 0.114])
    red = lambda x: (x[..., 0].astype(float) - x[..., 1])[region]  # noqa: E731
    excess_before = np.mean(red(blotched) - red(astronaut))
    excess_after = np.mean(red(out) - red(astronaut))
    assert excess_after < 0.5 * excess_before, (excess_before, excess_after)
    assert np.abs((out[region] - blotched[region].astype(float)) @ luma).max() <= 1.5


def test_colour_mask_leaves_background_and_suit(astronaut):
    out = smooth_skin(astronaut, "color", strength=1.0)
    for region in [(slice(0, 90), slice(0, 40)), (slice(400, 480), slice(300, 420))]:
        assert np.abs(out[region].astype(int) - astronaut[region]).mean() < 0.5
    assert np.abs(out[FACE_BOX].astype(int) - astronaut[FACE_BOX]).mean() > 0.5


def test_mask_none_changes_whole_image(astronaut):
    out = smooth_skin(astronaut, "none", strength=1.0)
    flag = (slice(0, 90), slice(0, 40))
    assert np.abs(out[flag].astype(int) - astronaut[flag]).mean() > 0.3


def test_texture_keeps_pores(astronaut):
    plastic = smooth_skin(astronaut, face_mask(), strength=1.0, texture=0.0, blemish=0)
    natural = smooth_skin(astronaut, face_mask(), strength=1.0, texture=0.8, blemish=0)
    original = high_pass_energy(astronaut, CHEEK)
    assert high_pass_energy(plastic, CHEEK) < high_pass_energy(natural, CHEEK) < original


def test_strength_is_monotonic(astronaut):
    changes = [
        np.abs(smooth_skin(astronaut, face_mask(), strength=s).astype(int) - astronaut).mean()
        for s in (0.25, 0.5, 1.0)
    ]
    assert changes[0] < changes[1] < changes[2]


def test_blemish_fills_dark_spots():
    rng = np.random.default_rng(0)
    skin = np.empty((160, 160, 3))
    skin[:] = (0.78, 0.6, 0.5)
    skin += rng.normal(0, 0.008, skin.shape)
    yy, xx = np.mgrid[:160, :160]
    spots = [(40, 40), (80, 110), (120, 60)]
    for y, x in spots:
        skin[(yy - y) ** 2 + (xx - x) ** 2 <= 4] -= (0.08, 0.1, 0.08)
    skin = np.clip(skin, 0, 1).astype(np.float32)

    def depth(image):
        luma = image @ np.array([0.299, 0.587, 0.114])
        return np.mean([luma[y - 8 : y + 9, x - 8 : x + 9].mean() - luma[y, x] for y, x in spots])

    kept = smooth_skin(skin, "none", strength=1.0, blemish=0.0, scale=1.0)
    filled = smooth_skin(skin, "none", strength=1.0, blemish=1.0, scale=1.0)
    assert depth(filled) < 0.5 * depth(kept)


@pytest.mark.parametrize("method", list(METHODS))
def test_each_method_runs(astronaut_small, method):
    if not hasattr(filters, METHODS[method]):
        pytest.skip(f"skinsmooth_core.filters.{METHODS[method]} has not landed")
    out = smooth_skin(astronaut_small, "color", strength=1.0, method=method)
    assert out.shape == astronaut_small.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - astronaut_small).mean() > 0.1


def test_filter_options_reach_the_filter(astronaut_small):
    soft = smooth_skin(astronaut_small, "none", strength=1.0, eps=1e-4)
    hard = smooth_skin(astronaut_small, "none", strength=1.0, eps=0.05)
    assert (
        np.abs(hard.astype(int) - astronaut_small).mean()
        > np.abs(soft.astype(int) - astronaut_small).mean()
    )


def test_scale_invariance(astronaut):
    """A 2x larger photo gets the same look: compare with the 1x result upscaled."""
    face = np.ascontiguousarray(astronaut[40:200, 150:310])
    big = np.asarray(Image.fromarray(face).resize((320, 320), Image.BICUBIC))
    mask, big_mask = np.zeros((160, 160), bool), np.zeros((320, 320), bool)
    mask[20:140, 25:135] = big_mask[40:280, 50:270] = True

    def change(image, m, **kwargs):
        return smooth_skin(image, m, strength=1.0, **kwargs).astype(float) - image

    def upscale(delta):
        return np.stack(
            [np.asarray(Image.fromarray(delta[..., c].astype(np.float32)).resize((320, 320)))
             for c in range(3)], axis=2,
        )  # fmt: skip

    small_change = upscale(change(face, mask))
    auto = np.abs(change(big, big_mask) - small_change).mean()
    fixed = np.abs(change(big, big_mask, scale=smooth_module.auto_scale(mask.sum(), 160, 160))
                   - small_change).mean()  # fmt: skip
    assert auto < 0.45 * np.abs(small_change).mean()
    assert auto < 0.8 * fixed  # a radius that does not follow the size is clearly worse


def test_largest_skin_area():
    mask = np.zeros((200, 300), np.float32)
    assert smooth_module.largest_skin_area(mask) == 0.0
    mask[20:60, 30:80] = 0.9  # one soft region: its whole (soft) area
    mask[19, 30:80] = 0.3  # a soft rim, below 0.5
    # The area is a float64 sum of the mask (non-negative terms: gamma(n) relative, any
    # order) times a share of region sizes (a product and a division): gamma(n + 2) each
    # side; 0.9 and 0.3 are float32 in the mask (relative U32 from the decimal values).
    summed = 2 * gamma(mask.size + 2, U64)
    expected = 0.9 * 40 * 50 + 0.3 * 50
    assert smooth_module.largest_skin_area(mask) == pytest.approx(expected, rel=U32 + summed)
    mask[20:60, 100:150] = mask[120:160, 30:80] = mask[120:160, 100:150] = 0.9
    expected = mask.sum(dtype=np.float64) / 4  # four equal regions: a share of exactly 1/4
    assert smooth_module.largest_skin_area(mask) == pytest.approx(expected, rel=summed)
    corners = np.zeros((30, 30))
    corners[0:10, 0:10] = corners[10:20, 10:20] = 1.0  # touching diagonally: one region
    corners[25:30, 25:30] = 1.0
    # exact: 225 ones sum to 225, and 225 * 200 / 225 has exact intermediates
    assert smooth_module.largest_skin_area(corners) == 200.0  # of 225
    with pytest.raises(ValueError, match="2-D"):
        smooth_module.largest_skin_area(np.zeros((4, 4, 3)))


def test_largest_skin_area_of_a_large_mask_is_read_at_lower_resolution():
    mask = np.zeros((1500, 2000), np.float32)
    mask[100:600, 100:600] = 1.0
    mask[800:1000, 1200:1400] = 1.0
    mask[1200:1210, 1200:1203] = 1.0  # a speck, averaged away
    assert smooth_module.largest_skin_area(mask) == pytest.approx(500 * 500, rel=0.01)


def test_a_group_gets_the_scale_of_one_person(astronaut):
    """Four faces side by side are smoothed at one face's size, not at the group's."""
    group = np.tile(astronaut, (2, 2, 1))
    one = np.zeros((512, 512), np.float32)
    one[FACE_BOX] = 1.0
    mask = np.tile(one, (2, 2))
    per_face = smooth_module.auto_scale(one.sum(), 1024, 1024)
    assert smooth_module.auto_scale(
        smooth_module.largest_skin_area(mask), 1024, 1024
    ) == pytest.approx(per_face, rel=0.01)
    auto = smooth_skin(group, mask, strength=1.0)
    area = smooth_module.largest_skin_area(mask)
    explicit = smooth_skin(
        group, mask, strength=1.0, scale=smooth_module.auto_scale(area, 1024, 1024)
    )
    np.testing.assert_array_equal(auto, explicit)
    as_group = smooth_skin(group, mask, strength=1.0, scale=2 * per_face)
    faces = mask > 0
    assert np.abs(as_group[faces].astype(int) - auto[faces]).mean() > 0.5


def test_auto_scale_follows_the_skin_area():
    # exact: square roots of perfect squares and divisions by powers of 2 (IEEE float64)
    assert smooth_module.auto_scale(128**2, 512, 512) == 1.0
    assert smooth_module.auto_scale(4 * 128**2, 1024, 1024) == 2.0
    assert smooth_module.auto_scale(0, 512, 512) == 32 / 128


def test_working_resolution_path_keeps_unmasked_pixels(astronaut, monkeypatch):
    # Force smoothing at 1/3 size on this small image, as on a 12 MP photo.
    monkeypatch.setattr(smooth_module, "WORKING_PIXELS", 512 * 512 / 9)
    for dtype in (np.uint8, np.uint16, np.float64):
        image = as_dtype(astronaut, dtype)
        out = smooth_skin(image, face_mask(), strength=1.0, scale=3.0)
        np.testing.assert_array_equal(out[~face_mask()], image[~face_mask()])
        assert high_pass_energy(out, CHEEK) < 0.9 * high_pass_energy(image, CHEEK)
        out = smooth_skin(image, "color", strength=1.0)
        assert out.dtype == image.dtype and out.shape == image.shape


@pytest.mark.parametrize("name", ["natural", "medium", "strong"])
def test_presets(astronaut_small, name):
    options = preset_options(name)
    assert options == PRESETS[name] and options is not PRESETS[name]
    out = smooth_skin(astronaut_small, "color", **options)
    assert out.shape == astronaut_small.shape
    assert preset_options(name.upper()) == options


def test_presets_grow_stronger(astronaut):
    changes = [
        np.abs(
            smooth_skin(astronaut, face_mask(), **preset_options(n)).astype(int) - astronaut
        ).mean()
        for n in ("natural", "medium", "strong")
    ]
    assert changes[0] < changes[1] < changes[2]


def test_unknown_preset():
    with pytest.raises(ValueError, match="natural"):
        preset_options("plastic")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"strength": -0.1}, "strength"),
        ({"strength": 1.5}, "strength"),
        ({"strength": float("nan")}, "strength"),
        ({"strength": "0.5"}, "strength"),
        ({"texture": 2}, "texture"),
        ({"blemish": -1}, "blemish"),
        ({"scale": "big"}, "scale"),
        ({"scale": 0}, "scale"),
        ({"scale": -2.0}, "scale"),
        ({"scale": float("inf")}, "scale"),
        ({"method": "gaussian"}, "method"),
        ({"method": None}, "method"),
        ({"mask": "skin"}, "mask"),
        ({"mask": [[1]]}, "mask"),
        ({"mask": np.ones((10, 10))}, "shape"),
        ({"mask": np.full((96, 96), 2.0)}, r"\[0, 1\]"),
        ({"mask": np.full((96, 96), np.nan)}, r"\[0, 1\]"),
        ({"mask": np.ones((96, 96), np.int32)}, "dtype"),
        ({"foo": 1}, "foo"),
        ({"radius": -1}, "radius"),
        ({"sigma_color": 0.1}, "sigma_color"),
    ],
)
def test_bad_parameters(astronaut_small, kwargs, match):
    with pytest.raises(ValueError, match=match):
        smooth_skin(astronaut_small, **kwargs)


@pytest.mark.parametrize(
    "image", [np.zeros((4, 4, 2)), np.zeros((0, 4, 3)), np.zeros((4, 4, 3), np.int32), [[1.0]],
              np.full((3, 3), np.inf)],
)  # fmt: skip
def test_bad_images(image):
    with pytest.raises(ValueError, match="image"):
        smooth_skin(image, "none")


def test_mask_kinds_agree(astronaut_small):
    region = np.zeros(astronaut_small.shape[:2], bool)
    region[20:70, 20:80] = True
    as_bool = smooth_skin(astronaut_small, region)
    as_u8 = smooth_skin(astronaut_small, region.astype(np.uint8) * 255)
    as_float = smooth_skin(astronaut_small, region.astype(np.float64))
    np.testing.assert_array_equal(as_bool, as_u8)
    np.testing.assert_array_equal(as_bool, as_float)


def test_area_downsample_matches_block_means():
    rng = np.random.default_rng(3)
    for dtype, shape, factor in [(np.uint8, (23, 17, 3), 4), (np.uint16, (9, 10, 1), 3),
                                 (np.float64, (8, 8, 2), 2)]:  # fmt: skip
        image = (rng.random(shape) * 200).astype(dtype)
        got = area_downsample(image, factor, 0.5)
        # relative (pixels >= 0): exact integer sums or float sums, three float32 roundings
        # for the scale, against the float64 block mean (see bounds.block_mean)
        bound = block_mean(factor, exact_sums=np.dtype(dtype).kind == "u")
        for i in range(got.shape[0]):
            for j in range(got.shape[1]):
                block = image[i * factor : (i + 1) * factor, j * factor : (j + 1) * factor]
                expected = 0.5 * block.mean(axis=(0, 1))
                np.testing.assert_allclose(got[i, j], expected, rtol=bound, atol=0)


@pytest.mark.parametrize("shape, factor", [((50, 47), 5), ((40, 40), 4), ((9, 13), 3), ((7, 8), 2)])
def test_upsampler_is_bilinear(shape, factor):
    height, width = shape
    small_h, small_w = -(-height // factor), -(-width // factor)
    small = np.random.default_rng(1).random((small_h, small_w, 2)).astype(np.float32)
    upsampler = BilinearUpsampler(shape, (small_h, small_w), factor)
    got = np.concatenate(
        [upsampler.strip(small, y, min(y + 4, height)) for y in range(0, height, 4)]
    )
    cy = np.clip((np.arange(height) + 0.5) / factor - 0.5, 0, small_h - 1)
    cx = np.clip((np.arange(width) + 0.5) / factor - 0.5, 0, small_w - 1)
    y0, x0 = np.floor(cy).astype(int), np.floor(cx).astype(int)
    y1, x1 = np.minimum(y0 + 1, small_h - 1), np.minimum(x0 + 1, small_w - 1)
    wy, wx = (cy - y0)[:, None, None], (cx - x0)[None, :, None]
    top = small[y0][:, x0] * (1 - wx) + small[y0][:, x1] * wx
    bottom = small[y1][:, x0] * (1 - wx) + small[y1][:, x1] * wx
    # two float32 lerps of values in [0, 1) against the float64 formula (bounds.bilinear_upsample)
    bound = bilinear_upsample(1.0, max(small_h, small_w))
    np.testing.assert_allclose(got, top * (1 - wy) + bottom * wy, rtol=0, atol=bound)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    image=image_arrays(image_shapes(40), float_width=32),
    strength=st.floats(0, 1),
    texture=st.floats(0, 1),
    blemish=st.floats(0, 1),
    tone=st.floats(0, 1),
    scale=st.one_of(st.just("auto"), st.floats(0.05, 4)),
    mask_kind=st.sampled_from(["none", "color", "array"]),
    seed=st.integers(0, 2**16),
)
def test_properties(image, strength, texture, blemish, tone, scale, mask_kind, seed):
    mask = mask_kind
    if mask_kind == "array":
        mask = np.random.default_rng(seed).random(image.shape[:2]) < 0.5
    options = dict(strength=strength, texture=texture, blemish=blemish, tone=tone, scale=scale)
    out = smooth_skin(image, mask, **options)
    assert out.shape == image.shape and out.dtype == image.dtype
    if image.dtype.kind == "f":
        assert np.isfinite(out).all()
        assert out.min() >= -0.05 and out.max() <= 1.05
    if image.ndim == 3 and image.shape[2] == 4:
        np.testing.assert_array_equal(out[..., 3], image[..., 3])
    if mask_kind == "array":
        np.testing.assert_array_equal(out[~mask], image[~mask])
    if strength == 0 and blemish == 0 and tone == 0:
        np.testing.assert_array_equal(out, image)


@pytest.mark.parametrize("background", [(30, 30, 35), (225, 230, 240), (40, 90, 160)])
def test_no_halo_at_the_skin_border(background):
    """A textured skin disc on a plain background: no ring of changed pixels around it."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[:256, :256]
    disc = (yy - 128) ** 2 + (xx - 128) ** 2 <= 80**2
    image = np.empty((256, 256, 3))
    image[:] = background
    image[disc] = (205, 160, 135)
    image += rng.normal(0, 6, image.shape)
    image = np.clip(image, 0, 255).astype(np.uint8)
    out = smooth_skin(image, "color", strength=1.0).astype(float)
    radius = np.hypot(yy - 128, xx - 128)
    for inner, outer in [(81, 84), (84, 90)]:  # just outside the disc
        ring = (radius >= inner) & (radius < outer)
        assert np.abs(out[ring] - image[ring]).mean() < 1.0
    inside = (radius >= 74) & (radius < 79)  # just inside: smoothed, but not brightened/darkened
    assert np.abs((out[inside] - image[inside]).mean(axis=0)).max() < 1.0
    assert np.abs(out[inside] - image[inside]).mean() > 1.0


def test_fine_dark_lines_stay_sharp_at_reduced_working_size(monkeypatch):
    """Lash-like 1-px lines are detail finer than the working grid: kept whole, unlike texture."""
    monkeypatch.setattr(smooth_module, "WORKING_PIXELS", 240 * 240 / 9)
    rng = np.random.default_rng(5)
    image = np.empty((240, 240, 3))
    image[:] = (0.8, 0.62, 0.52)
    image += rng.normal(0, 0.02, image.shape)
    lines = [60, 120, 180]
    for row in lines:
        image[row, 30:210] -= 0.35
    image = np.clip(image, 0, 1).astype(np.float32)
    out = smooth_skin(image, "none", strength=1.0, scale=3.0, blemish=0)

    def line_contrast(picture):
        luma = picture @ np.array([0.299, 0.587, 0.114])
        return np.mean([luma[r - 3, 40:200].mean() - luma[r, 40:200].mean() for r in lines])

    skin = (slice(80, 110), slice(40, 200))
    assert line_contrast(out) > 0.8 * line_contrast(image)
    assert high_pass_energy(out, skin) < 0.75 * high_pass_energy(image, skin)
