"""Synthetic group photos and the wild benchmark's scores (no TensorFlow needed)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage as ndi

from skinsmooth_core.training.data import IGNORE, Sample
from skinsmooth_core.training.groups import compose_group, mosaic_view
from skinsmooth_core.training.wild import SIZE_BINS, Scores, size_bin_name


def _sample(index, height, width):
    """A photo whose colour says what its label is: red where skin, blue where not,
    green where ignored, so a carried label can be checked against the pixels."""
    rng = np.random.default_rng(index)
    label = np.zeros((height, width), np.uint8)
    yy, xx = np.mgrid[:height, :width]
    centre = (rng.uniform(0.3, 0.7) * height, rng.uniform(0.3, 0.7) * width)
    label[(yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 < (0.3 * min(height, width)) ** 2] = 255
    label[: height // 10] = IGNORE
    image = np.zeros((height, width, 3), np.uint8)
    image[label == 255] = (255, 0, 0)
    image[label == 0] = (0, 0, 255)
    image[label == IGNORE] = (0, 255, 0)
    return Sample(f"s{index}", "test", image, label, np.argwhere(label == 255))


SAMPLES = [_sample(i, 120 + 13 * i, 160 - 7 * i) for i in range(6)]


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    layout=st.sampled_from(["grid", "scatter"]),
    zoom=st.sampled_from([None, (1.5, 8.0), (6.0, 6.0)]),
)
def test_labels_travel_with_the_pixels(seed, layout, zoom):
    image, label, count = compose_group(
        SAMPLES, np.random.default_rng(seed), height=300, width=420, layout=layout,
        background_zoom=zoom,
    )  # fmt: skip
    assert image.shape == (300, 420, 3) and label.shape == (300, 420)
    assert 2 <= count <= 20
    assert set(np.unique(label)) <= {0, IGNORE, 255}
    # Pixels well inside each label's area keep that label's colour (bilinear resizing
    # mixes colours only within a pixel or two of a border).
    for value, channel in ((255, 0), (0, 2), (IGNORE, 1)):
        inner = label == value
        for axis in (0, 1):
            inner &= np.roll(label, 2, axis) == value
            inner &= np.roll(label, -2, axis) == value
        if inner.any():
            assert np.median(image[inner][:, channel]) > 200


def test_grid_places_every_person_apart():
    rng = np.random.default_rng(1)
    _, label, count = compose_group(
        SAMPLES, rng, height=400, width=600, people=(6, 6), layout="grid"
    )
    assert count == 6
    _, regions = ndi.label(label == 255)
    assert regions >= 6  # each pasted disc is its own region (the background may add more)


@pytest.mark.parametrize("layout", ["grid", "scatter"])
def test_pieces_say_where_each_photo_went_and_change_nothing(layout):
    plain = compose_group(SAMPLES, np.random.default_rng(7), height=300, width=420, layout=layout)
    pieces = []
    image, label, count = compose_group(
        SAMPLES, np.random.default_rng(7), height=300, width=420, layout=layout, pieces=pieces
    )
    np.testing.assert_array_equal(image, plain[0])
    np.testing.assert_array_equal(label, plain[1])
    assert len(pieces) == count == plain[2]
    owner = np.full(label.shape, -1)
    for index, (sample, rows, cols) in enumerate(pieces):
        assert sample in SAMPLES
        assert 0 <= rows.start < rows.stop <= 300 and 0 <= cols.start < cols.stop <= 420
        owner[rows, cols] = index
    # The last photo pasted is on top: its box holds its own label, resized (its
    # skin disc's share of the box within the resize's rounding of the sample's).
    sample, rows, cols = pieces[-1]
    box = label[rows, cols]
    share = np.mean(box[box != IGNORE] == 255)
    own = sample.mask[sample.mask != IGNORE]
    assert share == pytest.approx(np.mean(own == 255), abs=0.1)
    # Outside every box: the background, whose skin the boxes do not explain.
    assert (owner >= 0).any() and (owner < 0).any()


def test_mosaic_views_have_small_people():
    rng = np.random.default_rng(2)
    image, label = mosaic_view(SAMPLES, 192, rng)
    assert image.shape == (192, 192, 3) and label.shape == (192, 192)


def test_blurred_backgrounds_are_enlarged_crops():
    """With a zoom the background is a small crop enlarged: the borders between skin
    and not-skin spread over about `zoom` pixels, and the labels come along."""
    stripes = (np.arange(800) // 10) % 2 == 0  # every crop crosses skin and not-skin
    label = np.where(np.broadcast_to(stripes, (600, 800)), 255, 0).astype(np.uint8)
    image = np.zeros((600, 800, 3), np.uint8)
    image[label == 255] = (255, 0, 0)
    image[label == 0] = (0, 0, 255)
    photo = Sample("stripes", "test", image, label, np.argwhere(label == 255))
    blur = {}
    for zoom in (None, (6.0, 6.0)):
        image, label, _ = compose_group(
            [photo], np.random.default_rng(4), height=300, width=420, people=(0, 0),
            layout="scatter", background_zoom=zoom,
        )  # fmt: skip
        red = image[..., 0].astype(float)
        mixed = (red > 20) & (red < 235)  # pixels that blend skin and not-skin colours
        borders = np.count_nonzero(np.diff(label[150].astype(int)))
        blur[zoom] = np.count_nonzero(mixed[150]) / max(borders, 1)  # px per border
        skin = (label == 255) & ~ndi.binary_dilation(mixed, iterations=2)
        assert skin.any() and np.median(image[skin][:, 0]) > 200
    assert blur[None] < 3 and blur[(6.0, 6.0)] > 3


def test_mosaic_views_can_have_blurred_backgrounds():
    rng = np.random.default_rng(5)
    image, label = mosaic_view(SAMPLES, 192, rng, blurred=1.0)
    assert image.shape == (192, 192, 3) and label.shape == (192, 192)
    assert set(np.unique(label)) <= {0, IGNORE, 255}


def test_perfect_and_empty_masks_score_as_they_should():
    _, label, _ = compose_group(SAMPLES, np.random.default_rng(3), height=300, width=420)
    perfect, empty = Scores(), Scores()
    assert perfect.add((label == 255).astype(np.float32), label, 0.5) == 1.0
    assert empty.add(np.zeros(label.shape, np.float32), label, 0.5) == 0.0
    good, bad = perfect.summary(), empty.summary()
    assert good["f1"] == 1.0 and bad["f1"] == 0.0
    assert good["inside_mean"] == 1.0 and good["far_mean"] == 0.0
    for low, high in SIZE_BINS:
        name = size_bin_name(low, high)
        if good[f"regions_{name}"]:
            assert good[f"found_{name}"] == 1.0 and bad[f"found_{name}"] == 0.0


@pytest.mark.parametrize("across", [8, 30, 90])
def test_a_region_falls_in_the_bin_of_its_size(across):
    label = np.zeros((200, 200), np.uint8)
    yy, xx = np.mgrid[:200, :200]
    label[(yy - 100) ** 2 + (xx - 100) ** 2 <= (across / 2) ** 2] = 255
    scores = Scores()
    scores.add((label == 255).astype(np.float32), label, 0.5)
    summary = scores.summary()
    (low, high), *_ = [b for b in SIZE_BINS if b[0] <= across < b[1]]
    assert summary[f"regions_{size_bin_name(low, high)}"] == 1


def test_piece_weights_choose_who_is_pasted():
    """Weights pick the people (all from the weighted photos; the background is any
    photo), and equal weights make the same kind of draw as none."""
    weights = np.zeros(len(SAMPLES))
    weights[[1, 4]] = 0.5
    for seed in range(20):
        pieces = []
        compose_group(
            SAMPLES, np.random.default_rng(seed), height=300, width=420, pieces=pieces,
            weights=weights,
        )  # fmt: skip
        assert {sample.id for sample, _, _ in pieces} <= {"s1", "s4"}
    counts = {s.id: 0 for s in SAMPLES}
    for seed in range(40):
        pieces = []
        compose_group(
            SAMPLES, np.random.default_rng(seed), height=300, width=420, pieces=pieces,
            weights=np.full(len(SAMPLES), 1 / len(SAMPLES)),
        )  # fmt: skip
        for sample, _, _ in pieces:
            counts[sample.id] += 1
    assert min(counts.values()) > 0  # every photo can be pasted


def test_sampler_draws_group_pieces_by_source():
    from skinsmooth_core.training.sampler import BatchSampler

    samples = [
        Sample(s.id, "hgr" if i < 2 else "sfa", s.image, s.mask, s.skin_points)
        for i, s in enumerate(SAMPLES)
    ]
    sampler = BatchSampler(samples, 64, 2, mosaic=1.0, piece_weights={"sfa": 0, "hgr": 3})
    chosen = sampler.pieces
    assert chosen is not None and chosen.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(chosen, [0.5, 0.5, 0, 0, 0, 0])
    x, y = sampler.batch()
    assert x.shape[:3] == (2, 64, 64) and y.shape[:3] == (2, 64, 64)
    assert BatchSampler(samples, 64, 2, mosaic=1.0).pieces is None
    with pytest.raises(ValueError, match="piece_weights .* leave no photo to draw"):
        BatchSampler(samples, 64, 2, piece_weights={"sfa": 0, "hgr": 0})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("hands=2", "unknown source 'hands'"),
        ("hgr=x", "weight of 'hgr' must be a number >= 0"),
        ("hgr=-1", "weight of 'hgr' must be a number >= 0"),
        ("sfa=0,fasseg=0,ibtd=0,ccp=0,abd=0,hgr=0", "at least one source"),
    ],
)
def test_piece_weights_on_the_command_line_are_checked(value, message, capsys):
    from skinsmooth_core.training.__main__ import _source_weights, main

    assert _source_weights("hgr=4, abd=1.5") == {"hgr": 4.0, "abd": 1.5}
    with pytest.raises(SystemExit) as raised:
        main(["train", "--data", "nowhere", "--out", "nowhere", "--piece-weights", value])
    assert raised.value.code == 2
    assert message in capsys.readouterr().err


def test_close_up_backgrounds_have_more_skin():
    """With `close_up` the background is the crop with the most skin of a few tries."""
    shares = {}
    for close_up in (False, True):
        total = 0.0
        for seed in range(30):
            _, label, _ = compose_group(
                SAMPLES, np.random.default_rng(seed), height=200, width=300, people=(0, 0),
                layout="scatter", background_zoom=(2.0, 6.0), close_up=close_up,
            )  # fmt: skip
            total += np.mean(label == 255)
        shares[close_up] = total / 30
    assert shares[True] > shares[False] + 0.05
    image, label = mosaic_view(SAMPLES, 96, np.random.default_rng(3), close_ups=1.0)
    assert image.shape == (96, 96, 3) and set(np.unique(label)) <= {0, IGNORE, 255}


@pytest.mark.parametrize("flag", ["--mosaic", "--blurred", "--close-ups"])
def test_shares_on_the_command_line_are_checked(flag, capsys):
    from skinsmooth_core.training.__main__ import main

    with pytest.raises(SystemExit) as raised:
        main(["train", "--data", "nowhere", "--out", "nowhere", flag, "1.5"])
    assert raised.value.code == 2
    assert "must be a share from 0 to 1, got '1.5'" in capsys.readouterr().err


def test_wild_methods_run_the_predictor_variants(astronaut):
    from skinsmooth_core.masks.segmenter import SkinSegmenter
    from skinsmooth_core.training.wild import default_methods

    names = ("unet", "unet-single", "unet-no-adapt", "color")
    methods = default_methods(num_threads=2, names=names)
    assert tuple(methods) == names
    segmenter = SkinSegmenter(num_threads=2)
    for name, options in [
        ("unet", {}),
        ("unet-single", {"detail": False}),
        ("unet-no-adapt", {"adapt": False}),
    ]:
        predict, threshold = methods[name]
        assert threshold == segmenter.threshold
        np.testing.assert_array_equal(predict(astronaut), segmenter.predict(astronaut, **options))
    assert not np.array_equal(methods["unet"][0](astronaut), methods["unet-no-adapt"][0](astronaut))


def _lab(rgb):
    """CIELAB (D65) of one sRGB colour, by the textbook formulas (IEC 61966-2-1, CIE 1976)."""
    c = np.asarray(rgb, float) / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = (
        np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
        @ linear
    )
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


@pytest.mark.parametrize(
    "rgb", [(240, 210, 190), (225, 180, 150), (200, 150, 115), (150, 100, 70), (90, 60, 45)]
)
def test_skin_tone_is_the_ita_class_of_the_labelled_skin(rgb):
    from skinsmooth_core.training.wild import TONE_BINS, skin_tone

    lightness, _, yellow = _lab(rgb)
    angle = np.degrees(np.arctan2(lightness - 50, yellow))
    [expected] = [name for name, low, high in TONE_BINS if low < angle <= high]
    image = np.zeros((20, 20, 3), np.uint8)
    image[:, :10] = rgb  # the skin
    image[:, 10:] = (20, 200, 30)  # not skin, and ignored pixels of another colour
    label = np.zeros((20, 20), np.uint8)
    label[:, :10] = 255
    label[:5, 10:] = 128
    assert skin_tone(image, label) == expected
    label[:, 3:10] = 0  # 60 skin pixels: too few to say
    assert skin_tone(image, label) is None


def test_skin_tones_span_the_classes():
    from skinsmooth_core.training.wild import skin_tone

    label = np.full((10, 10), 255, np.uint8)
    tones = [skin_tone(np.full((10, 10, 3), rgb, np.uint8), label) for rgb in
             [(240, 210, 190), (200, 150, 115), (90, 60, 45)]]  # fmt: skip
    assert tones == ["skin light", "skin tan", "skin brown"]
