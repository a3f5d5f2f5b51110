"""The mask's adaptation to the photo's colours, against a direct numpy version."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage as ndi

from skinsmooth_core.masks import _color_adapt as ca
from skinsmooth_core.masks._color_adapt import adapt_to_colors

pytestmark = pytest.mark.numerical

SHAPE = (ca._LUMA_BINS, ca._CHROMA_BINS, ca._CHROMA_BINS)


def scaled_ycrcb(rgb):
    """Luma, Cr and Cb in bin units (float64)."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cr = (r - y) * 0.713 + 128
    cb = (b - y) * 0.564 + 128
    return (
        y * ca._LUMA_BINS / 256,
        cr * ca._CHROMA_BINS / 256,
        cb * ca._CHROMA_BINS / 256,
    )


def reference_bins(rgb):
    y, cr, cb = scaled_ycrcb(rgb)
    iy = np.clip(y.astype(int), 0, ca._LUMA_BINS - 1)
    ir = np.clip(cr.astype(int), 0, ca._CHROMA_BINS - 1)
    ib = np.clip(cb.astype(int), 0, ca._CHROMA_BINS - 1)
    return (iy * ca._CHROMA_BINS + ir) * ca._CHROMA_BINS + ib


def reference(mask, rgb):
    """The adaptation written out with numpy in float64."""
    bins = reference_bins(rgb)
    sure_skin, sure_other = mask > ca.SURE_SKIN, mask < ca.SURE_OTHER
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    grey = (np.abs((r - y) * 0.713) < ca._GREY) & (np.abs((b - y) * 0.564) < ca._GREY)
    if (
        min(sure_skin.sum(), sure_other.sum()) < ca.MIN_SAMPLES
        or grey[sure_skin].sum() > ca._MAX_GREY * sure_skin.sum()
    ):
        return mask.astype(np.float64)
    densities = []
    for where in (sure_skin, sure_other):
        counts = np.zeros(np.prod(SHAPE))
        np.add.at(counts, bins[where], 1)
        smooth = ndi.gaussian_filter(counts.reshape(SHAPE), ca._SMOOTH)
        densities.append((smooth + ca._PSEUDO) / (smooth.sum() + ca._PSEUDO * smooth.size))
    prior = np.log(sure_skin.sum() / sure_other.sum())
    ratio = np.log(densities[0] / densities[1]) + ca._PRIOR * prior
    ratio = np.clip(ratio, -ca._LIMIT, ca._LIMIT).ravel()
    p = np.clip(mask.astype(np.float64), ca._EPS, 1 - ca._EPS)
    out = 1 / (1 + np.exp(-(np.log(p / (1 - p)) + ratio[bins])))
    # Rises fade in with the chessboard distance to sure skin, brute force.
    rows, cols = np.nonzero(sure_skin)
    yy, xx = np.indices(mask.shape)
    near = np.full(mask.shape, np.inf)
    for r, c in zip(rows, cols, strict=True):
        near = np.minimum(near, np.maximum(np.abs(yy - r), np.abs(xx - c)))
    low, high = ca._FADE
    share = np.clip((near - low) / (high - low), 0, 1)
    return np.where(out > mask, mask + share * (out - mask), out)


def palette(rng, count):
    """`count` RGB colours at least 0.01 bin from every bin edge, so float32 and
    float64 put them in the same bin."""
    colours = rng.integers(0, 256, (20 * count, 3), dtype=np.uint8)
    scaled = np.stack(scaled_ycrcb(colours), axis=-1)
    inside = (np.abs(scaled - np.round(scaled)) > 0.01).all(axis=1)
    return colours[inside][:count]


def photo_and_mask(rng, height=48, width=64, colours=12):
    """A photo of a few flat colours with a mask that is sure of some of them."""
    chosen = palette(rng, colours)
    labels = rng.integers(0, len(chosen), (height, width))
    rgb = chosen[labels]
    per_colour = rng.choice([0.0, 0.02, 0.3, 0.5, 0.7, 0.95, 1.0], len(chosen))
    mask = per_colour[labels] + rng.uniform(-0.02, 0.02, (height, width))
    return rgb, np.clip(mask, 0, 1).astype(np.float32)


@settings(deadline=None, max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), colours=st.integers(2, 40))
def test_matches_numpy_reference(seed, colours):
    rng = np.random.default_rng(seed)
    rgb, mask = photo_and_mask(rng, colours=colours)
    out = adapt_to_colors(mask, rgb)
    assert out.dtype == np.float32 and out.shape == mask.shape
    # The log-ratio table agrees to float32 rounding of sums of a few thousand counts; the
    # log-odds are at most |logit(eps)| + limit = 11; the sigmoid's slope is at most 1/4:
    # a few float32 epsilons times 11, bounded by 1e-5.
    np.testing.assert_allclose(out, reference(mask, rgb), rtol=0, atol=1e-5)


def test_bins_are_ycrcb_cells():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    bins = np.empty((64, 64), np.int32)
    skin = np.zeros(np.prod(SHAPE), np.int64)
    other = np.zeros_like(skin)
    mask = np.zeros((64, 64), np.float32)
    ca._bin_and_count(rgb, mask, np.float32(0.8), np.float32(0.05), bins, skin, other)
    scaled = np.stack(scaled_ycrcb(rgb), axis=-1)
    clear = (np.abs(scaled - np.round(scaled)) > 1e-3).all(axis=-1)
    assert clear.mean() > 0.9
    np.testing.assert_array_equal(bins[clear], reference_bins(rgb)[clear])
    assert skin.sum() == 0 and other.sum() == mask.size


def test_unsure_skin_follows_the_colour_of_sure_skin():
    rgb = np.zeros((60, 90, 3), np.uint8)
    rgb[:, :30] = (205, 150, 125)  # skin
    rgb[:, 30:60] = (60, 90, 160)  # a blue shirt
    rgb[:, 60:] = (205, 150, 125)  # the same skin, where the model is unsure
    mask = np.zeros((60, 90), np.float32)
    mask[:, :30] = 0.95
    mask[:, 60:] = 0.4
    out = adapt_to_colors(mask, rgb)
    assert out[:, 60:].min() > 0.9  # the unsure skin is now skin, the full rise far off
    np.testing.assert_array_equal(out[:, :30], mask[:, :30])  # sure skin stays as it is
    assert out[:, 30:60].max() < 0.01  # the shirt stays out
    # The ratio is bounded: a pixel the model rules out stays out whatever its colour.
    mask[:5, 60:] = 0.0
    assert adapt_to_colors(mask, rgb)[:5, 60:].max() < 1 / (1 + np.exp(-(np.log(1e-3) + 4.01)))


def test_colour_in_both_sets_moves_little():
    rng = np.random.default_rng(0)
    rgb, mask = photo_and_mask(rng, colours=6)
    # Every pixel one colour: the two histograms are equal, their ratio is 1.
    rgb[:] = palette(rng, 1)[0]
    mask[:, : mask.shape[1] // 2] = 0.9
    mask[:, mask.shape[1] // 2 :] = 0.0
    mask[::4, ::4] = 0.5
    out = adapt_to_colors(mask, rgb)
    # Nothing moves but by the clip to [eps, 1 - eps] (faded near sure skin like any rise).
    np.testing.assert_allclose(out, mask, atol=ca._EPS + 1e-5)


@pytest.mark.parametrize("sure", ["skin", "other"])
def test_too_few_sure_pixels_leave_the_mask_alone(sure):
    rng = np.random.default_rng(1)
    rgb, _ = photo_and_mask(rng)
    mask = np.full(rgb.shape[:2], 0.4, np.float32)
    if sure == "skin":
        mask.flat[: ca.MIN_SAMPLES - 1] = 0.9
        mask.flat[-500:] = 0.0
    else:
        mask.flat[: ca.MIN_SAMPLES - 1] = 0.0
        mask.flat[-500:] = 0.9
    assert adapt_to_colors(mask, rgb) is mask


@pytest.mark.parametrize(
    "mask_shape, rgb_shape",
    [((4, 5), (4, 6, 3)), ((4, 5), (4, 5)), ((4, 5), (4, 5, 4))],
)
def test_shapes_are_checked(mask_shape, rgb_shape):
    with pytest.raises(ValueError, match="H x W and H x W x 3"):
        adapt_to_colors(np.zeros(mask_shape, np.float32), np.zeros(rgb_shape, np.uint8))


def test_rises_fade_in_away_from_sure_skin():
    """Beside sure skin its edge decides (a hairline, a collar): no rise 1 px from it, a
    third of the rise at 2 px, the full rise from 4 px on; falls are never faded."""
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[:, :20] = (205, 150, 125)  # sure skin
    rgb[:, 20:40] = (205, 150, 125)  # the same colour, unsure
    rgb[:, 40:] = (60, 90, 160)  # sure background
    mask = np.zeros((40, 60), np.float32)
    mask[:, :20] = 0.95
    mask[:, 20:40] = 0.4
    mask[:, 40:45] = 0.3  # unsure background right beside unsure skin falls in full
    out = adapt_to_colors(mask, rgb)
    full = out[:, 30]
    assert (full > 0.9).all()
    np.testing.assert_allclose(out[:, 20], 0.4, atol=1e-6)  # 1 px from sure skin
    np.testing.assert_allclose(out[:, 21], 0.4 + (full - 0.4) / 3, atol=1e-5)
    np.testing.assert_allclose(out[:, 23], full, atol=1e-6)  # 4 px away
    assert (out[:, 40:45] < 0.01).all()


def test_photo_must_be_uint8():
    with pytest.raises(ValueError, match="float32; expected uint8"):
        adapt_to_colors(np.zeros((4, 5), np.float32), np.zeros((4, 5, 3), np.float32))


def test_grey_photos_are_left_alone():
    """Luma alone moved black-and-white photos the wrong way: a photo whose sure skin is
    grey keeps its mask; grey elsewhere in a colour photo does not stop the adaptation."""
    rgb = np.zeros((60, 90, 3), np.uint8)
    rgb[:, :30] = 180
    rgb[:, 30:60] = 60
    rgb[:, 60:] = 180
    mask = np.zeros((60, 90), np.float32)
    mask[:, :30] = 0.95
    mask[:, 60:] = 0.4
    assert adapt_to_colors(mask, rgb) is mask
    rgb[:, :30] = rgb[:, 60:] = (205, 150, 125)  # the skin in colour, the rest still grey
    assert adapt_to_colors(mask, rgb)[:, 60:].min() > 0.9


def _grey_reference(rgb):
    """float64 Rec. 601 chroma of every pixel, both within 4 levels of neutral."""
    x = rgb.astype(np.float64)
    luma = x @ np.array([0.299, 0.587, 0.114])
    cr, cb = (x[..., 0] - luma) * 0.713, (x[..., 2] - luma) * 0.564
    return np.mean((np.abs(cr) < 4) & (np.abs(cb) < 4))


@settings(deadline=None, max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), spread=st.sampled_from([0, 3, 8, 60]))
def test_grey_share_counts_near_neutral_pixels(seed, spread):
    rng = np.random.default_rng(seed)
    level = rng.integers(0, 256, (30, 40, 1))
    rgb = np.clip(level + rng.integers(-spread, spread + 1, (30, 40, 3)), 0, 255).astype(np.uint8)
    # float32 against float64: a pixel may fall the other way only at exactly 4 levels
    x = rgb.astype(np.float64)
    luma = x @ np.array([0.299, 0.587, 0.114])
    edge = np.minimum(np.abs(np.abs((x[..., 0] - luma) * 0.713) - 4),
                      np.abs(np.abs((x[..., 2] - luma) * 0.564) - 4))  # fmt: skip
    assert abs(ca.grey_share(rgb) - _grey_reference(rgb)) <= np.mean(edge < 1e-4)


def test_black_and_white_photos_are_grey(astronaut):
    share = ca.grey_share(astronaut)
    assert share < 0.8  # a colour portrait
    luma = np.rint(astronaut @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    grey = np.repeat(luma[:, :, None], 3, axis=2)
    assert ca.grey_share(grey) == 1.0
    # a JPEG'd black-and-white photo keeps a little chroma noise: still grey
    noisy = np.clip(grey + np.random.default_rng(0).integers(-2, 3, grey.shape), 0, 255)
    assert ca.grey_share(noisy.astype(np.uint8)) > 0.95
    assert ca.grey_share(np.zeros((0, 4, 3), np.uint8)) == 0.0
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        ca.grey_share(grey[:, :, 0])
