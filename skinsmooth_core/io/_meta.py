"""Metadata carried from the input file to the output, and the I/O errors."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from PIL import Image

ORIENTATION = 0x0112
# TIFF tags that describe the pixel layout of the source file (or are carried
# separately, like the ICC profile); they must not follow the pixels elsewhere.
_LAYOUT_TAGS = frozenset(
    {254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 284, 288, 289}
    | {290, 291, 292, 293, 317, 320, 322, 323, 324, 325, 330, 338, 339, 340, 341, 347}
    | {513, 514, 529, 530, 531, 532, 700, 33723, 34377, 34675, 37724}
)
# IFD0 text tags that a TIFF written by tifffile carries (its EXIF sub-IFD is not written).
TIFF_TEXT_TAGS = (270, 271, 272, 305, 306, 315, 33432)


class ImageFileError(ValueError):
    """Base class of the image file errors; the message is one line naming the file."""

    def __init__(self, path, reason: str, *, action: str):
        self.path = os.fspath(path)
        self.reason = " ".join(str(reason).split())  # always one line
        super().__init__(f"{self.path}: cannot {action}: {self.reason}")


class ImageReadError(ImageFileError):
    """An image file that cannot be read: missing, empty, corrupt, truncated, not an
    image, over the pixel limit, or in an unsupported format or mode."""

    def __init__(self, path, reason: str):
        super().__init__(path, reason, action="read")


class ImageWriteError(ImageFileError):
    """An image that cannot be written: unknown extension, existing file without
    ``overwrite=True``, unsupported image, or an operating-system error."""

    def __init__(self, path, reason: str):
        super().__init__(path, reason, action="write")


@dataclass
class ImageMeta:
    """What :func:`read_image` found besides the pixels, for :func:`write_image`.

    Attributes
    ----------
    format : str
        The source format: ``"JPEG"``, ``"PNG"``, ``"TIFF"`` or ``"WEBP"``.
    mode : str
        The source pixel mode, Pillow style (``"RGB"``, ``"I;16"``, ``"CMYK"``,
        ``"RGB;16"`` for 16-bit RGB, ``"RGB;F32"`` for float TIFF...).
    exif : bytes or None
        The EXIF block (``b"Exif\\0\\0..."``), orientation already reset to 1
        because the pixels were rotated on reading.
    icc_profile : bytes or None
        The ICC colour profile of the pixels returned (sRGB after a CMYK
        conversion with a profile).
    dpi : tuple of float or None
        Resolution in dots per inch.
    """

    format: str | None = None
    mode: str | None = None
    exif: bytes | None = None
    icc_profile: bytes | None = None
    dpi: tuple[float, float] | None = None


def clean_exif(exif: Image.Exif) -> bytes | None:
    """Return the EXIF block without the source's layout tags, orientation reset to 1."""
    for tag in _LAYOUT_TAGS & set(exif):
        del exif[tag]
    if ORIENTATION in exif:
        exif[ORIENTATION] = 1
    return exif.tobytes() if len(exif) else None


def load_exif(data: bytes | None) -> Image.Exif:
    exif = Image.Exif()
    if data:
        exif.load(data)
    return exif


def orient(image: np.ndarray, orientation) -> np.ndarray:
    """Apply an EXIF/TIFF orientation (1-8) so the image displays upright."""
    if orientation in (5, 6, 7, 8):  # the four that swap width and height
        image = np.swapaxes(image, 0, 1)  # transpose = orientation 5
        orientation = {5: 1, 6: 2, 7: 3, 8: 4}[orientation]
    if orientation in (2, 3):
        image = image[:, ::-1]
    if orientation in (3, 4):
        image = image[::-1]
    return np.ascontiguousarray(image)
