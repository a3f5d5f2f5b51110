"""Output sets (all or none), leftovers of killed writers, multi-frame inputs."""

import os
import warnings

import numpy as np
import pytest
from PIL import Image

from skinsmooth_core.cli import main
from skinsmooth_core.io import (
    ImageWriteError,
    MultiFrameWarning,
    check_targets,
    read_image,
    remove_partial,
    write_images,
)


@pytest.fixture
def pixels(astronaut):
    return np.ascontiguousarray(astronaut[100:164, 180:260])


def _listing(folder):
    return sorted(os.listdir(folder))


def test_set_written_whole(tmp_path, pixels):
    items = [(tmp_path / "a.png", pixels, None), (tmp_path / "a-mask.png", pixels[..., 0], None)]
    write_images(items)
    assert _listing(tmp_path) == ["a-mask.png", "a.png"]
    np.testing.assert_array_equal(read_image(tmp_path / "a.png")[0], pixels)


def test_an_existing_member_stops_the_whole_set_before_any_file(tmp_path, pixels):
    (tmp_path / "a-mask.png").write_bytes(b"keep me")
    items = [(tmp_path / "a.png", pixels, None), (tmp_path / "a-mask.png", pixels, None)]
    with pytest.raises(ImageWriteError, match="a-mask.png.*file exists"):
        write_images(items)
    assert _listing(tmp_path) == ["a-mask.png"]  # no a.png, no temporary file
    assert (tmp_path / "a-mask.png").read_bytes() == b"keep me"


def test_a_failing_member_leaves_nothing(tmp_path, pixels):
    """The third file's folder is missing: the first two are not left behind."""
    items = [
        (tmp_path / "a.jpg", pixels, None),
        (tmp_path / "a-compare.jpg", pixels, None),
        (tmp_path / "gone" / "a-mask.png", pixels, None),
    ]
    with pytest.raises(ImageWriteError, match="gone"):
        write_images(items)
    assert _listing(tmp_path) == []


def test_check_targets(tmp_path):
    (tmp_path / "x.png").write_bytes(b"")
    check_targets([tmp_path / "y.png"])
    check_targets([tmp_path / "x.png"], overwrite=True)
    with pytest.raises(ImageWriteError, match="file exists"):
        check_targets([tmp_path / "y.png", tmp_path / "x.png"])
    with pytest.raises(ValueError, match="extension"):
        check_targets([tmp_path / "y.bmp"])


def test_remove_partial_only_removes_that_files_temporaries(tmp_path):
    for name in (".a.png.x1.part", ".a.png.x2.part", ".b.png.x1.part", "a.png"):
        (tmp_path / name).write_bytes(b"")
    assert len(remove_partial(tmp_path / "a.png")) == 2
    assert _listing(tmp_path) == [".b.png.x1.part", "a.png"]


def test_cli_refuses_an_existing_extra_output_before_the_retouch(tmp_path, pixels, capsys):
    """--save-mask with NAME-mask.png already there: nothing written, and after the
    conflict is gone a rerun succeeds (no half set blocks it)."""
    source = tmp_path / "face.png"
    Image.fromarray(pixels).save(source)
    out = tmp_path / "out.jpg"
    (tmp_path / "out-mask.png").write_bytes(b"someone else's")
    assert main([str(source), "-o", str(out), "--save-mask", "--mask", "color"]) == 1
    assert "out-mask.png" in capsys.readouterr().err
    assert not out.exists()
    os.unlink(tmp_path / "out-mask.png")
    assert main([str(source), "-o", str(out), "--save-mask", "--mask", "color"]) == 0
    assert out.exists() and (tmp_path / "out-mask.png").exists()


@pytest.mark.parametrize(
    "name, kind",
    [
        ("anim.webp", "WebP has 3 frames"),
        ("anim.png", "PNG has 3 frames"),
        ("pages.tif", "TIFF has 3 pages"),
    ],
)
def test_only_the_first_frame_is_read_with_a_warning(tmp_path, pixels, name, kind):
    frames = [Image.fromarray(np.roll(pixels, 5 * i, axis=1)) for i in range(3)]
    frames[0].save(tmp_path / name, save_all=True, append_images=frames[1:], lossless=True)
    with pytest.warns(MultiFrameWarning, match=f"{name}: the {kind}; only the first is read"):
        image, _ = read_image(tmp_path / name)
    np.testing.assert_array_equal(image, pixels)


def test_single_frame_files_read_without_warning(tmp_path, pixels):
    for name in ("one.webp", "one.png", "one.tif"):
        Image.fromarray(pixels).save(tmp_path / name, lossless=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            read_image(tmp_path / name)


def test_cli_warns_once_per_multi_frame_file(tmp_path, pixels, capsys):
    frames = [Image.fromarray(pixels), Image.fromarray(pixels[::-1].copy())]
    frames[0].save(tmp_path / "anim.webp", save_all=True, append_images=frames[1:])
    assert (
        main([str(tmp_path / "anim.webp"), "-o", str(tmp_path / "o.png"), "--mask", "color"]) == 0
    )
    err = capsys.readouterr().err
    assert err.count("only the first is read") == 1 and "anim.webp" in err
