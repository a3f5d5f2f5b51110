"""Shared fixtures: real pixels from scikit-image's bundled sample images."""

from pathlib import Path

import numpy as np
import pytest
from skimage import data

DTYPES = [np.uint8, np.uint16, np.float32, np.float64]


def as_dtype(image_u8: np.ndarray, dtype) -> np.ndarray:
    """Convert an 8-bit image to `dtype` on the usual scale (uint16 spans 0..65535)."""
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return image_u8.copy()
    if dtype == np.uint16:
        return image_u8.astype(np.uint16) * 257
    return (image_u8 / 255.0).astype(dtype)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """The sample portrait, 512 x 512 RGB uint8."""
    return data.astronaut()


@pytest.fixture(scope="session")
def astronaut_small(astronaut) -> np.ndarray:
    """A 96 x 96 crop of the face (skin, eye, hair edges), for brute-force references."""
    return np.ascontiguousarray(astronaut[60:156, 170:266])


def spawned_children(pid: int) -> list[int]:
    """Worker processes of process `pid`: its children running multiprocessing's spawn_main
    (a ``--jobs`` pool or a Dask LocalCluster), read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found
