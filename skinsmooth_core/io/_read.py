"""read_image: any JPEG, PNG, TIFF or WebP to a numpy array the pipeline accepts."""

from __future__ import annotations

import io
import os
import warnings
import zlib
from contextlib import contextmanager

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from .._image import max_value
from ._meta import ORIENTATION, ImageMeta, ImageReadError, clean_exif, orient
from ._png16 import PNGError, decode_png16, png_header

DEFAULT_PIXEL_LIMIT = 200_000_000
READ_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "TIFF": "TIFF", "WEBP": "WEBP"}
_TIFF_MAGIC = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")

# Pillow mode -> mode it is converted to (None: kept as is). Modes not listed are rejected.
MODE_CONVERSIONS = {
    "1": "L",
    "L": None,
    "LA": "RGBA",
    "La": "RGBA",
    "P": "RGB",  # "RGBA" when the palette has transparency
    "PA": "RGBA",
    "RGB": None,
    "RGBA": None,
    "RGBa": "RGBA",
    "RGBX": "RGB",
    "CMYK": "RGB",  # through the embedded ICC profile when there is one
    "YCbCr": "RGB",
    "HSV": "RGB",
    "I;16": None,
    "I;16L": None,
    "I;16B": None,
    "I;16N": None,
    "I": None,  # 32-bit integer: kept as uint16 when every value fits
    "F": None,
}
_REJECTED_REASONS = {
    "LAB": "CIELAB pixels are not supported (convert to RGB first)",
}


@contextmanager
def _no_pillow_bomb_check():
    """Our own pixel limit replaces Pillow's global one (which is 179 MP)."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def read_image(path, *, pixel_limit: int | None = DEFAULT_PIXEL_LIMIT):
    """Read an image file into a numpy array, upright, at its full bit depth.

    Parameters
    ----------
    path : str or os.PathLike
        A JPEG, PNG, TIFF or WebP file.
    pixel_limit : int or None, optional
        Largest accepted width x height (default 200 million), checked from the
        file header before any pixel is decoded. None disables the check.

    Returns
    -------
    image : ndarray
        H x W (grey), H x W x 3 (RGB) or H x W x 4 (RGBA), dtype uint8, uint16
        (16-bit PNG and TIFF), float32 or float64 (float TIFF, values kept as
        stored). The EXIF orientation is applied. Conversions: 1-bit -> grey;
        LA, PA, La, RGBa and palettes with transparency -> RGBA; palettes,
        CMYK (with its ICC profile when present), YCbCr, HSV, RGBX -> RGB;
        32-bit integer grey -> uint16 when every value fits. Multi-page files
        give their first page.
    meta : ImageMeta
        Format, source mode, EXIF (orientation reset), ICC profile and DPI.

    Raises
    ------
    ImageReadError
        One-line message naming the file and the reason: no such file, empty
        file, not an image, unsupported format or mode, over the pixel limit,
        corrupt or truncated data.

    Examples
    --------
    >>> image, meta = read_image("portrait.jpg")  # doctest: +SKIP
    >>> image.shape, image.dtype, meta.format  # doctest: +SKIP
    ((4000, 6000, 3), dtype('uint8'), 'JPEG')
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ImageReadError(path, "no such file")
    if os.path.isdir(path):
        raise ImageReadError(path, "is a folder, not an image file")
    if os.path.getsize(path) == 0:
        raise ImageReadError(path, "file is empty (0 bytes)")
    with open(path, "rb") as file:
        head = file.read(64)
    try:
        with _no_pillow_bomb_check():
            return _read(path, head, pixel_limit)
    except ImageReadError:
        raise
    except MemoryError:
        raise ImageReadError(path, "not enough memory to decode it") from None
    except Exception as exc:  # any decoder failure is a property of the file
        raise ImageReadError(path, _describe(exc, head)) from exc


# how each readable format's files begin: a file that starts like one but cannot be opened is
# damaged, not of an unsupported format
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    *((magic, "TIFF") for magic in _TIFF_MAGIC),
)


def _signature(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next((fmt for magic, fmt in _SIGNATURES if head.startswith(magic)), None)


def _damaged_header(head: bytes, fmt: str) -> str:
    if fmt == "PNG" and len(head) >= 33 and head[12:16] == b"IHDR":
        if zlib.crc32(head[12:29]) != int.from_bytes(head[29:33], "big"):
            return "damaged PNG file: its header's checksum (CRC) is wrong"
    return f"damaged {fmt} file: it starts as a {fmt} but its header cannot be decoded"


def _describe(exc: Exception, head: bytes = b"") -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, UnidentifiedImageError):
        fmt = _signature(head)
        if fmt is not None:
            return _damaged_header(head, fmt)
        return "not an image file (or an unsupported format; JPEG, PNG, TIFF and WebP are read)"
    if "truncated" in text.lower() or "failed to read" in text or isinstance(exc, EOFError):
        return f"file is truncated ({text})"
    return f"corrupt or unreadable image data ({text})"


class MultiFrameWarning(UserWarning):
    """Only the first frame (page) of an animated or multi-page file was read."""


def _warn_frames(path: str, count: int, fmt: str) -> None:
    if count > 1:
        kind = "pages" if fmt == "TIFF" else "frames"
        warnings.warn(
            f"{path}: the {'WebP' if fmt == 'WEBP' else fmt} has {count} {kind}; "
            "only the first is read",
            MultiFrameWarning,
            stacklevel=2,
        )


def _check_size(path, width: int, height: int, pixel_limit) -> None:
    if pixel_limit is not None and width * height > pixel_limit:
        raise ImageReadError(
            path,
            f"{width} x {height} = {width * height / 1e6:.1f} megapixels is over the limit "
            f"of {pixel_limit / 1e6:g} megapixels",
        )


def _read(path: str, head: bytes, pixel_limit):
    try:
        pil = Image.open(path)
    except UnidentifiedImageError:
        if head.startswith(_TIFF_MAGIC):  # e.g. float RGB, which Pillow cannot open
            return _read_tiff(path, pixel_limit, ImageMeta(format="TIFF"))
        raise
    with pil:
        fmt = READ_FORMATS.get(pil.format)
        if fmt is None:
            raise ImageReadError(
                path, f"unsupported format {pil.format}; JPEG, PNG, TIFF and WebP are read"
            )
        _check_size(path, *pil.size, pixel_limit)
        if fmt != "TIFF":  # TIFF pages are counted by _read_tiff
            _warn_frames(path, getattr(pil, "n_frames", 1), fmt)
        meta = ImageMeta(format=fmt, mode=pil.mode, icc_profile=pil.info.get("icc_profile"))
        if pil.info.get("dpi"):
            meta.dpi = tuple(float(d) for d in pil.info["dpi"])
        exif = pil.getexif()
        orientation = exif.get(ORIENTATION, 1)
        meta.exif = clean_exif(exif)
        if fmt == "TIFF":
            return _read_tiff(path, pixel_limit, meta)
        header = png_header(head) if fmt == "PNG" else None
        if header is not None and header[0] == 16 and header[1] != 0:  # 16-bit colour
            with open(path, "rb") as file:
                data = file.read()
            try:
                image = decode_png16(data)
            except PNGError as exc:
                raise ImageReadError(path, str(exc)) from None
            meta.mode = {2: "RGB;16", 4: "LA;16", 6: "RGBA;16"}[header[1]]
            if image.shape[2] == 2:  # grey + alpha -> RGBA
                image = image[:, :, [0, 0, 0, 1]]
            return orient(image, orientation), meta
        image = _from_pillow(path, pil, meta)
    return orient(image, orientation), meta


def _from_pillow(path: str, pil: Image.Image, meta: ImageMeta) -> np.ndarray:
    """Decode with Pillow and convert the mode following MODE_CONVERSIONS."""
    mode = pil.mode
    if mode not in MODE_CONVERSIONS:
        reason = _REJECTED_REASONS.get(mode, f"pixel mode {mode} is not supported")
        raise ImageReadError(path, reason)
    pil.load()
    target = MODE_CONVERSIONS[mode]
    has_key = "transparency" in pil.info and mode in ("P", "L", "RGB")
    if has_key:  # palette or colour-key transparency becomes an alpha channel
        target = "RGBA"
    if mode == "CMYK" and meta.icc_profile:
        srgb = ImageCms.createProfile("sRGB")
        source = ImageCms.ImageCmsProfile(io.BytesIO(meta.icc_profile))
        pil = ImageCms.profileToProfile(pil, source, srgb, outputMode="RGB")
        meta.icc_profile = ImageCms.ImageCmsProfile(srgb).tobytes()
        target = None
    elif mode == "CMYK":
        meta.icc_profile = None
    if target is not None:
        pil = pil.convert(target)
    image = np.asarray(pil)
    if mode == "I":
        if image.min(initial=0) < 0 or image.max(initial=0) > 65535:
            raise ImageReadError(path, "32-bit integer pixels outside 0..65535 are not supported")
        image = image.astype(np.uint16)
    elif image.dtype.byteorder == ">":  # I;16B
        image = image.astype(image.dtype.newbyteorder("="))
    return image


# TIFF sample types read by tifffile -> conversion (None: kept)
_TIFF_DTYPES = {
    "uint8": None,
    "uint16": None,
    "float16": np.float32,
    "float32": None,
    "float64": None,
}


def _read_tiff(path: str, pixel_limit, meta: ImageMeta):
    """TIFF: tifffile for grey and RGB(A) at any depth; Pillow for the rest (palette,
    CMYK, 1-bit, MINISWHITE, YCbCr, JPEG-compressed without imagecodecs)."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]  # the first page of a multi-page file
        _warn_frames(path, len(tif.pages), "TIFF")
        _check_size(path, page.imagewidth, page.imagelength, pixel_limit)
        photometric = int(page.photometric)
        dtype = page.dtype
        if (
            photometric not in (1, 2)  # MINISBLACK, RGB
            or dtype is None
            or dtype.name not in _TIFF_DTYPES
            or page.bitspersample == 1
        ):
            return _read_tiff_pillow(path, meta, dtype)
        try:
            image = page.asarray()
        except ValueError as exc:
            if "imagecodecs" in str(exc):  # a compression tifffile cannot decode alone
                return _read_tiff_pillow(path, meta, dtype)
            raise
        orientation = page.tags.valueof(ORIENTATION, 1)
        if meta.icc_profile is None:
            meta.icc_profile = page.tags.valueof(34675)
        extrasamples = tuple(page.extrasamples or ())
    if page.planarconfig == 2 and image.ndim == 3:  # separate planes: S x H x W
        image = np.moveaxis(image, 0, -1)
    image = _tiff_channels(path, image, photometric, extrasamples)
    if _TIFF_DTYPES[image.dtype.name] is not None:
        image = image.astype(_TIFF_DTYPES[image.dtype.name])
    depth = {"uint8": "", "uint16": ";16", "float32": ";F32", "float64": ";F64"}[image.dtype.name]
    base = {2: "L", 3: "RGB", 4: "RGBA"}.get(image.shape[2] if image.ndim == 3 else 2)
    meta.mode = base + depth
    return orient(image, orientation), meta


def _tiff_channels(path, image, photometric, extrasamples):
    if image.ndim == 2:
        return image
    colours = 3 if photometric == 2 else 1
    if image.ndim != 3 or image.shape[2] < colours:
        raise ImageReadError(path, f"unsupported TIFF layout (shape {image.shape})")
    alpha = None
    if image.shape[2] > colours and extrasamples and extrasamples[0] in (1, 2):
        alpha = image[:, :, colours]
        if extrasamples[0] == 1:  # associated (premultiplied) alpha
            image = _unpremultiply(image[:, :, :colours], alpha)
    colour = image[:, :, :colours]
    if colours == 1:
        colour = colour[:, :, [0, 0, 0]] if alpha is not None else colour[:, :, 0]
    if alpha is None:
        return np.ascontiguousarray(colour)
    return np.concatenate([colour, alpha[:, :, None]], axis=2)


def _unpremultiply(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.float64)[:, :, None]
    out = np.divide(colour, a, out=np.zeros(colour.shape), where=a > 0)
    if colour.dtype.kind == "f":
        return out.astype(colour.dtype)
    top = max_value(colour.dtype)
    return np.clip(np.rint(out * top), 0, top).astype(colour.dtype)


def _read_tiff_pillow(path: str, meta: ImageMeta, dtype):
    try:
        pil = Image.open(path)
    except UnidentifiedImageError:
        kind = f"{dtype} samples" if dtype is not None else "this sample format"
        raise ImageReadError(path, f"unsupported TIFF ({kind})") from None
    with pil:
        orientation = pil.getexif().get(ORIENTATION, 1)
        meta.mode = pil.mode
        image = _from_pillow(path, pil, meta)
    return orient(image, orientation), meta
