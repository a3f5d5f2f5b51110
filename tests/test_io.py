"""Image files: round trips at full depth, modes, metadata, atomic writes, bad files."""

import io
import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from bounds import U32, U64, output
from conftest import as_dtype
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, ImageOps, JpegImagePlugin

from skinsmooth_core._image import from_float
from skinsmooth_core.io import (
    ImageMeta,
    ImageReadError,
    ImageWriteError,
    read_image,
    write_image,
)
from skinsmooth_core.io._png16 import decode_png16, encode_png16

CMYK_PROFILE = Path("/usr/share/color/icc/krita/cmyk.icm")


@pytest.fixture(scope="module")
def photo(astronaut):
    """A non-square 100 x 120 crop of the face (so transposes show)."""
    return np.ascontiguousarray(astronaut[40:140, 150:270])


def channels(image, n):
    if n == 1:
        return np.ascontiguousarray(image[:, :, 1])
    if n == 4:  # alpha: a real gradient, not constant
        ramp = np.linspace(0, 255, image.shape[1]).astype(np.uint8)
        return np.dstack([image, np.broadcast_to(ramp, image.shape[:2])])
    return image


def exif_with(**tags):
    exif = Image.Exif()
    names = {"make": 271, "model": 272, "orientation": 274, "artist": 315}
    for name, value in tags.items():
        if name in names:
            exif[names[name]] = value
    if "date" in tags:
        exif.get_ifd(0x8769)[0x9003] = tags["date"]
    return exif


# ---------------------------------------------------------------- lossless round trips


LOSSLESS = (
    [("png", np.uint8, n) for n in (1, 3, 4)]
    + [("png", np.uint16, n) for n in (1, 3, 4)]
    + [("tif", d, n) for d in (np.uint8, np.uint16, np.float32, np.float64) for n in (1, 3, 4)]
)


@pytest.mark.parametrize(("ext", "dtype", "n"), LOSSLESS)
def test_lossless_round_trip_keeps_depth(tmp_path, photo, ext, dtype, n):
    image = as_dtype(channels(photo, n), dtype)
    if dtype == np.uint16:  # use all 16 bits, not just multiples of 257
        image = image + np.arange(image.size, dtype=np.uint16).reshape(image.shape) % 257
    path = tmp_path / f"x.{ext}"
    write_image(path, image)
    back, meta = read_image(path)
    assert back.dtype == image.dtype and back.shape == image.shape
    np.testing.assert_array_equal(back, image)
    assert meta.format == {"png": "PNG", "tif": "TIFF"}[ext]


def test_float_tiff_keeps_values_outside_unit_range(tmp_path, photo):
    image = (photo / 255.0 * 3.0 - 1.0).astype(np.float32)  # HDR-like values in [-1, 2]
    write_image(tmp_path / "hdr.tif", image)
    back, meta = read_image(tmp_path / "hdr.tif")
    np.testing.assert_array_equal(back, image)
    assert meta.mode == "RGB;F32"


def test_tiff_first_page_and_premultiplied_alpha(tmp_path, photo):
    with tifffile.TiffWriter(tmp_path / "pages.tif") as tif:
        tif.write(photo, photometric="rgb")
        tif.write(photo[::-1], photometric="rgb")
    np.testing.assert_array_equal(read_image(tmp_path / "pages.tif")[0], photo)
    rgba = as_dtype(channels(photo, 4), np.float32)
    premultiplied = rgba.copy()
    premultiplied[:, :, :3] *= rgba[:, :, 3:]
    tifffile.imwrite(
        tmp_path / "assoc.tif", premultiplied, photometric="rgb", extrasamples=("assocalpha",)
    )
    back, _ = read_image(tmp_path / "assoc.tif")
    visible = rgba[:, :, 3] > 0.05
    # values <= 1: the float32 premultiplication (U32), the float64 division by alpha (U64)
    # and the float32 store of the quotient
    bound = output(np.float32, U32 + U64)
    np.testing.assert_allclose(back[visible], rgba[visible], rtol=0, atol=bound)


def test_webp_quality_100_is_lossless_with_alpha(tmp_path, photo):
    image = channels(photo, 4)
    write_image(tmp_path / "x.webp", image, quality=100)
    back, _ = read_image(tmp_path / "x.webp")
    np.testing.assert_array_equal(back, image)


def test_lossy_webp_and_jpeg_stay_close(tmp_path, photo):
    for ext in ("webp", "jpg"):
        write_image(tmp_path / f"x.{ext}", photo)
        back, _ = read_image(tmp_path / f"x.{ext}")
        assert back.shape == photo.shape and back.dtype == np.uint8
        assert np.abs(back.astype(float) - photo).mean() < 2.5  # codec loss, in levels


# ---------------------------------------------------------------- 16-bit PNG against OpenCV


def test_16bit_png_matches_opencv_both_ways(tmp_path, photo):
    rgb16 = as_dtype(photo, np.uint16) + 101
    rgba16 = np.dstack([rgb16, rgb16[:, :, :1] // 2])
    for image, bgr in ((rgb16, [2, 1, 0]), (rgba16, [2, 1, 0, 3])):
        ours = tmp_path / "ours.png"
        write_image(ours, image, overwrite=True)
        by_opencv = cv2.imread(str(ours), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(by_opencv, image[:, :, bgr])
        theirs = tmp_path / "theirs.png"
        cv2.imwrite(str(theirs), image[:, :, bgr])
        back, meta = read_image(theirs)
        np.testing.assert_array_equal(back, image)
        assert meta.mode == ("RGB;16" if image.shape[2] == 3 else "RGBA;16")


def _png_file(header: bytes, raw_rows: bytes) -> bytes:
    def chunk(kind, body):
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    idat = zlib.compress(raw_rows)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def _paeth_filter(lines: np.ndarray, bpp: int) -> np.ndarray:
    """Paeth-filter every row (vectorised: the encoder only needs raw neighbours)."""
    raw = lines.astype(np.int16)
    left = np.zeros_like(raw)
    left[:, bpp:] = raw[:, :-bpp]
    up = np.zeros_like(raw)
    up[1:] = raw[:-1]
    upleft = np.zeros_like(raw)
    upleft[1:, bpp:] = raw[:-1, :-bpp]
    p = left + up - upleft
    pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - upleft)
    pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, upleft))
    return ((raw - pred) & 255).astype(np.uint8)


def test_16bit_png_paeth_and_average_filters(photo):
    image = as_dtype(photo, np.uint16) + 7
    h, w, _ = image.shape
    lines = image.astype(">u2").view(np.uint8).reshape(h, w * 6)
    paeth, average = _filter_rows(lines, 6, 4), _filter_rows(lines, 6, 3)
    kinds = np.arange(h) % 2 + 3  # alternate Average (3) and Paeth (4)
    rows = np.where((kinds == 3)[:, None], average, paeth)
    raw = np.concatenate([kinds[:, None].astype(np.uint8), rows], axis=1).tobytes()
    data = _png_file(struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0), raw)
    np.testing.assert_array_equal(decode_png16(data), image)


@settings(max_examples=40, deadline=None)
@given(
    height=st.integers(1, 24),
    width=st.integers(1, 24),
    samples=st.sampled_from([1, 2, 3, 4]),
    seed=st.integers(0, 2**32 - 1),
)
def test_16bit_png_codec_any_shape_and_filters(height, width, samples, seed):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 65536, (height, width, samples), dtype=np.uint16)
    encoded = encode_png16(image)
    decoded = decode_png16(encoded)
    np.testing.assert_array_equal(decoded.reshape(image.shape), image)
    by_opencv = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_UNCHANGED)
    order = {1: [0], 2: [0, 1], 3: [2, 1, 0], 4: [2, 1, 0, 3]}[samples]
    if samples != 2:  # OpenCV expands grey+alpha to BGRA
        np.testing.assert_array_equal(by_opencv.reshape(image.shape), image[:, :, order])
    # the same pixels with random per-row filters (Average and Paeth among them)
    lines = image.astype(">u2").view(np.uint8).reshape(height, -1)
    bpp = 2 * samples
    kinds = rng.integers(0, 5, height).astype(np.uint8)
    rows = np.stack([_filter_rows(lines, bpp, k)[r] for r, k in enumerate(kinds)])
    raw = np.concatenate([kinds[:, None], rows], axis=1).tobytes()
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[samples]
    data = _png_file(struct.pack(">IIBBBBB", width, height, 16, colour, 0, 0, 0), raw)
    np.testing.assert_array_equal(decode_png16(data).reshape(image.shape), image)


def _filter_rows(lines: np.ndarray, bpp: int, kind: int) -> np.ndarray:
    """Every row filtered with PNG filter `kind` (0-4), vectorised from raw neighbours."""
    raw = lines.astype(np.int16)
    left = np.zeros_like(raw)
    left[:, bpp:] = raw[:, :-bpp]
    up = np.zeros_like(raw)
    up[1:] = raw[:-1]
    if kind == 4:
        return _paeth_filter(lines, bpp)
    predictor = [np.zeros_like(raw), left, up, (left + up) // 2][kind]
    return ((raw - predictor) & 255).astype(np.uint8)


def test_16bit_png_adam7_interlaced(photo):
    image = as_dtype(photo, np.uint16) + 3
    h, w, _ = image.shape
    raw = b""
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4)) + (
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ):
        sub = image[y0::dy, x0::dx]
        if sub.size:
            lines = sub.astype(">u2").view(np.uint8).reshape(sub.shape[0], -1)
            raw += np.concatenate([np.zeros((len(lines), 1), np.uint8), lines], axis=1).tobytes()
    data = _png_file(struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 1), raw)
    np.testing.assert_array_equal(decode_png16(data), image)


def test_16bit_grey_png_written_by_pillow(tmp_path, photo):
    grey = as_dtype(photo[:, :, 0], np.uint16) + 77
    Image.fromarray(grey).save(tmp_path / "g.png")  # Pillow's adaptive filters
    back, _ = read_image(tmp_path / "g.png")
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, grey)


# ---------------------------------------------------------------- depth conversion rules


def test_float_to_png_is_16bit_clipped(tmp_path, photo):
    image = (photo / 255.0 * 1.2 - 0.1).astype(np.float32)
    write_image(tmp_path / "f.png", image)
    back, _ = read_image(tmp_path / "f.png")
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, from_float(image, np.uint16))


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.float64])
def test_jpeg_of_deep_image_equals_jpeg_of_8bit(tmp_path, photo, dtype):
    write_image(tmp_path / "deep.jpg", as_dtype(photo, dtype))
    write_image(tmp_path / "8bit.jpg", photo)
    assert (tmp_path / "deep.jpg").read_bytes() == (tmp_path / "8bit.jpg").read_bytes()


def test_jpeg_default_quality_95_and_444(tmp_path, photo):
    write_image(tmp_path / "x.jpg", photo)
    Image.fromarray(photo).save(tmp_path / "ref.jpg", quality=95, subsampling=0)
    with Image.open(tmp_path / "x.jpg") as ours, Image.open(tmp_path / "ref.jpg") as ref:
        assert JpegImagePlugin.get_sampling(ours) == 0  # 4:4:4
        assert ours.quantization == ref.quantization


def test_jpeg_alpha_composited_over_white(tmp_path, photo):
    rgba = channels(photo, 4)
    write_image(tmp_path / "a.jpg", rgba, quality=100)
    back, _ = read_image(tmp_path / "a.jpg")
    a = rgba[:, :, 3:] / 255.0
    expected = photo * a + 255 * (1 - a)
    assert back.shape == photo.shape
    assert np.abs(back - expected).mean() < 1.5
    assert back[:, 0].min() >= 250  # fully transparent column is white


# ---------------------------------------------------------------- accepted and rejected modes

# Pillow mode -> (saved as, channels read, dtype read)
MODES = [
    ("1", "png", 1, np.uint8),
    ("L", "png", 1, np.uint8),
    ("LA", "png", 4, np.uint8),
    ("P", "png", 3, np.uint8),
    ("RGB", "png", 3, np.uint8),
    ("RGBA", "png", 4, np.uint8),
    ("CMYK", "tif", 3, np.uint8),
    ("CMYK", "jpg", 3, np.uint8),
    ("I;16", "png", 1, np.uint16),
    ("I;16", "tif", 1, np.uint16),
    ("I", "tif", 1, np.uint16),
    ("F", "tif", 1, np.float32),
    ("LA", "tif", 4, np.uint8),
    ("P", "tif", 3, np.uint8),
]


def _pillow_image(photo, mode):
    rgb = Image.fromarray(photo)
    if mode == "I;16":
        return Image.fromarray(as_dtype(photo[:, :, 0], np.uint16))
    if mode == "I":
        return Image.fromarray(photo[:, :, 0].astype(np.int32) * 200)
    if mode == "F":
        return Image.fromarray((photo[:, :, 0] / 255.0).astype(np.float32))
    if mode in ("LA", "PA"):
        alpha = Image.fromarray(channels(photo, 4)[:, :, 3])
        base = rgb.convert("L" if mode == "LA" else "P")
        base.putalpha(alpha)
        return base
    return rgb.convert(mode)


@pytest.mark.parametrize(("mode", "ext", "n", "dtype"), MODES)
def test_accepted_modes(tmp_path, photo, mode, ext, n, dtype):
    source = _pillow_image(photo, mode)
    path = tmp_path / f"in.{ext}"
    source.save(path)
    image, meta = read_image(path)
    assert image.dtype == dtype
    assert (image.shape[2] if image.ndim == 3 else 1) == n
    with Image.open(path) as reopened:
        if mode in ("I;16", "F"):
            expected = np.asarray(reopened)
        elif mode == "I":
            expected = np.asarray(reopened).astype(np.uint16)
        else:
            expected = np.asarray(reopened.convert({1: "L", 3: "RGB", 4: "RGBA"}[n]))
    np.testing.assert_array_equal(image, expected)


def test_palette_with_transparency_becomes_rgba(tmp_path, photo):
    pal = Image.fromarray(photo).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    index = int(np.asarray(pal)[0, 0])
    pal.save(tmp_path / "p.png", transparency=index)
    image, _ = read_image(tmp_path / "p.png")
    assert image.shape == (*photo.shape[:2], 4)
    transparent = np.asarray(pal) == index
    assert (image[:, :, 3][transparent] == 0).all() and (image[:, :, 3][~transparent] == 255).all()


def test_cmyk_converted_through_its_icc_profile(tmp_path, photo):
    if not CMYK_PROFILE.exists():
        pytest.skip("no CMYK ICC profile on this machine")
    profile = CMYK_PROFILE.read_bytes()
    srgb = ImageCms.createProfile("sRGB")
    cmyk = ImageCms.profileToProfile(
        Image.fromarray(photo),
        srgb,
        ImageCms.ImageCmsProfile(io.BytesIO(profile)),
        outputMode="CMYK",
    )
    cmyk.save(tmp_path / "c.tif", icc_profile=profile)
    image, meta = read_image(tmp_path / "c.tif")
    assert image.shape == photo.shape
    managed_error = np.abs(image.astype(float) - photo).mean()
    naive_error = np.abs(np.asarray(cmyk.convert("RGB"), float) - photo).mean()
    assert managed_error < 8 and managed_error < naive_error / 2
    assert ImageCms.getProfileName(
        ImageCms.ImageCmsProfile(io.BytesIO(meta.icc_profile))
    ).startswith("sRGB")


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("LAB", "CIELAB"), ("I", "outside 0..65535")],
)
def test_rejected_modes(tmp_path, photo, mode, reason):
    if mode == "LAB":
        source = Image.fromarray(photo).convert("LAB")
    else:
        source = Image.fromarray(photo[:, :, 0].astype(np.int32) * 1000)
    source.save(tmp_path / "x.tif")
    with pytest.raises(ImageReadError, match=reason):
        read_image(tmp_path / "x.tif")


def test_rejected_format(tmp_path, photo):
    Image.fromarray(photo).save(tmp_path / "x.gif")
    with pytest.raises(ImageReadError, match="unsupported format GIF"):
        read_image(tmp_path / "x.gif")


# ---------------------------------------------------------------- orientation and metadata


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("ext", ["png", "tif", "jpg"])
def test_exif_orientation_applied(tmp_path, photo, orientation, ext):
    path = tmp_path / f"o.{ext}"
    Image.fromarray(photo).save(path, exif=exif_with(orientation=orientation, make="Canon"))
    image, meta = read_image(path)
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im))
    np.testing.assert_array_equal(image, expected)
    exif = Image.Exif()
    exif.load(meta.exif)
    assert exif.get(274, 1) == 1 and exif[271] == "Canon"


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_orientation_on_deep_paths(tmp_path, photo, orientation):
    """16-bit PNG (numpy codec) and 16-bit TIFF (tifffile) are rotated as well."""
    image16 = as_dtype(photo, np.uint16)
    expected = np.asarray(ImageOps.exif_transpose(_with_orientation(photo, orientation)))
    meta = ImageMeta(exif=exif_with(orientation=orientation).tobytes())
    # write_image resets the tag, so write the 16-bit PNG by hand with the tag kept
    (tmp_path / "o.png").write_bytes(encode_png16(image16, exif=meta.exif))
    tifffile.imwrite(
        tmp_path / "o.tif", image16, photometric="rgb", extratags=[(274, "H", 1, orientation, True)]
    )
    for name in ("o.png", "o.tif"):
        back, _ = read_image(tmp_path / name)
        np.testing.assert_array_equal(back, as_dtype(expected, np.uint16))


def _with_orientation(photo, orientation):
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, "PNG", exif=exif_with(orientation=orientation))
    return Image.open(buffer)


def test_orientation_tag_reset_on_write(tmp_path, photo):
    meta = ImageMeta(exif=exif_with(orientation=6, make="Nikon").tobytes())
    write_image(tmp_path / "x.jpg", photo, meta)
    with Image.open(tmp_path / "x.jpg") as im:
        assert im.getexif()[274] == 1 and im.getexif()[271] == "Nikon"


@pytest.mark.parametrize("ext", ["jpg", "png", "webp", "tif", "16.png", "16.tif"])
def test_exif_icc_dpi_carried(tmp_path, photo, ext):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = exif_with(make="Fujifilm", model="X-T5", artist="Ada", date="2024:05:06 07:08:09")
    source = tmp_path / "src.jpg"
    Image.fromarray(photo).save(source, exif=exif, icc_profile=icc, dpi=(300, 300))
    image, meta = read_image(source)
    assert meta.icc_profile == icc and meta.dpi == (300.0, 300.0)
    if ext.startswith("16."):
        image = as_dtype(image, np.uint16)
    out = tmp_path / f"out.{ext.split('.')[-1]}"
    write_image(out, image, meta)
    back, back_meta = read_image(out)
    assert back_meta.icc_profile == icc
    carried = Image.Exif()
    carried.load(back_meta.exif)
    assert carried[271] == "Fujifilm" and carried[272] == "X-T5" and carried[315] == "Ada"
    if not ext.endswith("tif"):  # TIFF output keeps the IFD0 text tags only (documented)
        assert carried.get_ifd(0x8769)[0x9003] == "2024:05:06 07:08:09"
    if ext != "webp":
        # PNG stores whole pixels per metre: dpi = (px / m) * 0.0254 is up to 0.5 * 0.0254 off
        assert back_meta.dpi == pytest.approx((300.0, 300.0), abs=0.0254 / 2)


# ---------------------------------------------------------------- atomic writes, overwrite


def test_no_temporary_file_left(tmp_path, photo):
    for ext in ("jpg", "png", "tif", "webp"):
        write_image(tmp_path / f"x.{ext}", photo)
    assert sorted(os.listdir(tmp_path)) == ["x.jpg", "x.png", "x.tif", "x.webp"]
    mode = (tmp_path / "x.png").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


class EncoderCrash(RuntimeError):
    pass


@pytest.mark.parametrize("ext", ["jpg", "png", "tif"])
def test_failure_during_encoding_leaves_nothing(tmp_path, photo, monkeypatch, ext):
    def crash_after_some_bytes(file, *args, **kwargs):
        file.write(b"partial data")
        raise EncoderCrash("disk vanished")

    monkeypatch.setattr(
        Image.Image, "save", lambda self, file, *a, **k: crash_after_some_bytes(file)
    )
    monkeypatch.setattr(tifffile, "imwrite", crash_after_some_bytes)
    target = tmp_path / f"x.{ext}"
    with pytest.raises(ImageWriteError, match="disk vanished"):
        write_image(target, photo)
    assert os.listdir(tmp_path) == []
    # an existing file survives a failed overwrite intact
    target.write_bytes(b"previous version")
    with pytest.raises(ImageWriteError):
        write_image(target, photo, overwrite=True)
    assert target.read_bytes() == b"previous version"
    assert os.listdir(tmp_path) == [target.name]


def test_existing_file_not_overwritten_without_flag(tmp_path, photo):
    target = tmp_path / "x.png"
    target.write_bytes(b"keep me")
    with pytest.raises(ImageWriteError, match="file exists"):
        write_image(target, photo)
    assert target.read_bytes() == b"keep me"
    write_image(target, photo, overwrite=True)
    np.testing.assert_array_equal(read_image(target)[0], photo)


@pytest.mark.parametrize(
    ("name", "kwargs", "reason"),
    [
        ("x.bmp", {}, "unknown extension '.bmp'"),
        ("x", {}, "unknown extension '\\(none\\)'"),
        ("x.jpg", {"quality": 0}, "quality must be"),
        ("x.jpg", {"quality": 101}, "quality must be"),
        ("missing/x.png", {}, "No such file or directory"),
    ],
)
def test_write_errors_name_the_file(tmp_path, photo, name, kwargs, reason):
    with pytest.raises(ImageWriteError, match=reason) as info:
        write_image(tmp_path / name, photo, **kwargs)
    assert str(tmp_path / name) in str(info.value) and "\n" not in str(info.value)


def test_write_rejects_bad_arrays(tmp_path):
    with pytest.raises(ImageWriteError, match="dtype int64"):
        write_image(tmp_path / "x.png", np.zeros((4, 4), np.int64))
    with pytest.raises(ImageWriteError, match="2 channels"):
        write_image(tmp_path / "x.png", np.zeros((4, 4, 2), np.uint8))


# ---------------------------------------------------------------- bad input files


@pytest.fixture(scope="module")
def good_files(tmp_path_factory, photo):
    folder = tmp_path_factory.mktemp("good")
    files = {}
    for ext, image in (("jpg", photo), ("png", photo), ("16.png", as_dtype(photo, np.uint16))):
        files[ext] = folder / f"x.{ext}"
        write_image(files[ext], image)
    files["tif"] = folder / "x.tif"
    write_image(files["tif"], as_dtype(photo, np.float32))
    files["raw.tif"] = folder / "raw.tif"
    tifffile.imwrite(files["raw.tif"], photo, photometric="rgb")  # uncompressed
    return {ext: path.read_bytes() for ext, path in files.items()}


def _broken_crc(data: bytes) -> bytes:
    """The PNG with its header chunk's checksum wrong (one bit of the CRC flipped)."""
    return data[:29] + bytes([data[29] ^ 1]) + data[30:]


def _corrupt_png(data: bytes) -> bytes:
    damaged = bytearray(data)
    damaged[len(data) // 2 : len(data) // 2 + 64] = bytes(64)  # zeroes inside IDAT
    return bytes(damaged)


BAD_FILES = [
    ("truncated.jpg", lambda g: g["jpg"][: len(g["jpg"]) // 2], "truncated"),
    ("truncated.png", lambda g: g["png"][: len(g["png"]) // 2], "truncated"),
    ("truncated16.png", lambda g: g["16.png"][: len(g["16.png"]) // 2], "truncated"),
    ("truncated.tif", lambda g: g["tif"][: len(g["tif"]) // 2], "truncated"),
    ("truncated-raw.tif", lambda g: g["raw.tif"][: len(g["raw.tif"]) // 2], "truncated"),
    ("corrupt.png", lambda g: _corrupt_png(g["png"]), "corrupt"),
    ("corrupt16.png", lambda g: _corrupt_png(g["16.png"]), "corrupt"),
    ("header.jpg", lambda g: b"\xff\xd8\xff" + bytes(500), "damaged JPEG file: it starts as"),
    ("crc.png", lambda g: _broken_crc(g["png"]), "damaged PNG file: .* checksum \\(CRC\\)"),
    ("header.webp", lambda g: b"RIFF" + bytes(4) + b"WEBPVP8 " + bytes(60), "damaged WebP|corrupt"),
    ("header.tif", lambda g: b"II*\0" + bytes(60), "damaged TIFF|corrupt"),
    ("zero.jpg", lambda g: b"", "empty \\(0 bytes\\)"),
    ("text.jpg", lambda g: b"this is a shopping list\n" * 20, "not an image"),
]


@pytest.mark.parametrize(("name", "make", "reason"), BAD_FILES)
def test_bad_files_give_one_line_naming_the_file(tmp_path, good_files, name, make, reason):
    path = tmp_path / name
    path.write_bytes(make(good_files))
    with pytest.raises(ImageReadError, match=reason) as info:
        read_image(path)
    message = str(info.value)
    assert message.startswith(f"{path}: cannot read: ") and "\n" not in message
    assert isinstance(info.value, ValueError)


def test_pixel_limit_checked_before_decoding(tmp_path, monkeypatch):
    # a 20000 x 12000 PNG header (240 MP) whose pixel data is never decoded
    path = tmp_path / "huge.png"
    header = struct.pack(">IIBBBBB", 20000, 12000, 8, 0, 0, 0, 0)
    path.write_bytes(_png_file(header, bytes(1000)))  # a few bytes, never allocated
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(1))
    with pytest.raises(
        ImageReadError, match="240.0 megapixels is over the limit of 200 megapixels"
    ):
        read_image(path)
    assert not decoded
    with pytest.raises(ImageReadError, match="over the limit of 1e-05 megapixels"):
        read_image(path, pixel_limit=10)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageReadError, match="is a folder"):
        read_image(tmp_path)
