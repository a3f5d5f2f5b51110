"""The compiled line closings and openings of the healing stage against scipy's grey
morphology with line footprints (mode="nearest"): min and max are exact, so are they."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage as ndi

from skinsmooth_core.filters._lines import directional_closing, directional_opening

pytestmark = pytest.mark.numerical


def _lines(length):
    diagonal = np.eye(length, dtype=bool)
    row = np.ones((1, length), bool)
    return [row, row.T, diagonal, diagonal[::-1]]


def reference(values, length, closing):
    """scipy, one footprint per direction, combined as the healing stage needs it."""
    operation, combine = (
        (ndi.grey_closing, np.minimum) if closing else (ndi.grey_opening, np.maximum)
    )
    done = [operation(values, footprint=line, mode="nearest") for line in _lines(length)]
    return combine.reduce(done)


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(1, 40),
    width=st.integers(1, 40),
    half=st.integers(0, 12),
    levels=st.sampled_from([0, 3, 255]),  # 0: continuous values; else many ties
    seed=st.integers(0, 2**32 - 1),
)
def test_equals_scipy_exactly(height, width, half, levels, seed):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(height, width)).astype(np.float32)
    if levels:
        values = np.round(values * levels).astype(np.float32)
    length = 2 * half + 1  # also longer than the image
    np.testing.assert_array_equal(
        directional_closing(values, length), reference(values, length, True)
    )
    np.testing.assert_array_equal(
        directional_opening(values, length), reference(values, length, False)
    )


def test_a_photo_sized_array(astronaut):
    # the healing stage's sizes: a working image of several hundred pixels, spots of 9-31 px
    grey = (astronaut[:, :, 1].astype(np.float32) / 255)[:300, :417]
    red = (astronaut[:, :, 0].astype(np.float32) - astronaut[:, :, 1]) / 255
    for length in (9, 31):
        np.testing.assert_array_equal(
            directional_closing(grey, length), reference(grey, length, True)
        )
        np.testing.assert_array_equal(
            directional_opening(red, length), reference(red, length, False)
        )


def test_blobs_go_lines_stay():
    values = np.ones((31, 31), np.float32)
    values[5:8, 5:8] = 0.2  # a dark spot, 3 px: shorter than the segment every way
    values[20, 2:29] = 0.0  # a dark line, 27 px, along the rows
    for x in range(10, 25):
        values[x - 8, x] = 0.5  # a diagonal line, 15 px
    closed = directional_closing(values, 7)
    assert (closed[5:8, 5:8] == 1).all()
    assert (closed[20, 5:26] == 0).all()
    assert all(closed[x - 8, x] == 0.5 for x in range(13, 22))
    opened = directional_opening(1 - values, 7)  # the same, bright
    np.testing.assert_array_equal(opened, 1 - closed)


def test_length_one_is_the_identity_and_bounds_hold():
    values = np.random.default_rng(1).random((17, 23)).astype(np.float32)
    np.testing.assert_array_equal(directional_closing(values, 1), values)
    np.testing.assert_array_equal(directional_opening(values, 1), values)
    # away from the edges (where "nearest" takes neighbours off the diagonals, for scipy
    # too) a closing only lifts, an opening only lowers
    inner = np.s_[2:-2, 2:-2]
    assert (directional_closing(values, 5)[inner] >= values[inner]).all()
    assert (directional_opening(values, 5)[inner] <= values[inner]).all()


def test_empty_and_other_dtypes():
    assert directional_closing(np.zeros((0, 5), np.float32), 3).shape == (0, 5)
    values = np.arange(30, dtype=np.float64).reshape(5, 6) % 7
    out = directional_closing(values, 3)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, reference(values.astype(np.float32), 3, True))


@pytest.mark.parametrize("length", [0, 2, -3])
def test_bad_length(length):
    with pytest.raises(ValueError, match="odd number"):
        directional_closing(np.zeros((4, 4), np.float32), length)


def test_bad_shape():
    with pytest.raises(ValueError, match="H x W"):
        directional_opening(np.zeros((4, 4, 3), np.float32), 3)
