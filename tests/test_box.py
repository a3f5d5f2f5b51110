"""Shared box-sum and tiling helpers of the filters, against plain numpy references."""

import os
import select
import threading

import numpy as np
import pytest
from bounds import U64, gamma, running_window_sum

from skinsmooth_core.filters._box import (
    for_row_bands,
    map_tiles,
    reflect_index,
    run_parallel,
    worker_count,
)
from skinsmooth_core.filters._sliding import reflect, window_row

pytestmark = pytest.mark.numerical


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
        # the same side**2 values in [0, 1) summed by numpy on a tile and on the padded image,
        # whose strides may give another order: gamma(side**2 - 1) of the sum each
        bound = 2 * gamma(side**2 - 1, U64) * side**2
        np.testing.assert_allclose(got, expected, rtol=0, atol=bound)


def test_run_parallel_reuses_one_pool_of_worker_threads():
    threads = set()

    def visit(_):
        threads.add(threading.current_thread().name)

    for _ in range(5):
        run_parallel(visit, range(16))
    assert len(threads) <= worker_count()
    if worker_count() > 1:
        assert all(name.startswith("skinsmooth") for name in threads)


def test_run_parallel_runs_nested_calls_on_the_worker():
    """A filter called from inside a band (or a pipeline strip) must not deadlock the pool."""
    seen = []

    def outer(i):
        run_parallel(lambda j: seen.append((i, j)), range(4))

    runner = threading.Thread(target=run_parallel, args=(outer, range(2 * worker_count() + 1)))
    runner.start()
    runner.join(timeout=30)
    assert not runner.is_alive(), "nested run_parallel deadlocked"
    assert sorted(seen) == [(i, j) for i in range(2 * worker_count() + 1) for j in range(4)]


def test_run_parallel_reraises_after_every_call_ended():
    ended = []

    def visit(i):
        if i == 0:
            raise ValueError("band 0 failed")
        ended.append(i)

    with pytest.raises(ValueError, match="band 0 failed"):
        run_parallel(visit, range(8))
    assert sorted(ended) == list(range(1, 8))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_run_parallel_works_in_a_forked_child():
    run_parallel(lambda _: None, range(4))  # the parent's pool exists before the fork
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: the parent's pool threads are gone; a new pool must serve
        try:
            total = []
            run_parallel(total.append, range(8))
            os.write(write, bytes([len(total)]))
        finally:
            os._exit(0)
    os.close(write)
    try:
        ready = select.select([read], [], [], 30)[0]
        assert ready, "run_parallel hung in a forked child"
        assert os.read(read, 1) == bytes([8])
    finally:
        os.close(read)
        os.waitpid(pid, 0)
