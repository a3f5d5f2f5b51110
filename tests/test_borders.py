"""Border modes, sliding row sums and halo tiles of the filters, against numpy references."""

import numpy as np
import pytest
from bounds import U64, gamma, running_window_sum

from skinsmooth_core.filters import _tiles
from skinsmooth_core.filters._borders import mirror, nearest, reflect, reflect_range
from skinsmooth_core.filters._sliding import window_row
from skinsmooth_core.filters._tiles import map_tiles

pytestmark = pytest.mark.numerical


def reflect_index(index: np.ndarray, size: int) -> np.ndarray:
    """scipy.ndimage's "reflect" (dcba|abcd|dcba) by numpy, for any integer indices."""
    index = np.mod(index, 2 * size)
    return np.where(index >= size, 2 * size - 1 - index, index)


@pytest.mark.parametrize("size", [1, 2, 5])
@pytest.mark.parametrize(
    "helper, numpy_mode", [(reflect, "symmetric"), (mirror, "reflect"), (nearest, "edge")]
)
def test_border_modes_match_numpy_pad(helper, numpy_mode, size):
    """Each border helper reads what np.pad puts there, also past more than one period."""
    pad = 3 * size + 2
    expected = np.pad(np.arange(size), pad, mode=numpy_mode)
    assert [helper(i, size) for i in range(-pad, size + pad)] == expected.tolist()


def test_reflect_range_is_reflect_over_a_range():
    assert reflect_range(-9, 14, 5).tolist() == [reflect(i, 5) for i in range(-9, 14)]
    assert reflect_range(3, 3, 5).size == 0


@pytest.mark.parametrize("width", [1, 2, 5, 40])
@pytest.mark.parametrize("radius", [0, 1, 3, 9])
def test_window_row_matches_explicit_reflected_sums(width, radius):
    """Sliding row sums against explicit windows, reflected at both ends, also when the
    radius exceeds the row."""
    columns = np.random.default_rng(width + radius).random((width, 3))
    index = reflect_index(np.arange(-radius, width + radius), width)
    windows = np.lib.stride_tricks.sliding_window_view(columns[index], 2 * radius + 1, axis=0)
    got = np.empty_like(columns)
    window_row(columns, radius, got)
    # float64 sums of count values in [0, 1): the kernel's sliding sum (running_window_sum,
    # one row: height 0) and numpy's sum (count - 1 additions, any order)
    count = 2 * radius + 1
    bound = (running_window_sum(count, 0, width) + gamma(count - 1, U64)) * count
    np.testing.assert_allclose(got, windows.sum(axis=-1), rtol=0, atol=bound)
    assert [reflect(i, width) for i in range(-radius, width + radius)] == index.tolist()


@pytest.mark.parametrize("halo", [0, 1, 3, 9])
def test_map_tiles_sees_reflected_neighbourhoods(halo, monkeypatch):
    """Every tile gets its halo from the image, reflected (dcba|abcd) at the border, also
    when the tiles are tiny and the halo is wider than the image."""
    image = np.random.default_rng(halo).random((13, 7, 2))
    rows = reflect_index(np.arange(-halo, 13 + halo), 13)
    columns = reflect_index(np.arange(-halo, 7 + halo), 7)
    padded = image[rows[:, None], columns]
    side = 2 * halo + 1
    windows = np.lib.stride_tricks.sliding_window_view(padded, (side, side), axis=(0, 1))
    expected = windows.sum(axis=(-2, -1))

    def box(tile):
        inner = np.lib.stride_tricks.sliding_window_view(tile, (side, side), axis=(0, 1))
        return inner.sum(axis=(-2, -1))

    for rows_min, tile_bytes in [(16, 1 << 17), (1, 1)]:
        monkeypatch.setattr(_tiles, "_MIN_TILE_ROWS", rows_min)
        monkeypatch.setattr(_tiles, "_TILE_BYTES", tile_bytes)
        got = map_tiles(box, [image], halo, np.empty_like(image))
        # the same side**2 values in [0, 1) summed by numpy on a tile and on the padded image,
        # whose strides may give another order: gamma(side**2 - 1) of the sum each
        bound = 2 * gamma(side**2 - 1, U64) * side**2
        np.testing.assert_allclose(got, expected, rtol=0, atol=bound)
