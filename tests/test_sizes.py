"""Sizes larger than the image: every window filter and the pipeline stay fast and small.

A window wider than the image spans nothing more than the whole image, so any radius past the
image's larger side acts as that side less one (``_image.window_radius``): the cost is bounded
by the image, never by the number asked for (issue 17: radius 10**6 on a 10 x 10 image used to
hang, take gigabytes or raise MemoryError).
"""

import time

import numpy as np
import pytest
from conftest import image_arrays, image_shapes
from hypothesis import given, settings
from hypothesis import strategies as st

from skinsmooth_core import smooth_skin
from skinsmooth_core.filters import (
    bilateral_filter,
    guided_filter,
    local_mean_filter,
    smart_blur,
    surface_blur,
    wls_filter,
)

HUGE = [10**3, 10**6, 10**12]
# size keyword of each filter, and the value that spans a side of n pixels
FILTERS = {
    "guided": (guided_filter, "radius", lambda n: n - 1),
    "local_mean": (local_mean_filter, "radius", lambda n: n - 1),
    "surface": (surface_blur, "radius", lambda n: n - 1),
    "smart": (smart_blur, "radius", lambda n: n - 1),
    "bilateral_exact": (
        lambda image, **kw: bilateral_filter(image, mode="exact", **kw),
        "sigma_spatial",
        None,
    ),
    "bilateral_separable": (
        lambda image, **kw: bilateral_filter(image, mode="separable", **kw),
        "sigma_spatial",
        None,
    ),
}
# One example's time limit: the work on a <= 12 x 12 image is milliseconds; the kernels are
# compiled (or loaded from the cache) by the warm-up fixture before the examples run.
DEADLINE_MS = 3000


@pytest.fixture(scope="module", autouse=True)
def _compiled():
    for dtype in (np.float32, np.float64, np.uint8):
        for shape in ((6, 5), (6, 5, 3)):
            image = np.zeros(shape, dtype)
            for function, keyword, _ in FILTERS.values():
                function(image, **{keyword: 2})


@pytest.mark.parametrize("name", FILTERS)
@pytest.mark.parametrize("size", HUGE)
def test_huge_window_acts_as_the_whole_image(name, size):
    function, keyword, spanning = FILTERS[name]
    image = np.random.default_rng(1).random((10, 7, 3))
    start = time.perf_counter()
    out = function(image, **{keyword: size})
    assert time.perf_counter() - start < DEADLINE_MS / 1000
    assert out.shape == image.shape and np.isfinite(out).all()
    if spanning is not None:  # the same as the window that just spans the image
        np.testing.assert_array_equal(out, function(image, **{keyword: spanning(10)}))


def test_huge_sigma_is_a_plain_range_limited_mean():
    """sigma_spatial = 1e300 (its square overflows a double): flat spatial weights, no error."""
    image = np.random.default_rng(2).random((9, 8, 3))
    for mode in ("exact", "separable"):
        out = bilateral_filter(image, sigma_spatial=1e300, sigma_color=1e300, mode=mode)
        assert np.isfinite(out).all()
        assert np.all(out >= image.min(axis=(0, 1))) and np.all(out <= image.max(axis=(0, 1)))


def test_huge_eps_gives_the_window_mean_not_nan():
    image = np.random.default_rng(3).random((9, 8, 3))
    out = guided_filter(image, radius=10**9, eps=1e300)
    assert np.isfinite(out).all()


_TINY_IMAGES = image_arrays(image_shapes(12, (None, 3)), dtypes=[np.float32, np.float64, np.uint8])


@settings(max_examples=40, deadline=DEADLINE_MS)
@given(
    image=_TINY_IMAGES,
    name=st.sampled_from(sorted(FILTERS)),
    size=st.integers(0, 10**15) | st.floats(1e3, 1e300),
)
def test_any_size_on_tiny_images(image, name, size):
    function, keyword, _ = FILTERS[name]
    size = size if keyword == "sigma_spatial" else int(size)
    if keyword == "sigma_spatial" and size <= 0:
        size = 1e-3
    out = function(image, **{keyword: size})
    assert out.shape == image.shape and out.dtype == image.dtype


@settings(max_examples=20, deadline=None)
@given(
    image=_TINY_IMAGES,
    method=st.sampled_from(["guided", "bilateral", "surface", "local-mean", "wls", "smart"]),
    scale=st.floats(1e2, 1e300),
)
def test_pipeline_any_scale_on_tiny_images(image, method, scale):
    start = time.perf_counter()
    out = smooth_skin(image, mask="none", scale=scale, method=method)
    # the first example of a method may compile kernels: a generous limit, still no hang
    assert time.perf_counter() - start < 20
    assert out.shape == image.shape and out.dtype == image.dtype


def test_pipeline_huge_radius_and_wls_lambda_finish():
    image = np.random.default_rng(4).random((32, 32, 3)).astype(np.float32)
    for options in [{"radius": 10**6}, {"method": "bilateral", "sigma_spatial": 1e300}]:
        assert smooth_skin(image, mask="none", **options).shape == image.shape
    out = wls_filter(image, lam=1e12)
    assert np.isfinite(out).all()
