"""Image files: read and write JPEG, PNG, TIFF and WebP at full bit depth.

:func:`read_image` returns a numpy array that every function of the package
accepts (grey, RGB or RGBA; uint8, uint16, float32 or float64), upright, and
an :class:`ImageMeta` with the EXIF, ICC profile and DPI to carry to the
output. :func:`write_image` writes atomically and never replaces an existing
file unless ``overwrite=True``.

Pillow decodes and encodes 8-bit files and 16-bit grey; 16-bit colour PNG
goes through a small numpy codec (Pillow would truncate it to 8 bits) and
TIFF through tifffile (16-bit and float RGB). Every failure is an
:class:`ImageReadError` or :class:`ImageWriteError` (both ``ValueError``)
whose message is one line naming the file and the reason.

Examples
--------
>>> from skinsmooth_core.io import read_image, write_image
>>> image, meta = read_image("portrait.jpg")  # doctest: +SKIP
>>> write_image("portrait-retouched.jpg", image, meta)  # doctest: +SKIP
"""

from ._meta import ImageFileError, ImageMeta, ImageReadError, ImageWriteError
from ._read import (
    DEFAULT_PIXEL_LIMIT,
    MODE_CONVERSIONS,
    READ_FORMATS,
    MultiFrameWarning,
    read_image,
)
from ._write import (
    WRITE_FORMATS,
    check_targets,
    format_from_path,
    remove_partial,
    write_image,
    write_images,
)

__all__ = [
    "DEFAULT_PIXEL_LIMIT",
    "MODE_CONVERSIONS",
    "READ_FORMATS",
    "WRITE_FORMATS",
    "check_targets",
    "ImageFileError",
    "ImageMeta",
    "ImageReadError",
    "ImageWriteError",
    "MultiFrameWarning",
    "format_from_path",
    "read_image",
    "remove_partial",
    "write_image",
    "write_images",
]
