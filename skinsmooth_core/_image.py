"""Image validation and dtype handling, in one place for the whole package.

Every public function that takes an image calls :func:`check_image` where the
argument enters, works in floating point on the [0, 1] scale, and converts back
with :func:`from_float`. Filters go through :func:`filter_image`, which also
keeps the alpha channel of a 4-channel image untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Integral, Real

import numpy as np

from ._parallel import for_strips

SUPPORTED_DTYPES = (np.uint8, np.uint16, np.float32, np.float64)
_DTYPE_NAMES = "uint8, uint16, float32 or float64"


def check_image(image, *, name: str = "image", allow_alpha: bool = True) -> np.ndarray:
    """Validate an image and return it as a numpy array.

    Accepted: an array H x W or H x W x C with C = 1, 3 or 4 (4 only when
    `allow_alpha`), dtype uint8, uint16, float32 or float64, not empty, and
    finite when floating point.

    Raises
    ------
    ValueError
        Naming `name`, what is wrong and what is accepted.
    """
    if not isinstance(image, np.ndarray):
        raise ValueError(
            f"{name} must be a numpy array, got {type(image).__name__}; "
            "pass np.asarray(...) of an H x W or H x W x C image"
        )
    if image.dtype not in [np.dtype(d) for d in SUPPORTED_DTYPES]:
        raise ValueError(
            f"{name} has dtype {image.dtype}; accepted dtypes are {_DTYPE_NAMES} "
            "(convert with e.g. skimage.util.img_as_float32)"
        )
    if image.ndim not in (2, 3):
        raise ValueError(
            f"{name} has {image.ndim} dimensions (shape {image.shape}); "
            "accepted are H x W (grey) or H x W x C with C = 1, 3 or 4"
        )
    channels = 1 if image.ndim == 2 else image.shape[2]
    accepted = (1, 3, 4) if allow_alpha else (1, 3)
    if channels not in accepted:
        raise ValueError(
            f"{name} has {channels} channels (shape {image.shape}); accepted are "
            + ", ".join(map(str, accepted))
            + " (grey, RGB"
            + (", RGBA)" if allow_alpha else ")")
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {image.shape}); it needs at least 1 x 1 pixels")
    if image.dtype.kind == "f" and not np.isfinite(image).all():
        raise ValueError(f"{name} contains NaN or infinite values; only finite values are accepted")
    return image


def check_int(value, name: str, *, minimum: int = 0) -> int:
    """Validate an integer parameter (a size in pixels) and return it as ``int``."""
    if isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if not isinstance(value, Integral | np.integer):
        if isinstance(value, Real) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_float(
    value, name: str, *, minimum: float = 0.0, inclusive: bool = True, maximum: float | None = None
) -> float:
    """Validate a finite real parameter and return it as ``float``."""
    if isinstance(value, bool) or not isinstance(value, Real | np.floating | np.integer):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    low_ok = value >= minimum if inclusive else value > minimum
    high_ok = maximum is None or value <= maximum
    if not np.isfinite(value) or not low_ok or not high_ok:
        bound = (">=" if inclusive else ">") + f" {minimum:g}"
        if maximum is not None:
            bound += f" and <= {maximum:g}"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return value


def window_radius(radius: int, shape: tuple) -> int:
    """`radius` capped at the larger side of an image of `shape`, less one.

    A window that wide already spans the whole image from every pixel, so a larger one
    would cost time and memory in proportion to the number asked for and show nothing new:
    every window filter treats a larger radius as this one.
    """
    return min(radius, max(shape[0], shape[1]) - 1)


def max_value(dtype) -> float:
    """Full intensity in `dtype`: the largest value of an integer dtype, 1.0 for floats."""
    dtype = np.dtype(dtype)
    return float(np.iinfo(dtype).max) if dtype.kind in "ui" else 1.0


def to_float(image: np.ndarray) -> np.ndarray:
    """Return `image` as floating point on the [0, 1] scale.

    uint8 and uint16 become float32 divided by their maximum; float32 and
    float64 are returned as they are (not copied), keeping their precision.
    """
    if image.dtype.kind == "f":
        return image
    return image.astype(np.float32) * np.float32(1.0 / max_value(image.dtype))


def from_float(image: np.ndarray, dtype) -> np.ndarray:
    """Convert a [0, 1]-scale float image back to `dtype`.

    Integer dtypes are clipped to their range and rounded to nearest; float
    dtypes are only cast (values outside [0, 1] are kept).
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return image.astype(dtype, copy=False)
    scale = max_value(dtype)
    out = np.empty(image.shape, dtype)
    rows = image.reshape(image.shape[0], -1)  # a view for H x W x C and H x W

    def quantise(start, stop):  # strip by strip: small float temporaries stay in cache
        strip = np.clip(rows[start:stop], 0.0, 1.0)
        strip *= strip.dtype.type(scale)
        out.reshape(rows.shape)[start:stop] = np.rint(strip, out=strip)

    for_strips(quantise, rows.shape[0], 4 * rows.shape[1])
    return out


def split_alpha(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Split an image into its colour channels (always H x W x C) and its alpha (or None)."""
    if image.ndim == 2:
        return image[:, :, None], None
    if image.shape[2] == 4:
        return image[:, :, :3], image[:, :, 3]
    return image, None


def merge_alpha(colour: np.ndarray, alpha: np.ndarray | None, shape: tuple) -> np.ndarray:
    """Inverse of :func:`split_alpha`: restore the original `shape` and alpha channel."""
    if alpha is not None:
        return np.concatenate([colour, alpha[:, :, None].astype(colour.dtype)], axis=2)
    return colour.reshape(shape)


def filter_image(
    image: np.ndarray,
    kernel: Callable[[np.ndarray], np.ndarray],
    *,
    name: str = "image",
    checked: bool = False,
) -> np.ndarray:
    """Run `kernel` on the colour channels of `image` and restore its shape, dtype and alpha.

    `kernel` receives a float32 (or float64 for float64 input) array H x W x C with
    C = 1 or 3 on the [0, 1] scale, and returns an array of the same shape.
    The alpha channel of an RGBA image bypasses the kernel untouched.
    ``checked=True`` skips validation, for callers that already passed `image`
    through :func:`check_image` (the finiteness check reads the whole image).
    """
    if not checked:
        image = check_image(image, name=name)
    colour, alpha = split_alpha(image)
    result = kernel(to_float(colour))
    if result.shape != colour.shape:
        raise RuntimeError(f"filter kernel returned shape {result.shape}, expected {colour.shape}")
    return merge_alpha(from_float(result, image.dtype), alpha, image.shape)
