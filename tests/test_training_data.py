"""Training data augmentation that needs no TensorFlow: skin-tinted hard negatives."""

import numpy as np
from bounds import U32, gamma

from skinsmooth_core.training.data import TintedNegatives, _skin_tinted_negatives


def test_tinted_negatives_take_the_skin_chroma_and_keep_luminance(astronaut):
    mask = np.zeros(astronaut.shape[:2], np.uint8)
    mask[100:150, 190:260] = 255  # cheeks and nose: skin
    mask[300:320, :] = 128  # ignored band
    rng = np.random.default_rng(3)
    out = _skin_tinted_negatives(astronaut, mask, rng)
    assert out.shape == astronaut.shape and out.dtype == np.uint8
    untouched = mask != 0
    np.testing.assert_array_equal(out[untouched], astronaut[untouched])
    changed = np.any(out != astronaut, axis=2)
    assert 0.05 < changed.mean() < 0.95  # blobs, not all or nothing
    before, after = astronaut[changed].astype(float), out[changed].astype(float)
    unclipped = (after > 0).all(axis=1) & (after < 255).all(axis=1)
    # the channel mean (luminance) is kept up to rounding, the chroma moves to the skin's:
    # x + s w (L tone - x) with mean(tone) = 1, so the mean is L; the cast to uint8 truncates
    # (< 1 off per channel, so < 1 off the mean), and float32 adds <= 10 roundings (the
    # update's 5, tone's normalisation 4, L's division by 3) of magnitudes <= 3 * 255
    # (L tone, tone <= 3 as its three channels are >= 0 with mean 1)
    bound = 1.0 + gamma(10, U32) * 3 * 255
    np.testing.assert_allclose(
        after[unclipped].mean(1), before[unclipped].mean(1), rtol=0, atol=bound
    )
    tone = astronaut[mask == 255].astype(float).mean(0)
    tone /= tone.mean()

    def chroma_error(x):
        return np.abs(x / np.maximum(x.mean(1, keepdims=True), 1) - tone).mean()

    assert chroma_error(after[unclipped]) < 0.5 * chroma_error(before[unclipped])


def test_tinted_negatives_need_skin_in_the_view(astronaut):
    mask = np.zeros(astronaut.shape[:2], np.uint8)
    out = _skin_tinted_negatives(astronaut, mask, np.random.default_rng(0))
    np.testing.assert_array_equal(out, astronaut)


def test_lifted_negatives_reach_the_skin_brightness(astronaut):
    mask = np.zeros(astronaut.shape[:2], np.uint8)
    mask[100:150, 190:260] = 255
    dark = astronaut.copy()
    dark[mask == 0] //= 4  # dark not-skin, as dark hair is
    out = _skin_tinted_negatives(dark, mask, np.random.default_rng(5), TintedNegatives(lift=1.0))
    np.testing.assert_array_equal(out[mask == 255], dark[mask == 255])
    changed = np.any(out != dark, axis=2)
    assert 0.05 < changed.mean() < 0.95
    before, after = dark[changed].astype(float), out[changed].astype(float)
    skin_level = dark[mask == 255].mean()
    # brightened by up to 4x, towards the skin's level but never past 4x
    assert after.mean() > 1.5 * before.mean()
    assert after.mean() <= 4 * before.mean() + 1
    assert abs(after.mean() - skin_level) < abs(before.mean() - skin_level)
    # texture scaled with it: the blobs' contrast grows, not flattened
    assert after.mean(1).std() > before.mean(1).std()


def test_soft_blobs_fade_in_at_their_outline(astronaut):
    mask = np.zeros(astronaut.shape[:2], np.uint8)
    mask[100:150, 190:260] = 255
    hard = _skin_tinted_negatives(astronaut, mask, np.random.default_rng(8))
    soft = _skin_tinted_negatives(
        astronaut, mask, np.random.default_rng(8), TintedNegatives(soft=True)
    )
    np.testing.assert_array_equal(soft[mask != 0], astronaut[mask != 0])
    hard_change = np.abs(hard.astype(float) - astronaut).sum(axis=2)
    soft_change = np.abs(soft.astype(float) - astronaut).sum(axis=2)
    assert not np.any((soft_change > 0) & (hard_change == 0))  # the same blobs
    moved = hard_change > 30  # pixels whose colour the tint clearly moves
    share = soft_change[moved] / hard_change[moved]
    assert np.all(share < 1.05)
    assert np.mean(share > 0.95) > 0.3  # blob interiors: the full tint
    assert np.mean((share > 0.1) & (share < 0.9)) > 0.05  # a feathered rim


def test_vivid_negatives_have_a_stronger_chroma_than_the_skin(astronaut):
    mask = np.zeros(astronaut.shape[:2], np.uint8)
    mask[100:150, 190:260] = 255
    plain = _skin_tinted_negatives(astronaut, mask, np.random.default_rng(4))
    vivid = _skin_tinted_negatives(
        astronaut, mask, np.random.default_rng(4), TintedNegatives(vivid=1.0)
    )
    np.testing.assert_array_equal(vivid[mask != 0], astronaut[mask != 0])

    def chroma(x):  # distance from grey, relative to the brightness
        x = x.astype(float)
        return np.abs(x / np.maximum(x.mean(1, keepdims=True), 1) - 1).sum(1)

    changed = np.all(plain != astronaut, axis=2) & np.all(vivid != astronaut, axis=2)
    unclipped = np.all((vivid > 0) & (vivid < 255), axis=2) & changed
    assert unclipped.mean() > 0.02
    assert np.median(chroma(vivid[unclipped])) > 1.2 * np.median(chroma(plain[unclipped]))


def _linear(level):
    v = np.asarray(level, float) / 255
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def test_strong_casts_stay_in_their_range_and_keep_a_grey_bright():
    from skinsmooth_core.training.data import CAST_RANGE, strong_cast

    grey = np.full((4, 4, 3), 118, np.uint8)
    rng = np.random.default_rng(3)
    warm, tint = [], []
    for _ in range(300):
        cast = strong_cast(grey, rng)
        assert cast.shape == grey.shape and cast.dtype == np.uint8
        assert (cast == cast[0, 0]).all()  # one gain per channel
        r, g, b = _linear(cast[0, 0])
        warm.append(np.log(r / b) / 2)
        tint.append(np.log(np.sqrt(r * b) / g))
        # a grey keeps its luma (sRGB levels), within rounding
        assert abs(np.array([0.299, 0.587, 0.114]) @ cast[0, 0] - 118) < 6
    # gains of exp(+-CAST_RANGE) along each axis; 8-bit rounding of the levels adds a little
    assert max(np.abs(warm)) <= CAST_RANGE[0] + 0.02 and max(np.abs(tint)) <= CAST_RANGE[1] + 0.02
    assert min(warm) < -0.8 * CAST_RANGE[0] and max(warm) > 0.8 * CAST_RANGE[0]  # both ways
    assert min(tint) < -0.8 * CAST_RANGE[1] and max(tint) > 0.8 * CAST_RANGE[1]


def test_a_share_of_views_get_a_cast(astronaut):
    from skinsmooth_core.training.data import finish_view

    mask = np.zeros(astronaut.shape[:2], np.uint8)
    plain = finish_view(astronaut, mask, np.random.default_rng(5))
    again = finish_view(astronaut, mask, np.random.default_rng(5), casts=0.0)
    np.testing.assert_array_equal(plain[0], again[0])
    cast = finish_view(astronaut, mask, np.random.default_rng(5), casts=1.0)
    assert not np.array_equal(plain[0], cast[0])
    np.testing.assert_array_equal(plain[1], cast[1])  # the label is the same
