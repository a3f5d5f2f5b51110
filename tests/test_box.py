"""Shared box-sum and tiling helpers of the filters, against plain numpy references."""

import numpy as np
import pytest

from skinsmooth_core.filters._box import for_row_bands, map_tiles, reflect_index
from skinsmooth_core.filters._sliding import reflect, window_row


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
    np.testing.assert_allclose(got, windows.sum(axis=-1), rtol=1e-12)
    assert [reflect(i, width) for i in range(-radius, width + radius)] == index.tolist()


@pytest.mark.parametrize("height, min_rows", [(1, 1), (7, 1), (100, 3), (100, 60), (3, 50)])
def test_row_bands_cover_each_row_once(height, min_rows):
    seen = np.zeros(height, int)

    def visit(start, stop):
        assert stop - start >= min(min_rows, height)
        seen[start:stop] += 1

    for_row_bands(visit, height, min_rows)
    assert seen.tolist() == [1] * height


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
        inner = np.lib.stride_tricks.sliding_window_view(tile, (side, side), axis=(0, 1))
        return inner.sum(axis=(-2, -1))

    for rows_min, tile_bytes in [(16, 1 << 17), (1, 1)]:
        monkeypatch.setattr(_box, "_MIN_STRIP_ROWS", rows_min)
        monkeypatch.setattr(_box, "_TILE_BYTES", tile_bytes)
        got = map_tiles(box, [image], halo, np.empty_like(image))
        np.testing.assert_allclose(got, expected, rtol=1e-12)
