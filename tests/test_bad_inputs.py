"""docs/bad-inputs.md is kept true: every row of its table is run here."""

import re
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from skinsmooth_core.cli import main

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "docs" / "bad-inputs.md"


def _rows():
    rows = {}
    for line in TABLE.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[2].isdigit():
            quoted = re.fullmatch(r"`(.*)`", cells[3])
            rows[cells[0]] = (int(cells[2]), quoted.group(1) if quoted else None)
    return rows


ROWS = _rows()


def _photo(astronaut):
    return np.ascontiguousarray(astronaut[150:214, 200:264])


def _save(path, pixels, **options):
    Image.fromarray(pixels).save(path, **options)
    return path


def _bytes(path, data):
    path.write_bytes(data)
    return path


def _cmyk(path, pixels):
    Image.fromarray(pixels).convert("CMYK").save(path)
    return path


def _frames(path, pixels, count=3):
    frames = [Image.fromarray(np.roll(pixels, 3 * i, axis=0)) for i in range(count)]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    return path


def _broken_crc(path, pixels):
    data = _save(path, pixels).read_bytes()
    path.write_bytes(data[:29] + bytes([data[29] ^ 1]) + data[30:])
    return path


def _nan_tiff(path, pixels):
    image = (pixels / 255.0).astype(np.float32)
    image[3, 3, 0] = np.nan
    tifffile.imwrite(path, image, photometric="rgb")
    return path


def _truncated(path, pixels):
    data = _save(path, pixels, quality=90).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


# case -> (input file maker, extra arguments); the output is always d/out.png unless said
CASES = {
    "missing": (lambda d, p: d / "nowhere.jpg", []),
    "empty": (lambda d, p: _bytes(d / "e.jpg", b""), []),
    "text": (lambda d, p: _bytes(d / "t.jpg", b"eggs\nmilk\n" * 9), []),
    "truncated": (lambda d, p: _truncated(d / "cut.jpg", p), []),
    "png-crc": (lambda d, p: _broken_crc(d / "crc.png", p), []),
    "jpeg-header": (lambda d, p: _bytes(d / "h.jpg", b"\xff\xd8\xff" + bytes(500)), []),
    "bmp": (lambda d, p: _save(d / "x.bmp", p), []),
    "nan-tiff": (lambda d, p: _nan_tiff(d / "nan.tif", p), []),
    "too-large": (lambda d, p: _save(d / "x.png", p), ["--max-megapixels", "0.001"]),
    "exists": (lambda d, p: _save(d / "x.png", p) and _save(d / "out.png", p) and d / "x.png", []),
    "input-as-output": (lambda d, p: _save(d / "out.png", p), []),
    "mask-exists": (
        lambda d, p: _save(d / "out-mask.png", p[..., 0]) and _save(d / "x.png", p),
        ["--save-mask"],
    ),
    "animated": (lambda d, p: _frames(d / "anim.webp", p), []),
    "pages": (lambda d, p: _frames(d / "pages.tif", p), []),
    "cmyk": (lambda d, p: _cmyk(d / "c.jpg", p), []),
    "scale-nan": (lambda d, p: _save(d / "x.png", p), ["--scale", "nan"]),
    "scale-huge": (lambda d, p: _save(d / "x.png", p), ["--scale", "1e300"]),
    "strength": (lambda d, p: _save(d / "x.png", p), ["--strength", "2"]),
    "megapixels-inf": (lambda d, p: _save(d / "x.png", p), ["--max-megapixels", "inf"]),
    "megapixels-nan": (lambda d, p: _save(d / "x.png", p), ["--max-megapixels", "nan"]),
    "quality": (lambda d, p: _save(d / "x.png", p), ["--quality", "0"]),
    "jobs": (lambda d, p: _save(d / "x.png", p), ["--jobs", "0"]),
    "radius-huge": (lambda d, p: _save(d / "x.png", p), ["--method", "surface", "--scale", "1e6"]),
    "dask-jobs": (lambda d, p: _save(d / "x.png", p), ["--dask", "local:2", "--jobs", "2"]),
    "dask-workers": (lambda d, p: _save(d / "x.png", p), ["--dask", "local:0"]),
    "report-image": (lambda d, p: _save(d / "x.png", p), ["--report", "r.jpg"]),
}


def test_every_row_has_a_case_and_every_case_a_row():
    assert sorted(ROWS) == sorted(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_row(case, tmp_path, astronaut, capsys):
    make, extra = CASES[case]
    source = make(tmp_path, _photo(astronaut))
    out = tmp_path / "out.png"
    before = sorted(p.name for p in tmp_path.iterdir())
    status, message = ROWS[case]
    assert main([str(source), "-o", str(out), "--mask", "color", *extra]) == status
    err = capsys.readouterr().err
    if message is None:
        assert err == ""
    else:
        assert message in err
    if status:  # failed or refused: nothing new written, no temporary file left
        assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert "Traceback" not in err
