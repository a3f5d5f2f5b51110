"""16-bit PNG encoding and decoding with numpy and zlib.

Pillow has no 16-bit RGB mode: it decodes 16-bit RGB, RGBA and grey+alpha
PNGs to 8 bits. This module reads and writes those files at full depth,
following the PNG specification (W3C PNG, 3rd edition): chunks, the five
scanline filters and Adam7 interlacing. Only bit depth 16 is handled here;
every other PNG goes through Pillow.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# colour type -> samples per pixel (grey, RGB, grey+alpha, RGBA)
_SAMPLES = {0: 1, 2: 3, 4: 2, 6: 4}
_COLOUR_TYPE = {v: k for k, v in _SAMPLES.items()}
# Adam7 passes: (x0, y0, dx, dy)
_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


class PNGError(ValueError):
    """A PNG file that cannot be decoded (the message says why)."""


def png_header(head: bytes) -> tuple[int, int] | None:
    """Return (bit depth, colour type) from the first 26+ bytes of a PNG, or None."""
    if len(head) < 26 or not head.startswith(SIGNATURE) or head[12:16] != b"IHDR":
        return None
    return head[24], head[25]


def _chunks(data: bytes):
    pos = len(SIGNATURE)
    while True:
        if pos + 8 > len(data):
            raise PNGError("file is truncated (no IEND chunk)")
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        crc = data[pos + 8 + length : pos + 12 + length]
        if len(body) < length or len(crc) < 4:
            raise PNGError(f"file is truncated (inside a {kind.decode('latin-1')} chunk)")
        if zlib.crc32(kind + body) != struct.unpack(">I", crc)[0]:
            raise PNGError(f"corrupt data (CRC mismatch in a {kind.decode('latin-1')} chunk)")
        yield kind, body
        if kind == b"IEND":
            return
        pos += 12 + length


def _unfilter(rows: np.ndarray, bpp: int) -> np.ndarray:
    """Undo the PNG scanline filters; `rows` is uint8 (H, 1 + row bytes)."""
    kinds = rows[:, 0]
    if kinds.max(initial=0) > 4:
        raise PNGError(f"corrupt data (unknown scanline filter {int(kinds.max())})")
    lines = rows[:, 1:]
    height, nbytes = lines.shape
    if np.isin(kinds, (0, 1, 2)).all():  # fast path: None, Sub, Up only (what we write)
        out = np.empty_like(lines)
        prior = np.zeros(nbytes, np.uint8)
        for r in range(height):
            line = lines[r]
            if kinds[r] == 1:
                line = np.cumsum(line.reshape(-1, bpp), axis=0, dtype=np.uint8).ravel()
            elif kinds[r] == 2:
                line = line + prior
            out[r] = prior = line
        return out
    return _unfilter_wavefront(lines, kinds, bpp)


def _unfilter_wavefront(lines: np.ndarray, kinds: np.ndarray, bpp: int) -> np.ndarray:
    """General unfiltering (Average, Paeth): pixel (r, x) depends on (r, x-1), (r-1, x)
    and (r-1, x-1), so every anti-diagonal r + x = t is decoded at once."""
    height, nbytes = lines.shape
    width = nbytes // bpp
    filtered = lines.reshape(height, width, bpp).astype(np.int16)
    out = np.zeros((height + 1, width + 1, bpp), np.int16)  # zero row and column as padding
    for t in range(height + width - 1):
        r = np.arange(max(0, t - width + 1), min(height, t + 1))
        x = t - r
        left, up, upleft = out[r + 1, x], out[r, x + 1], out[r, x]
        p = left + up - upleft
        pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - upleft)
        paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, upleft))
        kind = kinds[r][:, None]
        predictor = np.select(
            [kind == 1, kind == 2, kind == 3, kind == 4],
            [left, up, (left + up) >> 1, paeth],
            default=0,
        )
        out[r + 1, x + 1] = (filtered[r, x] + predictor) & 255
    return out[1:, 1:].astype(np.uint8).reshape(height, nbytes)


def decode_png16(data: bytes) -> np.ndarray:
    """Decode a 16-bit PNG to uint16 (H, W) or (H, W, C) with C = 2, 3 or 4."""
    if not data.startswith(SIGNATURE):
        raise PNGError("not a PNG file")
    header, idat = None, []
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body[:13])
        elif kind == b"IDAT":
            idat.append(body)
    if header is None:
        raise PNGError("corrupt data (no IHDR chunk)")
    width, height, depth, colour, _, _, interlace = header
    if depth != 16 or colour not in _SAMPLES:
        raise PNGError(f"bit depth {depth} colour type {colour} is not a 16-bit PNG")
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as exc:
        raise PNGError(f"corrupt or truncated image data ({exc})") from None
    samples = _SAMPLES[colour]
    bpp = 2 * samples
    out = np.empty((height, width * bpp), np.uint8)
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    pos = 0
    for x0, y0, dx, dy in passes:
        w, h = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if w <= 0 or h <= 0:
            continue
        size = h * (w * bpp + 1)
        if pos + size > len(raw):
            raise PNGError("file is truncated (image data ends early)")
        rows = np.frombuffer(raw, np.uint8, size, pos).reshape(h, w * bpp + 1)
        pos += size
        block = _unfilter(rows, bpp).reshape(h, w, bpp)
        out.reshape(height, width, bpp)[y0::dy, x0::dx] = block
    image = out.view(">u2").reshape(height, width, samples).astype(np.uint16)
    return image[:, :, 0] if samples == 1 else image


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def encode_png16(
    image: np.ndarray,
    *,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    dpi: tuple[float, float] | None = None,
    level: int = 6,
) -> bytes:
    """Encode a uint16 image (H, W) or (H, W, C), C = 1, 2, 3 or 4, as a 16-bit PNG.

    Rows use the Up filter (the first row Sub), a good, fast choice for photos.
    """
    image = np.asarray(image, np.uint16)
    if image.ndim == 2:
        image = image[:, :, None]
    height, width, samples = image.shape
    lines = image.astype(">u2").view(np.uint8).reshape(height, width * samples * 2)
    filtered = np.empty((height, lines.shape[1] + 1), np.uint8)
    filtered[:, 0] = 2
    filtered[0, 0] = 1
    filtered[1:, 1:] = lines[1:] - lines[:-1]
    bpp = 2 * samples
    filtered[0, 1 : 1 + bpp] = lines[0, :bpp]
    filtered[0, 1 + bpp :] = lines[0, bpp:] - lines[0, :-bpp]
    ihdr = struct.pack(">IIBBBBB", width, height, 16, _COLOUR_TYPE[samples], 0, 0, 0)
    parts = [SIGNATURE, _chunk(b"IHDR", ihdr)]
    if icc_profile:
        parts.append(_chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(icc_profile)))
    if dpi:
        per_metre = [max(1, round(d / 0.0254)) for d in dpi]
        parts.append(_chunk(b"pHYs", struct.pack(">IIB", *per_metre, 1)))
    if exif:
        parts.append(_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\0\0") else exif))
    parts.append(_chunk(b"IDAT", zlib.compress(filtered.tobytes(), level)))
    parts.append(_chunk(b"IEND", b""))
    return b"".join(parts)
