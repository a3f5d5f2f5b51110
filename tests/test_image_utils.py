"""Tests of the shared validation and dtype handling (skinsmooth_core._image)."""

import numpy as np
import pytest
from conftest import DTYPES, as_dtype

from skinsmooth_core._image import (
    check_float,
    check_image,
    check_int,
    filter_image,
    from_float,
    to_float,
)

# Pillow-style table: (description, array, message fragment)
REJECTED = [
    ("list", [[1, 2], [3, 4]], "numpy array"),
    ("int32", np.zeros((4, 4), np.int32), "dtype int32"),
    ("bool", np.zeros((4, 4), bool), "dtype bool"),
    ("float16", np.zeros((4, 4), np.float16), "dtype float16"),
    ("1-D", np.zeros(4, np.uint8), "1 dimensions"),
    ("4-D", np.zeros((2, 2, 2, 3), np.uint8), "4 dimensions"),
    ("2 channels", np.zeros((4, 4, 2), np.uint8), "2 channels"),
    ("5 channels", np.zeros((4, 4, 5), np.uint8), "5 channels"),
    ("empty rows", np.zeros((0, 4, 3), np.uint8), "empty"),
    ("empty cols", np.zeros((4, 0), np.float32), "empty"),
    ("NaN", np.array([[0.0, np.nan]], np.float32), "NaN"),
    ("inf", np.array([[0.0, np.inf]], np.float64), "infinite"),
]

ACCEPTED = [
    ("grey", (5, 7)),
    ("one channel", (5, 7, 1)),
    ("RGB", (5, 7, 3)),
    ("RGBA", (5, 7, 4)),
    ("single pixel", (1, 1)),
]


@pytest.mark.parametrize("desc, image, fragment", REJECTED, ids=[r[0] for r in REJECTED])
def test_check_image_rejects(desc, image, fragment):
    with pytest.raises(ValueError, match=fragment):
        check_image(image, name="photo")


def test_error_names_the_argument():
    with pytest.raises(ValueError, match="^guide has dtype int64"):
        check_image(np.zeros((3, 3), np.int64), name="guide")


def test_rgba_rejected_when_alpha_not_allowed():
    with pytest.raises(ValueError, match="accepted are 1, 3"):
        check_image(np.zeros((3, 3, 4), np.uint8), allow_alpha=False)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("desc, shape", ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_check_image_accepts(desc, shape, dtype):
    image = np.zeros(shape, dtype)
    assert check_image(image) is image


@pytest.mark.parametrize(
    "value, expected", [(0, 0), (5, 5), (np.int64(3), 3), (4.0, 4), (np.uint8(2), 2)]
)
def test_check_int_accepts(value, expected):
    result = check_int(value, "radius")
    assert result == expected and type(result) is int


@pytest.mark.parametrize("value", [-1, 2.5, "3", None, True, float("nan")])
def test_check_int_rejects(value):
    with pytest.raises(ValueError, match="radius must be an integer >= 0"):
        check_int(value, "radius")


@pytest.mark.parametrize("value", [-0.1, float("nan"), float("inf"), "0.1", None, 2.0])
def test_check_float_rejects(value):
    with pytest.raises(ValueError, match="eps must be"):
        check_float(value, "eps", maximum=1.0)


def test_check_float_exclusive_minimum():
    assert check_float(0.5, "eps", inclusive=False) == 0.5
    with pytest.raises(ValueError, match="> 0"):
        check_float(0.0, "eps", inclusive=False)


@pytest.mark.parametrize("dtype", DTYPES)
def test_float_round_trip_is_exact(astronaut, dtype):
    image = as_dtype(astronaut, dtype)
    restored = from_float(to_float(image), dtype)
    assert restored.dtype == image.dtype
    np.testing.assert_array_equal(restored, image)


def test_to_float_scales():
    assert to_float(np.array([[255]], np.uint8))[0, 0] == 1.0
    assert to_float(np.array([[65535]], np.uint16))[0, 0] == 1.0
    assert to_float(np.array([[128]], np.uint8)).dtype == np.float32
    x64 = np.array([[0.25]], np.float64)
    assert to_float(x64) is x64


def test_from_float_clips_and_rounds_integers():
    values = np.array([[-0.5, 0.0, 0.5 / 255, 1.49 / 255, 1.0, 7.0]], np.float32)
    np.testing.assert_array_equal(from_float(values, np.uint8), [[0, 0, 0, 1, 255, 255]])
    np.testing.assert_array_equal(from_float(values, np.float32), values)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [None, 1, 3, 4])
def test_filter_image_restores_shape_dtype_alpha(astronaut, dtype, channels):
    rgb = as_dtype(astronaut[:32, :40], dtype)
    if channels is None:
        image = rgb[:, :, 0]
    elif channels == 4:
        alpha = as_dtype(astronaut[:32, :40, 1], dtype)
        image = np.dstack([rgb, alpha])
    else:
        image = rgb[:, :, :channels]
    seen = []

    def invert(x):
        seen.append(x.shape)
        assert x.dtype == (np.float64 if image.dtype == np.float64 else np.float32)
        return 1.0 - x

    out = filter_image(image, invert)
    assert out.shape == image.shape and out.dtype == image.dtype
    assert seen[0][2] == (3 if channels in (3, 4) else 1)
    if channels == 4:
        np.testing.assert_array_equal(out[:, :, 3], image[:, :, 3])
    ref = from_float(1.0 - to_float(image[..., :3] if channels == 4 else image), dtype)
    np.testing.assert_array_equal(out[..., :3] if channels == 4 else out, ref)


def test_filter_image_checks_kernel_shape():
    with pytest.raises(RuntimeError, match="expected"):
        filter_image(np.zeros((4, 4), np.uint8), lambda x: x[:2])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("shape", [(700, 300, 3), (301, 700), (2, 40000, 4)])
def test_from_float_in_strips_matches_numpy(dtype, shape):
    """Large images are quantised strip by strip: same result as one numpy expression."""
    values = np.random.default_rng(1).uniform(-0.2, 1.2, shape).astype(np.float32)
    scale = np.iinfo(dtype).max
    expected = np.rint(np.clip(values, 0, 1) * np.float32(scale)).astype(dtype)
    got = from_float(values, dtype)
    assert got.dtype == dtype and got.shape == shape
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(from_float(values[:, ::3], dtype), expected[:, ::3])
