"""Shared fixtures and image builders: real pixels from scikit-image's bundled sample
images, and hypothesis strategies for images of every accepted kind."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
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


def with_channels(image_u8: np.ndarray, channels: int) -> np.ndarray:
    """Grey (H x W: the green channel), RGB or RGBA (a ramp of alpha values) from an RGB
    uint8 image."""
    if channels == 1:
        return image_u8[..., 1]
    if channels == 3:
        return image_u8
    alpha = (np.arange(image_u8.shape[0] * image_u8.shape[1]) % 251).astype(np.uint8)
    return np.dstack([image_u8, alpha.reshape(image_u8.shape[:2])])


def image_shapes(max_side: int, channels=(None, 1, 3, 4)):
    """Hypothesis strategy: (height, width, channels) with sides 1..`max_side`; channels
    None stands for an H x W image."""
    return st.tuples(st.integers(1, max_side), st.integers(1, max_side), st.sampled_from(channels))


def image_arrays(shapes, *, dtypes=DTYPES, floats=(0.0, 1.0), float_width=None):
    """Hypothesis strategy: images of `shapes` (see :func:`image_shapes`) and `dtypes`;
    integers over their whole range, floats in `floats`, drawn at the dtype's width (or
    `float_width` bits)."""

    @st.composite
    def draw_image(draw):
        height, width, channels = draw(shapes)
        dtype = np.dtype(draw(st.sampled_from(dtypes)))
        shape = (height, width) if channels is None else (height, width, channels)
        if dtype.kind == "u":
            elements = st.integers(0, np.iinfo(dtype).max)
        else:
            bits = float_width or dtype.itemsize * 8
            elements = st.floats(*floats, width=bits)
        return draw(arrays(dtype, shape, elements=elements))

    return draw_image()


def roughness(patch: np.ndarray) -> float:
    """Mean absolute step between horizontal neighbours: texture and noise."""
    return np.abs(np.diff(patch, axis=1)).mean()


def strongest_step(image: np.ndarray) -> float:
    """The largest step between horizontal neighbours of an RGB image's green channel."""
    return np.abs(np.diff(image[:, :, 1], axis=1)).max()


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
