"""The skinsmooth command: files and folders, options, bad files, jobs, no tracebacks."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import as_dtype
from PIL import Image

from skinsmooth_core import masks
from skinsmooth_core.cli import main
from skinsmooth_core.io import ImageMeta, read_image, write_image
from skinsmooth_core.pipeline import PRESETS, smooth_skin

ROOT = Path(__file__).resolve().parents[1]
COLOR = ["--mask", "color"]  # deterministic and model-free: keeps the tests fast


@pytest.fixture(scope="module")
def face(astronaut):
    """A 128 x 112 crop of the face, with skin, hair and background."""
    return np.ascontiguousarray(astronaut[20:148, 160:272])


@pytest.fixture
def photo_png(tmp_path, face):
    path = tmp_path / "in" / "face.png"
    path.parent.mkdir()
    write_image(path, face)
    return path


def run(*args):
    return main([str(a) for a in args])


def expected(image, **options):
    """What the command should produce with --mask color."""
    return smooth_skin(image, mask="color", **options)


# ---------------------------------------------------------------- one file


def test_single_file_retouched(tmp_path, photo_png, face):
    out = tmp_path / "out.png"
    assert run(photo_png, "-o", out, *COLOR) == 0
    result, _ = read_image(out)
    np.testing.assert_array_equal(result, expected(face))
    assert not np.array_equal(result, face)  # skin changed


def test_nothing_asked_returns_the_input(tmp_path, photo_png, face):
    nothing = ["--strength", "0", "--blemish", "0", "--tone", "0"]
    assert run(photo_png, "-o", tmp_path / "out.png", *nothing, *COLOR) == 0
    np.testing.assert_array_equal(read_image(tmp_path / "out.png")[0], face)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_and_overrides(tmp_path, photo_png, face, preset):
    assert run(photo_png, "-o", tmp_path / "p.png", "--preset", preset, *COLOR) == 0
    np.testing.assert_array_equal(
        read_image(tmp_path / "p.png")[0], expected(face, **PRESETS[preset])
    )
    override = {**PRESETS[preset], "strength": 0.2, "texture": 0.9}
    args = ("--preset", preset, "--strength", "0.2", "--texture", "0.9", *COLOR)
    assert run(photo_png, "-o", tmp_path / "o.png", *args) == 0
    np.testing.assert_array_equal(read_image(tmp_path / "o.png")[0], expected(face, **override))


def test_every_smooth_skin_option_reaches_it(tmp_path, photo_png, face):
    args = ["--strength", "0.7", "--texture", "0.1", "--blemish", "0.9", "--scale", "1.5"]
    args += ["--method", "surface", *COLOR]
    assert run(photo_png, "-o", tmp_path / "x.png", *args) == 0
    options = dict(strength=0.7, texture=0.1, blemish=0.9, scale=1.5, method="surface")
    np.testing.assert_array_equal(read_image(tmp_path / "x.png")[0], expected(face, **options))


def test_heal_moles_reaches_smooth_skin(tmp_path, photo_png, face, monkeypatch):
    """--heal-moles is smooth_skin's moles=True, also over a preset; --no-heal-moles and
    leaving it out are the default (off)."""
    from skinsmooth_core import cli

    seen = []
    monkeypatch.setattr(cli, "_smooth_options", _spy(cli._smooth_options, seen))
    for flags in (["--heal-moles"], ["--preset", "strong", "--heal-moles"], ["--no-heal-moles"]):
        assert run(photo_png, "-o", tmp_path / "x.png", "--overwrite", *flags, *COLOR) == 0
    assert [options.get("moles") for options in seen] == [True, True, False]
    assert seen[1] == {**PRESETS["strong"], "moles": True}
    np.testing.assert_array_equal(read_image(tmp_path / "x.png")[0], expected(face, moles=False))


def _spy(function, calls):
    def spy(*args, **kwargs):
        calls.append(function(*args, **kwargs))
        return calls[-1]

    return spy


def test_mask_none_is_the_whole_image(tmp_path, photo_png, face):
    assert run(photo_png, "-o", tmp_path / "x.png", "--mask", "none") == 0
    np.testing.assert_array_equal(read_image(tmp_path / "x.png")[0], smooth_skin(face, mask="none"))


def test_16bit_tiff_keeps_depth_and_metadata(tmp_path, face):
    source = tmp_path / "deep.tif"
    exif = Image.Exif()
    exif[271] = "Hasselblad"
    write_image(source, as_dtype(face, np.uint16), ImageMeta(exif=exif.tobytes(), dpi=(240, 240)))
    assert run(source, "-o", tmp_path / "deep-out.tif", *COLOR) == 0
    result, meta = read_image(tmp_path / "deep-out.tif")
    assert result.dtype == np.uint16 and result.shape == face.shape
    np.testing.assert_array_equal(result, expected(as_dtype(face, np.uint16)))
    carried = Image.Exif()
    carried.load(meta.exif)
    assert carried[271] == "Hasselblad" and meta.dpi == pytest.approx((240, 240))


# ---------------------------------------------------------------- extra outputs


def test_save_mask_computed_once_and_used(tmp_path, photo_png, face, monkeypatch):
    calls = []
    real = masks.skin_mask

    def counting(image, method="auto"):
        calls.append(method)
        return real(image, method=method)

    monkeypatch.setattr(masks, "skin_mask", counting)
    for module in list(sys.modules.values()):  # also where the pipeline imported it by name
        name = getattr(module, "__name__", "")
        if name.startswith("skinsmooth_core.pipeline") and hasattr(module, "skin_mask"):
            monkeypatch.setattr(module, "skin_mask", counting)
    assert run(photo_png, "-o", tmp_path / "out.png", "--save-mask", *COLOR) == 0
    assert calls == ["color"]  # once: by the retouch, which also hands it out for saving
    saved, _ = read_image(tmp_path / "out-mask.png")
    monkeypatch.undo()
    from skinsmooth_core.pipeline import smooth_skin_info

    result, info = smooth_skin_info(face, mask="color", return_mask=True)
    assert saved.dtype == np.uint8 and saved.shape == face.shape[:2]
    np.testing.assert_array_equal(saved, np.rint(info["mask"] * 255).astype(np.uint8))
    np.testing.assert_array_equal(read_image(tmp_path / "out.png")[0], result)
    np.testing.assert_array_equal(result, smooth_skin(face, mask="color"))


def test_compare_is_before_and_after_side_by_side(tmp_path, photo_png, face):
    assert run(photo_png, "-o", tmp_path / "out.png", "--compare", *COLOR) == 0
    both, _ = read_image(tmp_path / "out-compare.png")
    h, w = face.shape[:2]
    assert both.shape == (h, 2 * w + 8, 3)
    np.testing.assert_array_equal(both[:, :w], face)
    np.testing.assert_array_equal(both[:, w + 8 :], read_image(tmp_path / "out.png")[0])
    assert (both[:, w : w + 8] == 255).all()


def test_demo(tmp_path, astronaut):
    out = tmp_path / "demo.png"
    assert run("--demo", out, *COLOR) == 0
    result, _ = read_image(out)
    assert result.shape == astronaut.shape
    assert 0 < np.mean(result != astronaut) < 0.9  # retouched, not replaced


# ---------------------------------------------------------------- batches


@pytest.fixture
def shoot(tmp_path, face):
    folder = tmp_path / "shoot"
    folder.mkdir()
    for i, name in enumerate(["a.png", "b.jpg", "c.tif"]):
        write_image(folder / name, np.roll(face, 9 * i, axis=1))
    (folder / "notes.txt").write_text("not an image, and not picked up by the folder")
    return folder


def test_folder_to_folder_keeps_names(tmp_path, shoot):
    assert run(shoot, "-o", tmp_path / "out", *COLOR) == 0
    assert sorted(os.listdir(tmp_path / "out")) == ["a.png", "b.jpg", "c.tif"]


def test_glob_and_format(tmp_path, shoot):
    assert run(shoot / "*.png", shoot / "*.tif", "-o", tmp_path / "out", "--format", "webp") == 0
    assert sorted(os.listdir(tmp_path / "out")) == ["a.webp", "c.webp"]


def test_bad_files_reported_and_batch_goes_on(tmp_path, shoot, capsys):
    (shoot / "empty.jpg").write_bytes(b"")
    (shoot / "list.jpg").write_text("eggs, milk, bread\n")
    whole = (shoot / "b.jpg").read_bytes()
    (shoot / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    code = run(shoot, tmp_path / "missing.png", "-o", tmp_path / "out", *COLOR)
    err = capsys.readouterr().err
    assert code == 1
    assert sorted(os.listdir(tmp_path / "out")) == ["a.png", "b.jpg", "c.tif"]
    lines = err.strip().splitlines()
    reasons = {"empty.jpg": "empty", "list.jpg": "not an image", "cut.jpg": "truncated"}
    reasons["missing.png"] = "no such file"
    for name, reason in reasons.items():
        [line] = [line for line in lines if name in line]
        assert reason in line and line.startswith(str(tmp_path))
    assert lines[-1] == "skinsmooth: 3 done, 4 failed"
    assert "Traceback" not in err


def test_input_never_overwritten(tmp_path, photo_png, face):
    before = photo_png.read_bytes()
    assert run(photo_png, "-o", photo_png, *COLOR) == 1
    assert photo_png.read_bytes() == before
    assert run(photo_png, "-o", photo_png.parent, *COLOR) == 1  # same name in the same folder
    assert photo_png.read_bytes() == before
    assert run(photo_png, "-o", photo_png, "--overwrite", *COLOR) == 0
    np.testing.assert_array_equal(read_image(photo_png)[0], expected(face))


def test_jobs_two_match_one_job(tmp_path, shoot):
    assert run(shoot, "-o", tmp_path / "one", *COLOR) == 0
    assert run(shoot, "-o", tmp_path / "two", "--jobs", "2", *COLOR) == 0
    for name in ("a.png", "b.jpg", "c.tif"):
        np.testing.assert_array_equal(
            read_image(tmp_path / "one" / name)[0], read_image(tmp_path / "two" / name)[0]
        )


def test_saving_the_mask_never_changes_the_result(tmp_path, astronaut):
    """A 1536 x 1536 photo (the working-size path): the image is the same with and without
    --save-mask, and the saved mask is the one the retouch used (upsampled as it blended)."""
    from skinsmooth_core.pipeline import smooth_skin_info

    big = np.asarray(Image.fromarray(astronaut).resize((1536, 1536), Image.BICUBIC))
    source = tmp_path / "big.png"
    write_image(source, big)
    assert run(source, "-o", tmp_path / "plain.png", *COLOR) == 0
    assert run(source, "-o", tmp_path / "saved.png", "--save-mask", *COLOR) == 0
    plain, saved = read_image(tmp_path / "plain.png")[0], read_image(tmp_path / "saved.png")[0]
    np.testing.assert_array_equal(saved, plain)
    _, info = smooth_skin_info(big, mask="color", return_mask=True)
    mask = read_image(tmp_path / "saved-mask.png")[0]
    expected = np.clip(np.rint(info["mask"] * 255), 0, 255)
    np.testing.assert_array_equal(mask, expected)


def test_save_mask_when_nothing_is_asked(tmp_path, photo_png, face):
    """Every effect at 0: the image is the input, and the mask the one a retouch would use."""
    from skinsmooth_core.pipeline import retouch

    nothing = ["--strength", "0", "--blemish", "0", "--tone", "0"]
    assert run(photo_png, "-o", tmp_path / "out.png", "--save-mask", *nothing, *COLOR) == 0
    np.testing.assert_array_equal(read_image(tmp_path / "out.png")[0], face)
    expected = retouch(face, "color", output="mask").mask
    saved = read_image(tmp_path / "out-mask.png")[0]
    np.testing.assert_array_equal(saved, np.rint(expected * 255).astype(np.uint8))


def test_one_photo_says_what_it_wrote(tmp_path, capsys):
    """A new user sees where the files went: one line per file on stdout, nothing else."""
    out = tmp_path / "demo.jpg"
    assert run("--demo", out, "--compare", "--save-mask", *COLOR) == 0
    captured = capsys.readouterr()
    written = [tmp_path / "demo.jpg", tmp_path / "demo-mask.png", tmp_path / "demo-compare.jpg"]
    assert captured.out.splitlines() == [f"wrote {path}" for path in written]
    assert captured.err == ""
    assert all(path.is_file() for path in written)
    assert run("--demo", tmp_path / "quiet.jpg", "--quiet", *COLOR) == 0
    assert capsys.readouterr() == ("", "")
    assert (tmp_path / "quiet.jpg").is_file()


def test_batch_quiet_but_for_its_summary(tmp_path, shoot, capsys):
    assert run(shoot, "-o", tmp_path / "a", "--save-mask", *COLOR) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "skinsmooth: 3 done, 0 failed\n"
    assert run(shoot, "-o", tmp_path / "b", "--quiet", *COLOR) == 0
    assert capsys.readouterr() == ("", "")


def test_progress_bar_only_when_asked_or_on_a_terminal(tmp_path, shoot, capsys):
    assert run(shoot, "-o", tmp_path / "a", *COLOR) == 0
    assert "[" not in capsys.readouterr().err.replace("skinsmooth:", "")
    assert run(shoot, "-o", tmp_path / "b", "--progress", *COLOR) == 0
    err = capsys.readouterr().err
    assert "3/3" in err and "#" * 24 in err


# ---------------------------------------------------------------- usage errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strength", "lots"], "invalid float value"),
        (["--jobs", "0"], "must be a whole number >= 1"),
        (["--scale", "big"], "must be 'auto' or a number"),
        (["--method", "magic"], "invalid choice"),
        (["--preset", "glamour"], "invalid choice"),
        (["--quality", "0"], "--quality must be from 1 to 100"),
        (["--strength", "-1"], "strength"),
        (["--demo", "x.png", "extra.jpg"], "--demo takes no input"),
        ([], "-o/--output is required"),
        (["--format", "png"], "does not match the output file"),
    ],
)
def test_usage_errors_exit_2_without_traceback(tmp_path, photo_png, capsys, args, message):
    if not any(a.startswith("--demo") for a in args):
        args = [str(photo_png), *args] + (["-o", str(tmp_path / "o.jpg")] if args else [])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "o.jpg").exists()


def test_clashing_outputs_refused_before_any_work(tmp_path, shoot, capsys):
    write_image(shoot / "a-mask.png", np.zeros((8, 8), np.uint8))
    assert run(shoot, "-o", tmp_path / "out", "--save-mask", *COLOR) == 2
    assert "would both be written to" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_several_inputs_need_a_folder(tmp_path, shoot, capsys):
    assert run(shoot / "a.png", shoot / "b.jpg", "-o", tmp_path / "x.jpg") == 2
    assert "-o must be a folder" in capsys.readouterr().err


def test_install_plugin_dispatch(capsys, monkeypatch):
    assert main(["install-plugin", "--help"]) == 0  # the installer's own help
    assert "krita" in capsys.readouterr().out
    assert main(["install-plugin", "photoshop"]) == 2
    assert "invalid choice: 'photoshop'" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "skinsmooth_core.plugin_install.install", None)
    assert main(["install-plugin", "krita"]) == 2
    assert "plug-in installer is not available" in capsys.readouterr().err


def test_python_m_has_no_traceback(tmp_path, photo_png):
    """The real entry point, in a subprocess: a bad file and a bad option."""
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a picture")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "skinsmooth_core"]
    done = subprocess.run(
        [*command, str(bad), str(photo_png), "-o", str(tmp_path / "out"), *COLOR],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{bad}: cannot read: not an image file" in done.stderr
    assert done.stderr.strip().endswith("skinsmooth: 1 done, 1 failed")
    assert (tmp_path / "out" / "face.png").exists()
    usage = subprocess.run(
        [*command, "--bogus"], capture_output=True, text=True, env=env, timeout=120
    )
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
    assert "unrecognized arguments: --bogus" in usage.stderr
