"""Batches on a real Dask cluster: a LocalCluster of worker processes (processes=True, one
thread each), never a mock or the synchronous scheduler. Bad files, a worker killed
mid-batch (SIGKILL), Ctrl-C and resuming, the report's rows, one model load per worker."""

import csv
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import spawned_children

distributed = pytest.importorskip("distributed")

from skinsmooth_core.batch import ClusterError, connect, retouch_batch  # noqa: E402
from skinsmooth_core.cli import main  # noqa: E402
from skinsmooth_core.io import read_image, write_image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COLOR = ["--mask", "color"]
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def run(*args):
    return main([str(a) for a in args])


def rows(path):
    with open(path, newline="", encoding="utf-8") as file:
        return {os.path.basename(row["input"]): row for row in csv.DictReader(file)}


def _cluster(workers=2):
    return distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=50,
    )


@pytest.fixture(scope="module")
def cluster():
    with _cluster() as local:
        yield local


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster) as client:
        yield client


@pytest.fixture
def shoot(tmp_path, astronaut):
    folder = tmp_path / "shoot"
    folder.mkdir()
    face = np.ascontiguousarray(astronaut[20:148, 160:272])
    for i, name in enumerate(["a.png", "b.jpg", "c.tif", "d.png"]):
        write_image(folder / name, np.roll(face, 9 * i, axis=1))
    (folder / "list.jpg").write_text("eggs, milk, bread\n")
    (folder / "empty.png").write_bytes(b"")
    return folder


def _sources(folder):
    return sorted(p for p in os.listdir(folder) if not p.startswith("."))


# ---------------------------------------------------------------- mixed batch, report


def test_mixed_batch_on_the_cluster_matches_the_local_batch(tmp_path, shoot, cluster, capsys):
    options = ["--preset", "strong", "--texture", "0.2", "--save-mask", *COLOR]
    report = tmp_path / "report.csv"
    address = cluster.scheduler_address
    assert run(shoot, "-o", tmp_path / "dask", "--dask", address, "--report", report, *options) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert lines[-1] == "skinsmooth: 4 done, 2 failed"
    [empty] = [line for line in lines if "empty.png" in line]
    [text] = [line for line in lines if "list.jpg" in line]
    assert "file is empty" in empty and "not an image file" in text
    assert len(lines) == 3 and "Traceback" not in err
    # the same options and presets as the local batch: the same pixels
    assert run(shoot, "-o", tmp_path / "here", *options) == 1
    capsys.readouterr()
    assert _sources(tmp_path / "dask") == _sources(tmp_path / "here")
    for name in _sources(tmp_path / "here"):
        np.testing.assert_array_equal(
            read_image(tmp_path / "dask" / name)[0], read_image(tmp_path / "here" / name)[0]
        )
    table = rows(report)
    assert sorted(table) == sorted(_sources(shoot))
    for name in ("a.png", "b.jpg", "c.tif", "d.png"):
        row = table[name]
        assert row["status"] == "done" and row["error"] == ""
        assert row["output"] == str(tmp_path / "dask" / name)
        assert float(row["megapixels"]) == pytest.approx(128 * 112 / 1e6, abs=5e-4)
        assert float(row["scale"]) > 0 and 0 < float(row["skin_share"]) < 1
        assert float(row["seconds"]) > 0
    assert table["empty.png"]["status"] == "failed"
    assert table["empty.png"]["error"] == empty
    assert table["list.jpg"]["error"] == text


def test_python_api_on_the_cluster_loads_the_model_once_per_worker(tmp_path, shoot, client):
    (shoot / "list.jpg").unlink()
    (shoot / "empty.png").unlink()
    seen = []
    outcomes = retouch_batch([shoot], tmp_path / "out", client, on_outcome=seen.append)
    assert [o.status for o in outcomes] == ["done"] * 4
    assert [os.path.basename(o.source) for o in outcomes] == ["a.png", "b.jpg", "c.tif", "d.png"]
    assert len(seen) == 4
    here = retouch_batch([shoot], tmp_path / "here")  # mask "auto": the learned model
    for ours, theirs in zip(outcomes, here, strict=True):
        assert ours.scale == pytest.approx(theirs.scale) and ours.skin == pytest.approx(theirs.skin)
        np.testing.assert_array_equal(read_image(ours.target)[0], read_image(theirs.target)[0])

    def loads():
        from skinsmooth_core.masks.segmenter import default_segmenter

        return default_segmenter.cache_info().misses

    assert set(client.run(loads).values()) == {1}  # loaded once in each worker process
    retouch_batch([shoot], tmp_path / "again", client)
    assert set(client.run(loads).values()) == {1}


def test_unreachable_scheduler():
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler"):
        with connect("tcp://127.0.0.1:9", timeout=1):
            pass


# ---------------------------------------------------------------- a worker killed


@pytest.mark.slow
def test_a_worker_killed_mid_batch_loses_nothing(tmp_path, astronaut):
    folder = tmp_path / "in"
    folder.mkdir()
    big = np.tile(astronaut, (2, 2, 1))[:768, :768]  # long enough to be killed mid-task
    for i in range(6):
        write_image(folder / f"p{i}.png", np.roll(big, 37 * i, axis=1))
    out = tmp_path / "out"
    killed = []
    with _cluster() as local, distributed.Client(local) as client:
        pids = client.run(os.getpid)
        lock = threading.Lock()

        def kill_a_busy_worker(outcome):
            with lock:
                if killed:
                    return
                # after the first photo: kill a worker while it is retouching another
                for address, keys in client.processing().items():
                    if keys and address in pids:
                        os.kill(pids[address], signal.SIGKILL)
                        killed.append(pids[address])
                        return

        outcomes = retouch_batch([folder], out, client, mask="color", on_outcome=kill_a_busy_worker)
        assert killed, "no worker was busy to be killed"
        assert not _alive(killed[0])  # it really died
    assert [o.status for o in outcomes] == ["done"] * 6, [o.error for o in outcomes]
    assert sorted(os.listdir(out)) == [f"p{i}.png" for i in range(6)]  # no .part left
    for i in range(6):
        image, _ = read_image(out / f"p{i}.png")
        assert image.shape == (768, 768, 3)


# ---------------------------------------------------------------- Ctrl-C, then resume


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# Enough photos that a batch is still running when Ctrl-C arrives, however fast one photo is
# (6 were done before the signal on a loaded machine once the retouch got faster).
PHOTOS = 14


@pytest.mark.slow
def test_ctrl_c_cancels_cleanly_and_skip_existing_resumes(tmp_path, astronaut, cluster, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    big = np.tile(astronaut, (2, 2, 1))[:768, :768]
    for i in range(PHOTOS):
        write_image(folder / f"p{i}.png", np.roll(big, 37 * i, axis=1))
    (folder / "bad.png").write_text("not a picture")
    out, report = tmp_path / "out", tmp_path / "first.csv"
    command = [sys.executable, "-m", "skinsmooth_core", str(folder), "-o", str(out)]
    command += ["--dask", "local:2", "--report", str(report), *COLOR]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # its own session, like a terminal: Ctrl-C reaches the command and all its processes.
    # A shell starts background jobs with SIGINT ignored, and an ignored signal stays
    # ignored across exec; a handler does not, so with one set here the command starts
    # with the default Ctrl-C however pytest was started.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        started = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            text=True,
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline, workers = time.monotonic() + 180, set()
    while started.poll() is None and time.monotonic() < deadline:
        workers.update(spawned_children(started.pid))
        if out.is_dir() and any(name.endswith(".png") for name in os.listdir(out)):
            break
        time.sleep(0.05)
    os.killpg(started.pid, signal.SIGINT)
    stdout, stderr = started.communicate(timeout=120)
    assert started.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "skinsmooth: interrupted"
    assert "Traceback" not in stderr and stdout == ""
    assert len(workers) == 2 and not any(_alive(pid) for pid in workers)  # none left behind
    finished = sorted(os.listdir(out))
    assert 1 <= len(finished) < PHOTOS and all(name.endswith(".png") for name in finished)
    for name in finished:  # whole files only
        assert read_image(out / name)[0].shape == (768, 768, 3)
    first = rows(report)
    assert sorted(first) == sorted(os.listdir(folder))
    assert {row["status"] for row in first.values()} <= {"done", "failed", "cancelled"}
    assert sum(row["status"] == "cancelled" for row in first.values()) >= PHOTOS - len(finished)
    for name, row in first.items():
        if row["status"] == "done":
            assert name in finished

    # resume on a running cluster: what was written is skipped, the rest is done
    again = tmp_path / "again.csv"
    args = [folder, "-o", out, "--skip-existing", "--dask", cluster.scheduler_address]
    assert run(*args, "--report", again, *COLOR) == 1  # bad.png still fails
    err = capsys.readouterr().err
    skipped = len(finished)
    expected = f"skinsmooth: {PHOTOS - skipped} done, {skipped} skipped, 1 failed"
    assert err.strip().splitlines()[-1] == expected
    second = rows(again)
    assert {name for name, row in second.items() if row["status"] == "skipped"} == set(finished)
    assert second["bad.png"]["status"] == "failed"
    assert sorted(os.listdir(out)) == sorted(f"p{i}.png" for i in range(PHOTOS))


def test_quiet_interrupt_handler_is_set_only_while_the_cluster_runs():
    """The command's own cluster silences its shutdown logs on Ctrl-C; the handler that
    does it is in place only while the cluster runs, and Ctrl-C still interrupts."""
    import logging

    from skinsmooth_core.batch._dask import _SHUTDOWN_LOGGERS, _interrupt_quietly, local_client

    # as in a terminal (a shell's background job would start pytest with SIGINT ignored)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with local_client(1, quiet_interrupt=True):
            assert signal.getsignal(signal.SIGINT) is _interrupt_quietly
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)
    levels = {name: logging.getLogger(name).level for name in _SHUTDOWN_LOGGERS}
    try:
        with pytest.raises(KeyboardInterrupt):
            _interrupt_quietly(signal.SIGINT, None)
        assert all(logging.getLogger(n).level > logging.CRITICAL for n in _SHUTDOWN_LOGGERS)
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
