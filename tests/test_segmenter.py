"""The learned skin mask with the shipped model, on the sample portrait."""

import os
import sys

import numpy as np
import pytest
from conftest import DTYPES, as_dtype
from hypothesis import given, settings
from hypothesis import strategies as st

from skinsmooth_core.masks._color_adapt import adapt_to_colors
from skinsmooth_core.masks.segmenter import (
    DEFAULT_MODEL,
    SegmenterUnavailable,
    SkinSegmenter,
    _edge_ramp,
    _fuse,
    _shrink,
    _tile_boxes,
    _without_runtime_banner,
    default_segmenter,
)

pytestmark = pytest.mark.numerical

# Regions of skimage.data.astronaut (rows, cols), read off the photo.
FACE = (slice(105, 145), slice(195, 255))  # cheeks, nose, mouth corners
HAIR = (slice(20, 50), slice(180, 270))  # top of the head
WALL = (slice(0, 60), slice(300, 380))  # grey studio background
SUIT = (slice(300, 400), slice(60, 120))  # orange suit, skin-like hue


@pytest.fixture(scope="module")
def segmenter():
    return SkinSegmenter(num_threads=2)


@pytest.fixture(scope="module")
def astronaut_mask(segmenter, astronaut):
    return segmenter.predict(astronaut)


def skin_fraction(mask, region, threshold=0.5):
    return float(np.mean(mask[region] > threshold))


def test_face_in_background_and_suit_out(astronaut_mask):
    assert astronaut_mask.shape == (512, 512) and astronaut_mask.dtype == np.float32
    assert 0.0 <= astronaut_mask.min() and astronaut_mask.max() <= 1.0
    assert skin_fraction(astronaut_mask, FACE) >= 0.9
    assert skin_fraction(astronaut_mask, WALL) <= 0.05
    assert skin_fraction(astronaut_mask, SUIT) <= 0.1


def test_hair_out(astronaut_mask):
    assert skin_fraction(astronaut_mask, HAIR) <= 0.1


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", ["grey", "rgb", "rgba"])
def test_dtypes_and_channels(segmenter, astronaut, astronaut_mask, dtype, channels):
    image = astronaut
    if channels == "grey":
        image = np.rint(astronaut @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    elif channels == "rgba":
        alpha = np.linspace(0, 255, 512 * 512).reshape(512, 512, 1).astype(np.uint8)
        image = np.concatenate([astronaut, alpha], axis=2)
    mask = segmenter.predict(as_dtype(image, dtype))
    assert mask.shape == (512, 512) and mask.dtype == np.float32
    assert 0.0 <= mask.min() and mask.max() <= 1.0
    if channels == "grey":
        assert skin_fraction(mask, FACE) >= 0.6
        assert skin_fraction(mask, WALL) <= 0.1
    else:
        # Same 8-bit pixels whatever the dtype, alpha ignored (k / 255 and 257 k / 65535 come
        # back to k: their float32 error, 255 gamma(2) levels, is far below half a level) ...
        rgb8 = SkinSegmenter._rgb8(as_dtype(image, dtype))
        np.testing.assert_array_equal(rgb8, astronaut)
        # ... so the same mask, bit for bit: the int8 model is integer arithmetic (exact in any
        # order) with one float32 rounding per requantised value, and the rest is the same
        # float code on the same values in this process (bound 0).
        np.testing.assert_array_equal(mask, astronaut_mask)


@pytest.mark.parametrize("shape", [(1, 1), (3, 200), (200, 3), (17, 9)])
def test_tiny_images(segmenter, astronaut, shape):
    image = np.ascontiguousarray(astronaut[: shape[0], : shape[1]])
    mask = segmenter.predict(image)
    assert mask.shape == shape and mask.dtype == np.float32
    assert np.all((mask >= 0) & (mask <= 1))


def test_large_image_and_any_aspect(segmenter, astronaut):
    from PIL import Image

    big = np.asarray(Image.fromarray(astronaut).resize((2048, 2048), Image.BILINEAR))
    mask = segmenter.predict(big)
    assert mask.shape == (2048, 2048)
    face = tuple(slice(s.start * 4, s.stop * 4) for s in FACE)
    wall = tuple(slice(s.start * 4, s.stop * 4) for s in WALL)
    assert skin_fraction(mask, face) >= 0.9 and skin_fraction(mask, wall) <= 0.05

    # Landscape: the portrait with a wide margin of its own background on the right.
    wide = np.concatenate([astronaut, np.repeat(astronaut[:, 300:380], 5, axis=1)], axis=1)
    mask = segmenter.predict(wide)
    assert mask.shape == (512, 912)
    assert skin_fraction(mask, FACE) >= 0.8


def test_refinement_follows_photo_edges(segmenter, astronaut):
    from PIL import Image

    big = np.asarray(Image.fromarray(astronaut).resize((1024, 1024), Image.BILINEAR))
    refined = segmenter.predict(big)
    plain = segmenter.predict(big, refine=False)
    assert refined.shape == plain.shape == (1024, 1024)
    # Both agree on the regions; the refined edges differ from plain bilinear.
    assert np.mean((refined > 0.5) == (plain > 0.5)) > 0.97
    assert np.abs(refined - plain).max() > 0.05


def test_thread_count(astronaut, astronaut_mask):
    one = SkinSegmenter(num_threads=1)
    assert one.num_threads == 1
    # Bit for bit: the int8 model's sums are integer (exact in any order or split between
    # threads) and each requantisation is one float32 rounding of the same value, whichever
    # thread makes it; the refinement does not depend on the interpreter's threads (bound 0).
    # With 2 or more threads the two models run side by side (astronaut_mask: 2 threads,
    # one each; 3: two for the main model), one after the other with 1.
    np.testing.assert_array_equal(one.predict(astronaut), astronaut_mask)
    np.testing.assert_array_equal(SkinSegmenter(num_threads=3).predict(astronaut), astronaut_mask)
    for bad in (0, -1, 1.5, "2"):
        with pytest.raises(ValueError, match="num_threads"):
            SkinSegmenter(num_threads=bad)


def test_model_metadata(segmenter):
    assert segmenter.model_path.name == DEFAULT_MODEL
    assert segmenter.input_size == segmenter.info["input_size"] == 256
    assert segmenter.info["input_dtype"] == "uint8"
    assert 0 < segmenter.threshold < 1


def test_loading_prints_no_runtime_banner(capfd):
    SkinSegmenter(num_threads=1)
    assert "XNNPACK" not in capfd.readouterr().err
    with _without_runtime_banner():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"a real warning\n")
    assert capfd.readouterr().err == "a real warning\n"


def test_default_segmenter_is_loaded_once():
    assert default_segmenter() is default_segmenter()


def test_missing_model_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "nope.tflite"
    with pytest.raises(SegmenterUnavailable, match="not found.*nope.tflite"):
        SkinSegmenter(missing)
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"not a model")
    with pytest.raises(SegmenterUnavailable, match="could not load"):
        SkinSegmenter(broken)


def test_missing_runtime_names_the_package(monkeypatch):
    # A None entry makes the import fail exactly as an uninstalled package does.
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", None)
    with pytest.raises(SegmenterUnavailable, match="pip install ai-edge-litert"):
        SkinSegmenter()


def test_invalid_image(segmenter):
    with pytest.raises(ValueError, match="dtype"):
        segmenter.predict(np.zeros((8, 8, 3), np.int32))
    with pytest.raises(ValueError, match="channels"):
        segmenter.predict(np.zeros((8, 8, 2), np.uint8))


@pytest.mark.parametrize("shape", [(3000, 4000), (4001, 2999), (1600, 900), (800, 769), (3, 2000)])
def test_reduced_copy_matches_a_direct_resize(shape):
    from PIL import Image

    # A smooth random field (bicubic from a coarse grid): any good reduction agrees on it.
    rng = np.random.default_rng(sum(shape))
    coarse = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
    photo = np.asarray(Image.fromarray(coarse).resize(shape[::-1], Image.BICUBIC))
    small = _shrink(photo, 768)
    assert small.dtype == np.uint8 and small.shape[2] == 3
    assert max(small.shape[:2]) <= 768
    # Aspect kept to within one pixel's rounding of each side.
    scale = max(small.shape[:2]) / max(shape)
    for got, full in zip(small.shape[:2], shape, strict=True):
        assert abs(got - full * scale) <= 1 + scale * max(shape) / 768
    if min(small.shape[:2]) >= 16:  # the field is smooth at the output's scale
        direct = np.asarray(Image.fromarray(photo).resize(small.shape[1::-1], Image.BILINEAR))
        # Block means then bilinear against one antialiased bilinear step: the same local
        # means of a smooth field, off by rounding and a fraction of a pixel's shift.
        assert np.abs(small.astype(int) - direct.astype(int)).mean() <= 1.5
    crop = photo[:700, :768]
    assert _shrink(crop, 768) is crop  # small enough: used as it is


# The detail pass: tiles of the photo blended with the whole-photo pass.


@pytest.mark.parametrize("shape", [(384, 384), (400, 1000), (1000, 400), (853, 1280), (777, 3001)])
def test_tiles_cover_the_photo_with_positive_weights(shape):
    height, width = shape
    weight = np.zeros(shape, np.float32)
    boxes = _tile_boxes(height, width)
    assert len(boxes) >= 4
    for rows, cols in boxes:
        assert 0 <= rows.start < rows.stop <= height and 0 <= cols.start < cols.stop <= width
        weight[rows, cols] += np.outer(_edge_ramp(rows, height), _edge_ramp(cols, width))
    assert weight.min() > 0.2  # every pixel is well inside at least one tile's ramp


class _FieldTiles:
    """Stands in for the model in :meth:`SkinSegmenter._predict_tiles`: each tile's
    "prediction" is a known smooth field plus that tile's own offset."""

    input_size = 256

    def __init__(self, field, offsets):
        self.field, self.offsets = field, offsets
        self.boxes = iter(_tile_boxes(*field.shape))
        self.index = 0

    def _predict_region(self, tile, flip, shape=None, threads=None):
        rows, cols = next(self.boxes)
        assert tile.shape[:2] == (rows.stop - rows.start, cols.stop - cols.start)
        self.index += 1
        return self.field[rows, cols] + np.float32(self.offsets[self.index % len(self.offsets)])


@settings(max_examples=40, deadline=None)
@given(
    height=st.integers(384, 1500),
    width=st.integers(384, 1500),
    offsets=st.lists(st.floats(0, 1, width=32), min_size=12, max_size=12),
)
def test_tiles_blend_without_seams(height, width, offsets):
    """Tiles that agree give back their common value; tiles that disagree by up to d
    change the blend by at most d / (ramp length) per pixel: no seam at tile borders."""
    field = np.add.outer(np.linspace(0, 0.3, height), np.linspace(0, 0.2, width))
    field = field.astype(np.float32)
    image = np.zeros((height, width, 3), np.uint8)
    blended, _ = SkinSegmenter._predict_tiles(_FieldTiles(field, [0.0]), image)
    # A weighted mean of equal float32 values: the <= n products and sums and the
    # division each round once (n = tiles over a pixel <= 4 here): 2 (n + 2) u.
    bound = 2 * (4 + 2) * 2.0**-24 * float(field.max())
    np.testing.assert_allclose(blended, field, rtol=0, atol=bound)

    blended, _ = SkinSegmenter._predict_tiles(_FieldTiles(field, offsets), image)
    boxes = _tile_boxes(height, width)
    reach = 0.25 * min(min(r.stop - r.start, c.stop - c.start) for r, c in boxes)
    # Weights ramp linearly over `reach` pixels, so a blend of values spread over d
    # moves by at most about 2 d / reach per pixel, plus the field's own step.
    step = 2 * (max(offsets) - min(offsets)) / reach + 0.3 / height + 0.2 / width + 1e-5
    assert np.abs(np.diff(blended, axis=0)).max() <= step
    assert np.abs(np.diff(blended, axis=1)).max() <= step


def _steps(values):
    return max(np.abs(np.diff(values, axis=0)).max(), np.abs(np.diff(values, axis=1)).max())


@settings(max_examples=40, deadline=None)
@given(
    shape=st.tuples(st.integers(64, 300), st.integers(64, 300)),
    corner=st.tuples(st.floats(0, 0.5), st.floats(0, 0.5)),
    side=st.floats(0.05, 0.5),
    whole_level=st.floats(0, 0.29),
    tile_level=st.floats(0.51, 1),
)
def test_fuse_keeps_the_whole_pass_where_only_the_tiles_see_a_large_region(
    shape, corner, side, whole_level, tile_level
):
    """A rectangle only the tiles call skin: the whole pass alone if it is larger than
    2 % of the photo (a shirt seen close up), the plain mean if smaller (a small
    person); never a seam, never outside the two."""
    height, width = shape
    rows = slice(int(corner[0] * height), int((corner[0] + side) * height) + 1)
    cols = slice(int(corner[1] * width), int((corner[1] + side) * width) + 1)
    ramp = np.linspace(0, 0.05, width, dtype=np.float32)
    whole = np.float32(whole_level) + np.zeros(shape, np.float32) + ramp
    whole = np.minimum(whole, np.float32(0.29))
    tiles = np.full(shape, 0.2, np.float32) + ramp
    tiles[rows, cols] = tile_level
    mean = 0.5 * whole + 0.5 * tiles
    fused = _fuse(whole, tiles)
    area = (rows.stop - rows.start) * (cols.stop - cols.start)
    if area <= 0.02 * height * width:
        np.testing.assert_array_equal(fused, mean)
        return
    # Inside the region: the whole pass (a mean of 25 ones is 1 up to float32 rounding).
    np.testing.assert_allclose(fused[rows, cols], whole[rows, cols], rtol=0, atol=1e-6)
    low, high = np.minimum(whole, mean), np.maximum(whole, mean)
    assert np.all(fused >= low - 1e-6) and np.all(fused <= high + 1e-6)
    # fused = mean + keep (whole - mean) with keep a 5-pixel box mean of 0/1 values,
    # so a step is at most 2 |d mean| + |d whole| + |whole - mean| / 5 (+ rounding).
    bound = 2 * _steps(mean) + _steps(whole) + np.abs(whole - mean).max() / 5 + 1e-5
    assert _steps(fused) <= bound
    assert _steps(fused) < _steps(mean)  # the tiles' edge is gone, not moved


def test_fuse_without_tiles_only_regions_is_the_mean():
    rng = np.random.default_rng(3)
    whole = rng.uniform(0.3, 1, (50, 70)).astype(np.float32)
    tiles = rng.uniform(0, 1, (50, 70)).astype(np.float32)
    np.testing.assert_array_equal(_fuse(whole, tiles), 0.5 * whole + 0.5 * tiles)


def _copy_model(folder, segmenter, name, **fields):
    """The shipped model (and its partner, which is looked up beside it) copied to
    `folder` as `name`, with `fields` changed in its JSON (None drops a field)."""
    import json
    import shutil

    model = folder / f"{name}.tflite"
    shutil.copy(segmenter.model_path, model)
    if segmenter.partner_path is not None:
        for source in (segmenter.partner_path, segmenter.partner_path.with_suffix(".json")):
            shutil.copy(source, folder / source.name)
    info = {k: v for k, v in dict(segmenter.info, **fields).items() if v is not None}
    model.with_suffix(".json").write_text(json.dumps(info))
    return model


def test_soft_range_stretches_the_outputs(tmp_path, segmenter, astronaut):
    def copy(name, soft_range):
        return _copy_model(tmp_path, segmenter, name, soft_range=soft_range)

    raw = SkinSegmenter(copy("raw", [0.0, 1.0]), num_threads=2)
    stretched = SkinSegmenter(copy("stretched", [0.2, 0.8]), num_threads=2)
    # On a photo of at most 3 model inputs across, without refinement, zoom and colour
    # adaptation, nothing is resized after the stretch: the same float32 operations on the
    # same values.
    options = dict(refine=False, zoom=False, adapt=False)
    expected = raw.predict(astronaut, **options)
    expected = np.clip((expected - np.float32(0.2)) * np.float32(1 / (0.8 - 0.2)), 0, 1)
    np.testing.assert_array_equal(stretched.predict(astronaut, **options), expected)

    with pytest.raises(SegmenterUnavailable, match="soft_range"):
        SkinSegmenter(copy("wrong", [0.8, 0.2]))


def test_black_and_white_photos_have_their_own_stretch(tmp_path, segmenter, astronaut):
    assert segmenter.grey_soft_range == (0.2, 0.45)  # the shipped models' JSON
    raw = SkinSegmenter(
        _copy_model(tmp_path, segmenter, "raw", soft_range=[0.0, 1.0], grey_soft_range=None),
        num_threads=2,
    )
    assert raw.grey_soft_range == raw.soft_range == (0.0, 1.0)
    luma = np.rint(astronaut @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    grey = np.repeat(luma[:, :, None], 3, axis=2)
    options = dict(refine=False, zoom=False, adapt=False)  # as in the test above
    for photo, (low, high) in ((grey, (0.2, 0.45)), (astronaut, segmenter.soft_range)):
        expected = raw.predict(photo, **options)
        expected = np.clip((expected - np.float32(low)) * np.float32(1 / (high - low)), 0, 1)
        np.testing.assert_array_equal(segmenter.predict(photo, **options), expected)
    with pytest.raises(SegmenterUnavailable, match="grey_soft_range"):
        SkinSegmenter(_copy_model(tmp_path, segmenter, "wrong", grey_soft_range=[0.5, 0.5]))


def test_partner_model_is_averaged_in(tmp_path, segmenter, astronaut):
    assert segmenter.partner_path is not None and segmenter.partner_path.is_file()
    weight = segmenter.partner_weight
    alone = SkinSegmenter(
        _copy_model(tmp_path, segmenter, "alone", partner=None, soft_range=None), num_threads=2
    )
    assert alone.partner_path is None
    partner = SkinSegmenter(segmenter.partner_path, num_threads=2)
    assert partner.soft_range == (0.0, 1.0)
    # Without refinement, zoom and colour adaptation, on a photo of at most 3 model inputs
    # across, the mask is the weighted mean of the two models' passes, stretched: the same
    # float32 operations in the same order, so equal bit for bit.
    # The models run side by side when they run the same passes (as shipped), else one
    # after the other: the same mask either way.
    for detail in (True, False):
        options = dict(refine=False, zoom=False, adapt=False)
        mean = (1 - weight) * alone.predict(astronaut, detail=detail, **options)
        mean = mean + weight * partner.predict(astronaut, **options)
        low, high = segmenter.soft_range
        expected = np.clip((mean - np.float32(low)) * np.float32(1 / (high - low)), 0, 1)
        np.testing.assert_array_equal(
            segmenter.predict(astronaut, detail=detail, **options), expected
        )


@pytest.mark.parametrize(
    "partner, message",
    [
        ({"file": "skin_unet_groups_int8.tflite"}, "partner"),
        ({"file": "skin_unet_groups_int8.tflite", "weight": 1.5}, "weight"),
        ("skin_unet_groups_int8.tflite", "expected"),
        ({"file": "nope.tflite", "weight": 0.5}, "not found.*nope.tflite"),
    ],
)
def test_bad_partner_is_a_clear_error(tmp_path, segmenter, partner, message):
    model = _copy_model(tmp_path, segmenter, "model", partner=partner)
    with pytest.raises(SegmenterUnavailable, match=message):
        SkinSegmenter(model)


def test_partner_of_a_partner_is_refused(tmp_path, segmenter):
    import json

    model = _copy_model(tmp_path, segmenter, "model")
    partner = tmp_path / segmenter.partner_path.name
    info = dict(json.loads(segmenter.partner_path.with_suffix(".json").read_text()))
    info["partner"] = {"file": model.name, "weight": 0.5}
    partner.with_suffix(".json").write_text(json.dumps(info))
    with pytest.raises(SegmenterUnavailable, match="only one level"):
        SkinSegmenter(model)


def test_colour_adaptation_follows_the_json_and_acts_last(tmp_path, segmenter, astronaut):
    assert segmenter.adapt_colors is True  # the shipped models' JSON
    plain = SkinSegmenter(_copy_model(tmp_path, segmenter, "plain", adapt_colors=None))
    assert plain.adapt_colors is False
    # On a photo of at most 3 model inputs across (the reduced copy is the photo itself),
    # without refinement and zoom, it is the stretched mean adapted to the photo's colours.
    options = dict(refine=False, zoom=False)
    expected = adapt_to_colors(plain.predict(astronaut, **options), astronaut)
    np.testing.assert_array_equal(segmenter.predict(astronaut, **options), expected)
    np.testing.assert_array_equal(plain.predict(astronaut, adapt=True, **options), expected)
    assert not np.array_equal(segmenter.predict(astronaut, adapt=False, **options), expected)
