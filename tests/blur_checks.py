"""Shared pieces of the surface_blur and smart_blur tests: a plain reference, its error
bounds and input tables."""

import numpy as np
from bounds import (
    U64,
    gamma,
    output,
    perturbed_weights,
    range_weighted_mean,
    tent_weight,
    unit_roundoff,
    weighted_mean,
)
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skinsmooth_core._image import to_float


def brute_force_window_mean(image, radius, range_weight, guide=None):
    """sum_i w(g_i - g) x_i / sum_i w(g_i - g) over the square window, one offset at a time.

    The weights compare the pixels of `guide` (default: `image` itself). float64,
    H x W x C, borders reflected without repeating the edge (numpy "reflect").
    """
    image = np.asarray(image, np.float64)
    guide = image if guide is None else np.asarray(guide, np.float64)
    pad = ((radius, radius), (radius, radius), (0, 0))
    padded, guide_padded = np.pad(image, pad, mode="reflect"), np.pad(guide, pad, mode="reflect")
    height, width = image.shape[:2]
    num = np.zeros_like(image)
    den = np.zeros_like(image)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            neighbour = padded[dy : dy + height, dx : dx + width]
            weight = range_weight(guide_padded[dy : dy + height, dx : dx + width] - guide)
            num += weight * neighbour
            den += weight
    return num / den


def kernel_input(image):
    """The colour channels (H x W x C) exactly as the kernels get them, in float64 on [0, 1]
    (integers: float32 k * float32(1 / max)), so that the reference sees the same pixels."""
    return to_float(colour_of(image)).astype(np.float64)


def as_unit(out):
    """The colour channels of a filter's output on the [0, 1] scale, in float64."""
    colour = colour_of(out)
    scale = np.iinfo(colour.dtype).max if colour.dtype.kind == "u" else 1
    return colour.astype(np.float64) / scale


def blur_bound(dtype, radius, reach, tent):
    """|output - brute force| on [0, 1] for a `dtype` image (tests/bounds.py): the kernel's
    range-weighted mean in its precision (tent weights rounded, step weights exact), the
    float64 reference's own arithmetic (sum w x / sum w, plus its rounded tent weights), the
    store to `dtype` and, for integers, :func:`as_unit`'s float64 division. `reach` bounds
    |x_i - x| for the taps that count (the tent's width, the step's limit)."""
    taps = (2 * radius + 1) ** 2
    u = unit_roundoff(dtype)
    ours = range_weighted_mean(taps, u, reach, tent_weight(u) if tent else 0.0)
    reference = weighted_mean(taps, U64)
    if tent:
        spread = 2 * min(reach, 1.0) / (1 - gamma(5, U64))
        reference += perturbed_weights(spread, taps - 1, tent_weight(U64))
    return output(dtype, ours + reference) + (U64 if np.dtype(dtype).kind == "u" else 0.0)


def colour_of(image):
    """The colour channels of an image as H x W x C (alpha dropped)."""
    if image.ndim == 2:
        return image[:, :, None]
    return image[:, :, :3]


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
