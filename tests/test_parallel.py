"""The package's thread pool and its row bands and strips."""

import os
import select
import threading

import numpy as np
import pytest

from skinsmooth_core._parallel import for_bands, for_strips, run_all, run_parallel, worker_count

pytestmark = pytest.mark.numerical


@pytest.mark.parametrize("height, min_rows", [(1, 1), (7, 1), (100, 3), (100, 60), (3, 50)])
@pytest.mark.parametrize("per_worker", [1, 2, 8])
def test_row_bands_cover_each_row_once(height, min_rows, per_worker):
    seen = np.zeros(height, int)
    bands = []

    def visit(start, stop):
        assert stop - start >= min(min_rows, height)
        seen[start:stop] += 1
        bands.append(start)

    for_bands(visit, height, min_rows=min_rows, per_worker=per_worker)
    assert seen.tolist() == [1] * height
    assert len(bands) == max(1, min(per_worker * worker_count(), height // min_rows))


@pytest.mark.parametrize(
    "height, row_bytes, min_rows", [(1, 1, 1), (7, 1 << 20, 1), (100, 5000, 3), (100, 1 << 30, 16)]
)
def test_strips_cover_each_row_once(height, row_bytes, min_rows):
    seen = np.zeros(height, int)

    def visit(start, stop):
        assert stop - start >= min(min_rows, height - start)
        seen[start:stop] += 1

    for_strips(visit, height, row_bytes, min_rows=min_rows)
    assert seen.tolist() == [1] * height


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


def test_run_all_returns_each_result_in_order_and_runs_on_the_pool():
    names = []

    def step(i):
        names.append(threading.current_thread().name)
        return i * i

    calls = [lambda i=i: step(i) for i in range(2 * worker_count() + 3)]
    assert run_all(calls) == [i * i for i in range(len(calls))]
    if worker_count() > 1:
        assert all(name.startswith("skinsmooth") for name in names)
    assert run_all([]) == []
    assert run_all([lambda: None]) == [None]


def test_run_all_reraises_the_failure_after_the_other_calls():
    ended = []

    def fail():
        raise RuntimeError("step failed")

    with pytest.raises(RuntimeError, match="step failed"):
        run_all([fail] + [lambda i=i: ended.append(i) for i in range(5)])
    assert sorted(ended) == list(range(5))
