"""`skinsmooth --jobs N` survives dead worker processes (killed for real with SIGKILL)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import spawned_children

from skinsmooth_core.io import read_image, write_image

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _kill(pid: int) -> bool:
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False


@pytest.fixture
def batch(tmp_path, astronaut):
    folder = tmp_path / "in"
    folder.mkdir()
    big = np.tile(astronaut, (2, 2, 1))  # 1024 x 1024: long enough to be killed mid-task
    for i in range(8):
        write_image(folder / f"p{i}.png", np.roll(big, 37 * i, axis=1))
    return folder


def _start(inputs, out, *extra):
    command = [sys.executable, "-m", "skinsmooth_core", str(inputs), "-o", str(out)]
    command += ["--jobs", "2", "--mask", "color", *extra]
    return subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_a_worker_killed_mid_batch_loses_nothing(batch, tmp_path):
    out = tmp_path / "out"
    command = _start(batch, out)
    deadline = time.monotonic() + 120
    killed = False
    while not killed and command.poll() is None and time.monotonic() < deadline:
        # kill a worker once the first photo is written: the others are then mid-task
        if out.is_dir() and any(name.endswith(".png") for name in os.listdir(out)):
            killed = any(_kill(pid) for pid in spawned_children(command.pid)[:1])
        time.sleep(0.02)
    stdout, stderr = command.communicate(timeout=300)
    assert killed, "the batch ended before a worker could be killed"
    assert command.returncode == 0, stderr
    assert sorted(os.listdir(out)) == [f"p{i}.png" for i in range(8)]  # no .part files left
    assert "a worker process died while" in stderr and "retrying that file alone" in stderr
    # the files in flight when the pool broke (at most two per worker), each named and retried
    lines = [line for line in stderr.splitlines() if "worker process died" in line]
    assert 1 <= len(lines) <= 4 and all(str(batch) in line for line in lines)
    assert stderr.strip().splitlines()[-1] == "skinsmooth: 8 done, 0 failed"
    for i in (0, 7):
        image, _ = read_image(out / f"p{i}.png")
        assert image.shape == (1024, 1024, 3)


def test_a_file_whose_worker_always_dies_is_named_and_the_batch_ends(tmp_path, astronaut):
    """Every worker is killed as soon as it starts: each file is retried alone once, then
    reported failed by name; the command ends with the right counts, no hang."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        write_image(folder / name, astronaut[:64, :64])
    out = tmp_path / "out"
    command = _start(folder, out)
    deadline = time.monotonic() + 240
    while command.poll() is None and time.monotonic() < deadline:
        for pid in spawned_children(command.pid):
            _kill(pid)
        time.sleep(0.005)
    stdout, stderr = command.communicate(timeout=60)
    assert command.returncode == 1, stderr
    lines = stderr.strip().splitlines()
    for name in ("a.png", "b.png"):
        [failure] = [line for line in lines if name in line and "died retouching it" in line]
        assert failure.startswith(str(folder / name))
    assert lines[-1] == "skinsmooth: 0 done, 2 failed"
    assert not out.exists() or os.listdir(out) == []
