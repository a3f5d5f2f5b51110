"""Shared pieces of the surface_blur and smart_blur tests: a plain reference and input tables."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays


def brute_force_window_mean(image, radius, range_weight):
    """sum_i w(x_i - x) x_i / sum_i w(x_i - x) over the square window, one offset at a time.

    float64, H x W x C, borders reflected without repeating the edge (numpy "reflect").
    """
    image = np.asarray(image, np.float64)
    padded = np.pad(image, ((radius, radius), (radius, radius), (0, 0)), mode="reflect")
    height, width = image.shape[:2]
    num = np.zeros_like(image)
    den = np.zeros_like(image)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            neighbour = padded[dy : dy + height, dx : dx + width]
            weight = range_weight(neighbour - image)
            num += weight * neighbour
            den += weight
    return num / den


def with_channels(crop_u8, channels):
    """Grey (H x W), RGB or RGBA (random alpha) from an RGB uint8 crop."""
    if channels == 1:
        return crop_u8[:, :, 0]
    if channels == 3:
        return crop_u8
    alpha = np.random.default_rng(0).integers(0, 256, crop_u8.shape[:2], dtype=np.uint8)
    return np.dstack([crop_u8, alpha])


def colour_of(image):
    """The colour channels of an image as H x W x C (alpha dropped)."""
    if image.ndim == 2:
        return image[:, :, None]
    return image[:, :, :3]


SCALE = {np.uint8: 255.0, np.uint16: 65535.0, np.float32: 1.0, np.float64: 1.0}

# integers: the reference rounded may differ by one level; floats: round-off only
ATOL = {np.uint8: 0.501, np.uint16: 0.55, np.float32: 1e-5, np.float64: 1e-9}

BAD_PARAMETERS = [
    ({"radius": -1}, "radius"),
    ({"radius": 2.5}, "radius"),
    ({"radius": "5"}, "radius"),
    ({"radius": True}, "radius"),
    ({"threshold": 0}, "threshold"),
    ({"threshold": -0.1}, "threshold"),
    ({"threshold": np.nan}, "threshold"),
    ({"threshold": np.inf}, "threshold"),
    ({"threshold": "high"}, "threshold"),
]

BAD_IMAGES = [
    np.zeros(5),
    np.zeros((4, 4, 2)),
    np.zeros((4, 4, 5)),
    np.zeros((0, 4)),
    np.zeros((4, 4), np.int32),
    np.full((4, 4), np.nan),
    np.full((4, 4, 3), np.inf, np.float32),
    [[0.0, 1.0]],
]


# Small images of every accepted dtype and channel count, for property tests.
SMALL_IMAGES = st.one_of(
    arrays(
        dtype=st.sampled_from([np.uint8, np.uint16, np.float32, np.float64]),
        shape=st.tuples(st.integers(1, 12), st.integers(1, 12), st.sampled_from([1, 3])),
        elements={"min_value": 0, "max_value": 1, "allow_nan": False},
    ),
    arrays(np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 12))),
    arrays(np.uint16, st.tuples(st.integers(1, 12), st.integers(1, 12), st.just(4))),
)
