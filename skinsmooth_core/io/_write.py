"""write_image: atomic, depth-keeping writes of JPEG, PNG, TIFF and WebP."""

from __future__ import annotations

import glob
import os
import tempfile
from functools import lru_cache

import numpy as np
from PIL import Image

from .._image import check_image, check_int, from_float, split_alpha, to_float
from ._meta import TIFF_TEXT_TAGS, ImageMeta, ImageWriteError, clean_exif, load_exif
from ._png16 import encode_png16

WRITE_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}
# zlib level of PNG and TIFF: 3 is about 3x faster than 6 for files ~12% larger
ZLIB_LEVEL = 3
_EXISTS = "file exists (pass overwrite=True, or --overwrite, to replace it)"


def format_from_path(path) -> str:
    """Return the format ("JPEG", "PNG", "TIFF", "WEBP") that `path`'s extension names."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    try:
        return WRITE_FORMATS[ext]
    except KeyError:
        accepted = ", ".join(WRITE_FORMATS)
        raise ImageWriteError(
            path, f"unknown extension {ext or '(none)'!r}; accepted are {accepted}"
        ) from None


def write_image(path, image, meta: ImageMeta | None = None, *, quality=95, overwrite=False):
    """Write an image file atomically, keeping its bit depth where the format can.

    The format comes from the extension (.jpg/.jpeg, .png, .tif/.tiff, .webp).
    Depth and alpha rules:

    ======  =========================  ==========================================
    format  stored                     conversion
    ======  =========================  ==========================================
    JPEG    8-bit grey or RGB          16-bit and float (clipped to [0, 1]) are
                                       rounded to 8 bits; alpha is composited
                                       over white. 4:4:4 chroma, `quality`.
    WebP    8-bit RGB or RGBA          as JPEG, alpha kept; grey stored as RGB;
                                       quality 100 means lossless.
    PNG     8 or 16-bit grey, RGB,     uint8 stays 8-bit, uint16 16-bit; float
            RGBA                       is clipped to [0, 1] and stored 16-bit.
    TIFF    8, 16, 32 or 64-bit        every dtype kept exactly (float values
                                       are not clipped); zlib, lossless.
    ======  =========================  ==========================================

    EXIF (orientation reset to 1, since pixels are stored upright), the ICC
    profile and DPI (not in WebP, which has no field for it) from `meta` are
    written. TIFF output carries the EXIF text
    tags (make, model, date, artist, copyright, description, software) but not
    the EXIF sub-IFD (exposure settings).

    The file is first written to a temporary file in the same folder, flushed
    to disk, then renamed over `path`: a crash never leaves a partial output.

    Parameters
    ----------
    path : str or os.PathLike
        The output file; its folder must exist.
    image : ndarray
        H x W, H x W x 1, 3 or 4; uint8, uint16, float32 or float64.
    meta : ImageMeta, optional
        Metadata from :func:`read_image` to carry over.
    quality : int, optional
        1-100, for JPEG and WebP (default 95).
    overwrite : bool, optional
        Replace an existing file (default False: an existing file is an error).

    Raises
    ------
    ImageWriteError
        One line naming the file: unknown extension, existing file, invalid
        image or quality, or the operating system's reason (folder missing,
        permission, disk full).

    Examples
    --------
    >>> from skimage import data
    >>> write_image("astronaut.png", data.astronaut())  # doctest: +SKIP
    """
    write_images([(path, image, meta)], quality=quality, overwrite=overwrite)


def check_targets(paths, *, overwrite=False) -> None:
    """Raise :class:`ImageWriteError` for the first of `paths` that exists (unless
    `overwrite`) or has an unknown extension: the check to make before any work."""
    for path in map(os.fspath, paths):
        format_from_path(path)
        if not overwrite and os.path.lexists(path):
            raise ImageWriteError(path, _EXISTS)


def write_images(items, *, quality=95, overwrite=False) -> None:
    """Write several image files as a set: all of them, or none.

    `items` are ``(path, image, meta)`` triples, each written as by :func:`write_image`.
    Every file is checked and encoded into a temporary file beside its target first;
    only then are they moved into place. If any step fails (a file exists, the disk is
    full), the files of the set already moved are removed again and no temporary file
    stays, so a retry starts clean. (With ``overwrite=True`` a replaced file cannot be
    restored; the set is still never left half-new without an error.)

    Raises
    ------
    ImageWriteError
        As :func:`write_image`, naming the file that failed.
    """
    jobs = []
    for path, image, meta in items:
        path = os.fspath(path)
        fmt = format_from_path(path)
        try:
            image = check_image(image)
            quality = check_int(quality, "quality", minimum=1)
            if quality > 100:
                raise ValueError(f"quality must be an integer from 1 to 100, got {quality}")
        except ValueError as exc:
            raise ImageWriteError(path, str(exc)) from None
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[:, :, 0]
        jobs.append((path, fmt, image, meta or ImageMeta()))
    check_targets([job[0] for job in jobs], overwrite=overwrite)
    temps, placed = [], []
    try:
        for path, fmt, image, meta in jobs:
            exif = clean_exif(load_exif(meta.exif)) if meta.exif else None
            encoder = _ENCODERS[fmt]
            temps.append(
                _encode_temp(
                    path, lambda f, e=encoder, i=image, m=meta, x=exif: e(f, i, m, x, quality)
                )
            )
        for (path, *_), temp in zip(jobs, temps, strict=True):
            _move_into_place(temp, path, overwrite)
            placed.append(path)
    except BaseException as exc:
        for temp in temps:
            if os.path.exists(temp):
                os.unlink(temp)
        if not overwrite:
            for path in placed:
                os.unlink(path)
        if isinstance(exc, ImageWriteError) or not isinstance(exc, Exception):
            raise
        path = jobs[len(placed)][0]
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ImageWriteError(path, reason or type(exc).__name__) from exc
    for folder in {os.path.dirname(os.path.abspath(job[0])) for job in jobs}:
        _fsync_folder(folder)


def _to_8bit(image: np.ndarray) -> np.ndarray:
    return image if image.dtype == np.uint8 else from_float(to_float(image), np.uint8)


def _pillow_options(meta: ImageMeta, exif: bytes | None) -> dict:
    options = {}
    if exif:
        options["exif"] = exif
    if meta.icc_profile:
        options["icc_profile"] = meta.icc_profile
    if meta.dpi:
        options["dpi"] = tuple(meta.dpi)
    return options


def _jpeg(file, image, meta, exif, quality):
    colour, alpha = split_alpha(image)
    if alpha is not None:  # JPEG has no alpha: composite over white
        a = to_float(alpha)[:, :, None].astype(np.float32)
        colour = to_float(colour) * a + (1 - a)
    colour = _to_8bit(colour)
    pixels = colour[:, :, 0] if colour.shape[2] == 1 else colour
    Image.fromarray(pixels).save(
        file, "JPEG", quality=quality, subsampling=0, **_pillow_options(meta, exif)
    )


def _webp(file, image, meta, exif, quality):
    pixels = _to_8bit(image)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    options = _pillow_options(meta, exif)
    options.pop("dpi", None)
    Image.fromarray(pixels).save(
        file, "WEBP", quality=quality, lossless=quality == 100, exact=True, **options
    )


def _png(file, image, meta, exif, quality):
    if image.dtype == np.uint8:
        options = _pillow_options(meta, exif)
        Image.fromarray(image).save(file, "PNG", compress_level=ZLIB_LEVEL, **options)
        return
    pixels = image if image.dtype == np.uint16 else from_float(image, np.uint16)
    dpi = tuple(meta.dpi) if meta.dpi else None
    file.write(
        encode_png16(pixels, icc_profile=meta.icc_profile, exif=exif, dpi=dpi, level=ZLIB_LEVEL)
    )


def _tiff(file, image, meta, exif, quality):
    import tifffile

    rgb = image.ndim == 3
    tags = load_exif(exif)
    extratags = [
        (code, "s", 0, tags[code], True)
        for code in TIFF_TEXT_TAGS
        if code != 305 and isinstance(tags.get(code), str) and tags[code]
    ]
    options = {}
    if meta.dpi:
        options.update(resolution=tuple(meta.dpi), resolutionunit="INCH")
    if meta.icc_profile:
        options["iccprofile"] = meta.icc_profile
    if rgb and image.shape[2] == 4:
        options["extrasamples"] = ("unassalpha",)
    tifffile.imwrite(
        file,
        image,
        photometric="rgb" if rgb else "minisblack",
        planarconfig="contig" if rgb else None,
        compression="zlib",
        compressionargs={"level": ZLIB_LEVEL},
        predictor=image.dtype.kind == "u",  # float predictor needs imagecodecs
        software=tags.get(305) or "skinsmooth",
        extratags=extratags,
        metadata=None,
        **options,
    )


_ENCODERS = {"JPEG": _jpeg, "WEBP": _webp, "PNG": _png, "TIFF": _tiff}


@lru_cache(maxsize=1)
def _umask() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def remove_partial(path) -> list[str]:
    """Remove the temporary files that a writer of `path` killed mid-write left beside it
    (``.NAME.*.part``); return their names. For a batch that retries such a file."""
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    removed = []
    for entry in glob.glob(os.path.join(glob.escape(folder), f".{glob.escape(name)}.*.part")):
        try:
            os.unlink(entry)
            removed.append(entry)
        except FileNotFoundError:
            pass
    return removed


def _encode_temp(path: str, encode) -> str:
    """Encode into a fsynced temporary file beside `path`, with `path`'s permissions (or
    the umask's); return its name."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, temp = tempfile.mkstemp(
            prefix=f".{os.path.basename(path)}.", suffix=".part", dir=folder
        )
    except OSError as exc:
        raise ImageWriteError(path, exc.strerror or str(exc)) from None
    try:
        os.close(fd)
        with open(temp, "wb") as file:  # a named file: tifffile needs its name
            encode(file)
            file.flush()
            os.fsync(file.fileno())
        try:
            mode = os.stat(path).st_mode & 0o7777
        except OSError:
            mode = 0o666 & ~_umask()
        os.chmod(temp, mode)
    except BaseException as exc:
        if os.path.exists(temp):
            os.unlink(temp)
        if isinstance(exc, ImageWriteError) or not isinstance(exc, Exception):
            raise
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ImageWriteError(path, reason or type(exc).__name__) from exc
    return temp


def _move_into_place(temp: str, path: str, overwrite: bool) -> None:
    if overwrite:
        os.replace(temp, path)
        return
    try:
        os.link(temp, path)  # fails if `path` appeared meanwhile: never clobbers
    except FileExistsError:
        raise ImageWriteError(path, _EXISTS) from None
    except OSError:  # file systems without hard links
        if os.path.lexists(path):
            raise ImageWriteError(path, _EXISTS) from None
        os.replace(temp, path)
        return
    os.unlink(temp)


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
