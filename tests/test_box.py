"""Shared box-sum and tiling helpers of the filters, against plain numpy references."""

import numpy as np
import pytest

from skinsmooth_core.filters._box import map_tiles, reflect_index, window_sums


@pytest.mark.parametrize("size", [1, 2, 3, 7, 11, 16, 17])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_window_sums_match_explicit_sums(size, axis):
    values = np.random.default_rng(size).random((20, 19, 18)).astype(np.float32)
    got = window_sums(values, size, axis)
    windows = np.lib.stride_tricks.sliding_window_view(values.astype(np.float64), size, axis)
    np.testing.assert_allclose(got, windows.sum(axis=-1), rtol=2e-6)
    assert got.dtype == np.float32


@pytest.mark.parametrize("halo", [0, 1, 3, 9])
def test_map_tiles_sees_reflected_neighbourhoods(halo, monkeypatch):
    """Every tile gets its halo from the image, reflected (dcba|abcd) at the border, also
    when the tiles are tiny and the halo is wider than the image."""
    from skinsmooth_core.filters import _box

    image = np.random.default_rng(halo).random((13, 7, 2))
    rows = reflect_index(np.arange(-halo, 13 + halo), 13)
    columns = reflect_index(np.arange(-halo, 7 + halo), 7)
    padded = image[rows[:, None], columns]
    side = 2 * halo + 1
    windows = np.lib.stride_tricks.sliding_window_view(padded, (side, side), axis=(0, 1))
    expected = windows.sum(axis=(-2, -1))

    def box(tile):
        return window_sums(window_sums(tile, side, 0), side, 1)

    for rows_min, tile_bytes in [(16, 1 << 17), (1, 1)]:
        monkeypatch.setattr(_box, "_MIN_STRIP_ROWS", rows_min)
        monkeypatch.setattr(_box, "_TILE_BYTES", tile_bytes)
        got = map_tiles(box, [image], halo, np.empty_like(image))
        np.testing.assert_allclose(got, expected, rtol=1e-12)
