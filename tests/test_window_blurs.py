"""What surface_blur and smart_blur share (range-weighted window means): identity, shape,
dtype and range, constants, smoothing that keeps edges, argument checks."""

import numpy as np
import pytest
from blur_checks import BAD_IMAGES, BAD_PARAMETERS, SMALL_IMAGES, colour_of
from conftest import roughness, strongest_step
from hypothesis import given, settings
from hypothesis import strategies as st

from skinsmooth_core.filters import smart_blur, surface_blur

pytestmark = pytest.mark.numerical

BLURS = pytest.mark.parametrize("blur", [surface_blur, smart_blur], ids=["surface", "smart"])


@BLURS
def test_radius_zero_is_identity(astronaut_small, blur):
    np.testing.assert_array_equal(blur(astronaut_small, radius=0), astronaut_small)


@pytest.mark.parametrize(
    "blur, threshold", [(surface_blur, 15 / 255), (smart_blur, 25 / 255)], ids=["surface", "smart"]
)
def test_smooths_skin_and_keeps_edges(astronaut, blur, threshold):
    image = astronaut.astype(np.float32) / 255
    out = blur(image, radius=5, threshold=threshold)
    skin = (slice(110, 150), slice(220, 260))  # cheek: low-contrast texture
    assert roughness(out[skin]) < 0.8 * roughness(image[skin])
    # the strongest edges keep most of their step
    assert strongest_step(out) > 0.7 * strongest_step(image)


@BLURS
@settings(max_examples=40, deadline=None)
@given(image=SMALL_IMAGES, radius=st.integers(0, 4), threshold=st.floats(1e-3, 2.0))
def test_shape_dtype_and_range_kept(blur, image, radius, threshold):
    # exact, no slack: the kernel clips each channel to its input range (the exact mean lies
    # in it), and the integer store maps the range's ends back to their own levels
    out = blur(image, radius=radius, threshold=threshold)
    assert out.shape == image.shape and out.dtype == image.dtype
    assert colour_of(out).min() >= colour_of(image).min()
    assert colour_of(out).max() <= colour_of(image).max()
    if image.ndim == 3 and image.shape[2] == 4:
        np.testing.assert_array_equal(out[..., 3], image[..., 3])


@BLURS
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=20, deadline=None)
@given(
    value=st.floats(0, 1),
    shape=st.tuples(st.integers(1, 10), st.integers(1, 10), st.sampled_from([None, 1, 3])),
    radius=st.integers(0, 4),
    threshold=st.floats(1e-3, 10.0),
)
def test_constant_stays_constant(blur, dtype, value, shape, radius, threshold):
    # exact in any evaluation order: every difference is 0, every weight exactly 1, so the
    # kernel adds exactly 0 to the pixel
    image = np.full(shape if shape[2] else shape[:2], value, dtype)
    np.testing.assert_array_equal(blur(image, radius, threshold), image)


@BLURS
@pytest.mark.parametrize(("kwargs", "message"), BAD_PARAMETERS)
def test_bad_parameters(astronaut_small, blur, kwargs, message):
    with pytest.raises(ValueError, match=message):
        blur(astronaut_small, **kwargs)


@BLURS
@pytest.mark.parametrize("image", BAD_IMAGES)
def test_bad_images(blur, image):
    with pytest.raises(ValueError, match="image"):
        blur(image)
