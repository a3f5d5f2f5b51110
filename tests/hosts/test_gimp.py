"""The GIMP 3 plug-in in the real GIMP 3 (Debian trixie chroot, headless).

Prepares (or reuses) the chroot with tests/hosts/gimp_chroot.sh, installs the
plug-in with the real installer (``skinsmooth install-plugin gimp``, dependencies
for the chroot's Python 3.13) into a throwaway HOME inside the chroot, runs
``gimp-console-3.0`` with tests/hosts/gimp_batch.py, which calls
``plug-in-skinsmooth`` through the PDB on a portrait and exports before/after
images, then checks the exported files here. The dialog runs on an Xvfb
display: tests/hosts/gimp_dialog_driver.py drives its preview with keys, and
the plug-in records each preview it draws (SKINSMOOTH_GIMP_PREVIEW_LOG).
SKINSMOOTH_UPDATE_DOCS=1 also copies the dialog's screenshots into docs/.

Run with ``pytest -m gimp`` as root on Linux. When GIMP 3 cannot be set up the
tests skip, unless SKINSMOOTH_REQUIRE_HOSTS=1 (CI), where they fail.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from skinsmooth_core.masks import skin_mask
from skinsmooth_core.pipeline import smooth_skin
from skinsmooth_core.pipeline.preview import SkinPreview, downscale

pytestmark = pytest.mark.gimp

HERE = Path(__file__).resolve().parent
DOCS = HERE.parents[1] / "docs"
CHROOT_SCRIPT = HERE / "gimp_chroot.sh"
# What the `skinsmooth` console script runs.
SKINSMOOTH = "import sys; from skinsmooth_core.cli import main; sys.exit(main(sys.argv[1:]))"
GIMP_PYTHON = "3.13"
# Inside the chroot: an X display on a free number for the plug-in's dialog, gone with the run.
XVFB = (
    "exec 5>{display_file}; Xvfb -displayfd 5 -nolisten tcp -screen 0 1024x768x24 "
    ">/dev/null 2>&1 & xvfb=$!; trap 'kill $xvfb' EXIT; "
    "for i in $(seq 100); do [ -s {display_file} ] && break; sleep 0.1; done; "
    "export DISPLAY=:$(cat {display_file}); "
)  # Debian trixie's GIMP 3 runs Python 3.13
# Regions of the astronaut portrait (rows, columns).
FACE = np.s_[95:145, 190:250]  # cheeks, nose, mouth
WALL = np.s_[0:60, 320:390]  # grey studio wall
VISOR = np.s_[400:480, 320:420]  # black helmet visor
HAIR = np.s_[15:55, 170:280]  # blond hair above the forehead
FACE_RECT = (150, 60, 70, 110)  # x, y, width, height, as in gimp_batch.py
OFFSET_LAYER = (140, 40, 160, 150)  # as in gimp_batch.py
ARGS = dict(strength=0.8, texture=0.3, blemish=0.5, tone=0.4, method="guided")  # gimp_batch.py
MASK = "color"  # the rgb8_new_layer case


def _unavailable(reason):
    if os.environ.get("SKINSMOOTH_REQUIRE_HOSTS") == "1":
        pytest.fail(f"GIMP 3 is required (SKINSMOOTH_REQUIRE_HOSTS=1) but {reason}")
    pytest.skip(f"GIMP 3 not available: {reason}")


def _tail(text, lines=40):
    return "\n".join(text.strip().splitlines()[-lines:])


@pytest.fixture(scope="module")
def chroot():
    """The prepared trixie chroot (created on first use, then reused from its cache)."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        _unavailable("the Debian trixie chroot with GIMP 3 needs Linux and root")
    try:
        result = subprocess.run(
            [str(CHROOT_SCRIPT), "prepare"], capture_output=True, text=True, timeout=1800
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        _unavailable(f"preparing the chroot failed: {exc}")
    if result.returncode != 0:
        _unavailable(f"preparing the chroot failed:\n{_tail(result.stderr)}")
    return Path(result.stdout.strip().splitlines()[-1])


def _write_inputs(folder):
    folder.mkdir(parents=True)
    astronaut = data.astronaut()
    cv2.imwrite(str(folder / "astronaut.png"), astronaut[:, :, ::-1])
    # 16-bit with real 16-bit content: low bytes that an 8-bit round trip would lose.
    low_bits = np.random.default_rng(0).integers(0, 257, astronaut.shape)
    deep = np.minimum(astronaut.astype(np.int64) * 257 + low_bits, 65535).astype(np.uint16)
    cv2.imwrite(str(folder / "astronaut16.png"), deep[:, :, ::-1])
    # 1024 x 1024, each pixel doubled: its half-size preview holds the portrait's own values.
    double = np.repeat(np.repeat(astronaut, 2, axis=0), 2, axis=1)
    cv2.imwrite(str(folder / "astronaut2x.png"), double[:, :, ::-1])
    return deep


@pytest.fixture(scope="module")
def gimp_run(chroot):
    """Install the plug-in into a throwaway HOME in the chroot and run the batch in GIMP."""
    name = f"skinsmooth-gimp-{uuid.uuid4().hex[:8]}"
    work = chroot / "tmp" / name
    inside = f"/tmp/{name}"  # the same folder as seen from inside the chroot
    plugins = work / "home" / ".config" / "GIMP" / "3.0" / "plug-ins"
    timings = {}
    try:
        deep = _write_inputs(work / "in")
        shutil.copy(HERE / "gimp_batch.py", work / "gimp_batch.py")
        shutil.copy(HERE / "gimp_dialog_driver.py", work / "gimp_dialog_driver.py")
        start = time.monotonic()
        installer = subprocess.run(
            [sys.executable, "-c", SKINSMOOTH, "install-plugin", "gimp"]
            + ["--dest", str(plugins), "--python-version", GIMP_PYTHON],
            capture_output=True,
            text=True,
            timeout=900,
        )
        timings["install"] = time.monotonic() - start
        assert installer.returncode == 0, f"installer failed:\n{installer.stdout}{installer.stderr}"
        start = time.monotonic()
        gimp_console = (
            "gimp-console-3.0 -i -n --no-splash --batch-interpreter=python-fu-eval "
            f"-b \"exec(open('{inside}/gimp_batch.py').read())\" --quit"
        )
        command = [
            str(CHROOT_SCRIPT),
            "run",
            "env",
            f"HOME={inside}/home",
            f"SKINSMOOTH_GIMP_WORK={inside}",
            f"SKINSMOOTH_GIMP_PREVIEW_LOG={inside}/out/preview-log",  # made by the preview case
            "bash",
            "-c",
            XVFB.format(display_file=f"{inside}/display") + gimp_console,
        ]
        gimp = subprocess.run(command, capture_output=True, text=True, timeout=600)
        timings["gimp"] = time.monotonic() - start
        log = gimp.stdout + gimp.stderr
        results_file = work / "out" / "results.json"
        assert gimp.returncode == 0 and results_file.is_file(), (
            f"GIMP failed (exit {gimp.returncode}):\n{_tail(log, 80)}"
        )
        results = json.loads(results_file.read_text())
        if os.environ.get("SKINSMOOTH_UPDATE_DOCS") == "1":  # refresh the screenshots in docs/
            for name in ("dialog", "dialog-mask"):
                if (work / "out" / f"{name}.png").is_file():
                    shutil.copy(work / "out" / f"{name}.png", DOCS / f"gimp-{name}.png")
        timings.update({name: result.get("seconds") for name, result in results.items()})
        print(f"GIMP timings (s): {timings}")
        yield {
            "results": results,
            "out": work / "out",
            "plugins": plugins,
            "deep": deep,
            "log": log,
        }
    finally:
        if os.environ.get("SKINSMOOTH_KEEP_GIMP_WORK") != "1":
            shutil.rmtree(work, ignore_errors=True)


def _read(path):
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, f"GIMP did not export {path.name}"
    if image.ndim == 3:
        image = image[:, :, [2, 1, 0, 3][: image.shape[2]]]  # BGR(A) -> RGB(A)
    return image


def _pair(run, name, ext="png"):
    return _read(run["out"] / f"{name}-before.{ext}"), _read(run["out"] / f"{name}-after.{ext}")


def _result(run, name):
    result = run["results"][name]
    assert result["status"] != "batch-exception", result["message"]
    return result


def _mean_change(before, after, region):
    return float(np.abs(after[region].astype(np.float64) - before[region]).mean())


def _assert_unchanged(before, after, region, levels=2.0):
    """Away from skin: at most `levels` 8-bit levels anywhere and nearly none on average.

    Not exact: the skin mask is soft, and its faint tails may move a pixel by a level.
    """
    level = {np.dtype(np.uint8): 1.0, np.dtype(np.uint16): 257.0}.get(before.dtype, 1 / 255)
    change = np.abs(after[region].astype(np.float64) - before[region]) / level
    assert change.max() <= levels and change.mean() < 0.25, (change.max(), change.mean())


def test_installer_put_plugin_and_deps_in_place(gimp_run):
    folder = gimp_run["plugins"] / "skinsmooth"
    script = folder / "skinsmooth.py"
    assert script.is_file() and os.access(script, os.X_OK)
    deps = folder / "deps" / f"python{GIMP_PYTHON}"
    assert (deps / "skinsmooth_core" / "pipeline").is_dir()
    assert (deps / "numpy").is_dir() and (deps / "scipy").is_dir()


def test_new_layer_smooths_skin_only(gimp_run):
    result = _result(gimp_run, "rgb8_new_layer")
    assert result["status"] == "success", result
    names = [layer["name"] for layer in result["after"]["layers"]]
    assert len(names) == 2 and result["new_layer"] == names[0] == "Background (skin smoothed)"
    assert result["after"]["layers"][1] == result["before"]["layers"][0]  # original kept
    before, after = _pair(gimp_run, "rgb8_new_layer")
    assert after.dtype == np.uint8 and after.shape == before.shape
    assert _mean_change(before, after, FACE) > 1.0
    _assert_unchanged(before, after, WALL)
    _assert_unchanged(before, after, VISOR)


def test_same_result_as_the_core(gimp_run):
    before, after = _pair(gimp_run, "rgb8_new_layer")
    expected = smooth_skin(before, MASK, **ARGS)
    difference = np.abs(after.astype(np.int16) - expected)
    # GIMP's Python 3.13 runs other numpy/scipy builds: allow float rounding, not more.
    assert difference.max() <= 2 and (difference > 1).mean() < 1e-3


def test_heal_moles_reaches_the_core(gimp_run):
    """The heal-moles argument is the core's ``moles``: the same result as the core's."""
    assert _result(gimp_run, "heal_moles")["status"] == "success"
    before, after = _pair(gimp_run, "heal_moles")
    expected = smooth_skin(before, MASK, moles=True, **ARGS)
    difference = np.abs(after.astype(np.int16) - expected)
    assert difference.max() <= 2 and (difference > 1).mean() < 1e-3  # as for rgb8_new_layer


def test_auto_mask_same_as_the_core_and_hair_unchanged(gimp_run):
    # "auto" in GIMP is the learned model when GIMP's deps have it and the model, else colour.
    model_in_gimp = _result(gimp_run, "model_only")["status"] == "success"
    before, after = _pair(gimp_run, "rgb16_in_place")
    expected = smooth_skin(before, "unet" if model_in_gimp else "color", **ARGS)
    difference = np.abs(after.astype(np.int32) - expected) / 257
    assert difference.max() <= 2 and (difference > 1).mean() < 1e-3
    # Hair: the learned mask leaves it out, checked here as GIMP users see it.
    if not model_in_gimp:
        pytest.xfail("GIMP's Python has no LiteRT runtime: the colour fallback includes hair")
    hair, face = _mean_change(before, after, HAIR), _mean_change(before, after, FACE)
    assert hair < 0.1 * face, f"hair changed by {hair / 257:.2f} levels, face by {face / 257:.2f}"


def test_sixteen_bit_stays_sixteen_bit(gimp_run):
    result = _result(gimp_run, "rgb16_in_place")
    assert result["status"] == "success", result
    assert result["before"]["precision"] == result["after"]["precision"] == "u16-non-linear"
    assert len(result["after"]["layers"]) == 1
    before, after = _pair(gimp_run, "rgb16_in_place")
    assert before.dtype == after.dtype == np.uint16
    np.testing.assert_array_equal(before, gimp_run["deep"])  # GIMP loaded all 16 bits
    _assert_unchanged(before, after, WALL)
    changed = after[FACE] != before[FACE]
    assert changed.mean() > 0.5
    # New values use the full 16-bit range, not 8-bit values scaled by 257.
    assert (after[FACE][changed] % 257 != 0).mean() > 0.9


def test_selection_is_respected(gimp_run):
    result = _result(gimp_run, "selection")
    assert result["status"] == "success", result
    before, after = _pair(gimp_run, "selection")
    x, y, width, height = FACE_RECT
    inside = np.zeros(before.shape[:2], bool)
    inside[y : y + height, x : x + width] = True
    np.testing.assert_array_equal(after[~inside], before[~inside])
    assert _mean_change(before, after, np.s_[95:145, 190:220]) > 1.0


def test_grey_sixteen_bit_with_selection_mask(gimp_run):
    result = _result(gimp_run, "grey16")
    assert result["status"] == "success", result
    assert result["after"]["base_type"] == "gray"
    assert result["after"]["precision"] == "u16-non-linear"
    before, after = _pair(gimp_run, "grey16")
    assert before.ndim == after.ndim == 2 and after.dtype == np.uint16
    x, y, width, height = FACE_RECT
    inside = np.zeros(before.shape, bool)
    inside[y : y + height, x : x + width] = True
    np.testing.assert_array_equal(after[~inside], before[~inside])
    assert _mean_change(before, after, np.s_[95:145, 190:220]) > 100  # of 65535


def test_rgba_alpha_untouched(gimp_run):
    result = _result(gimp_run, "rgba8")
    assert result["status"] == "success", result
    before, after = _pair(gimp_run, "rgba8")
    assert before.shape[2] == after.shape[2] == 4
    alpha = before[:, :, 3]
    assert alpha.min() == 0 and 0 < np.median(alpha[:, 300:400]) < 255  # a real ramp
    np.testing.assert_array_equal(after[:, :, 3], alpha)
    assert _mean_change(before, after, FACE) > 1.0
    _assert_unchanged(before, after, WALL)


def test_float_linear_is_smoothed_in_perceptual_values(gimp_run):
    result = _result(gimp_run, "float_linear")
    assert result["status"] == "success", result
    assert result["after"]["precision"] == "float-linear"
    before, after = _pair(gimp_run, "float_linear", "tif")
    assert after.dtype == np.float32
    _assert_unchanged(before, after, WALL)
    # GIMP exports gamma-encoded floats: the input is the 8-bit portrait.
    before8, after8 = _pair(gimp_run, "rgb8_new_layer")
    np.testing.assert_allclose(before, before8 / 255.0, atol=1e-4)
    # The same result as the 8-bit run (within its rounding): the filters saw gamma-encoded
    # values. Smoothing linear light instead would differ by about 60 levels at edges.
    assert np.abs(after - after8 / 255.0).max() < 6 / 255


def test_layer_mask_output(gimp_run):
    result = _result(gimp_run, "layer_mask")
    assert result["status"] == "success", result
    layers = result["after"]["layers"]
    assert len(layers) == 2 and layers[0]["has_mask"] and not layers[1]["has_mask"]
    before, after = _pair(gimp_run, "layer_mask")
    assert _mean_change(before, after, FACE) > 1.0
    _assert_unchanged(before, after, WALL)
    # A smoothed layer seen through the skin mask looks like the new-layer output (the layer
    # mask is the raw soft mask, smooth_skin refines its own edge-aware: small differences).
    new_layer = _read(gimp_run["out"] / "rgb8_new_layer-after.png")
    assert np.abs(after.astype(np.int16) - new_layer).mean() < 0.5


def test_channel_output_leaves_pixels(gimp_run):
    result = _result(gimp_run, "channel")
    assert result["status"] == "success", result
    assert result["after"]["channels"] == ["Skin mask"] and result["before"]["channels"] == []
    assert result["after"]["layers"] == result["before"]["layers"]
    before, after = _pair(gimp_run, "channel")
    np.testing.assert_array_equal(after, before)
    # The channel holds the skin mask as opacity (linear "Y float"), stored by GIMP as gamma-
    # encoded 8 bits for this image: half a code step is up to 1.14/255 in linear values.
    channel = np.fromfile(gimp_run["out"] / "channel-values.f32", np.float32)
    expected = skin_mask(before, method="color")
    np.testing.assert_allclose(channel.reshape(expected.shape), expected, atol=1.2 / 255)
    assert expected.max() > 0.9 and (expected < 0.05).mean() > 0.3  # a real mask, not a constant


def test_dialog_ok_runs_with_its_values(gimp_run):
    result = _result(gimp_run, "dialog_ok")
    assert result["dialog_key_pressed"] and result["status"] == "success", result
    assert len(result["after"]["layers"]) == 1  # output in-place, as set in the dialog's config
    before, after = _pair(gimp_run, "dialog_ok")
    assert _mean_change(before, after, FACE) > 1.0


def test_dialog_cancel_leaves_the_image(gimp_run):
    result = _result(gimp_run, "dialog_cancel")
    assert result["dialog_key_pressed"] and result["status"] == "cancel", result
    assert result["after"] == result["before"]


def test_offset_layer_mask_lands_in_place(gimp_run):
    result = _result(gimp_run, "offset_layer")
    assert result["status"] == "success", result
    x, y, width, height = OFFSET_LAYER
    assert result["offsets"] == [x, y]
    astronaut = data.astronaut()
    channel = np.fromfile(gimp_run["out"] / "offset_layer-values.f32", np.float32)
    channel = channel.reshape(astronaut.shape[:2])
    inside = np.s_[y : y + height, x : x + width]
    expected = skin_mask(astronaut[inside], method="color")
    np.testing.assert_allclose(channel[inside], expected, atol=1.2 / 255)
    channel[inside] = 0
    assert not channel.any()  # nothing outside the layer


@pytest.mark.parametrize("name", ["indexed", "group"])
def test_unsupported_drawable_is_a_gimp_error(gimp_run, name):
    result = _result(gimp_run, name)
    assert result["status"] == "calling-error", result
    assert ("indexed" if name == "indexed" else "group") in result["message"]
    assert result["after"] == result["before"]  # image left as it was


def test_missing_packages_are_a_gimp_error(gimp_run):
    result = _result(gimp_run, "without_deps")
    assert result["status"] == "execution-error", result
    assert "skinsmooth install-plugin gimp --python-version 3.13" in result["message"]
    assert result["after"] == result["before"]


def test_missing_model_is_a_gimp_error(gimp_run):
    result = _result(gimp_run, "model_only")
    deps = gimp_run["plugins"] / "skinsmooth" / "deps" / f"python{GIMP_PYTHON}"
    models = list((deps / "skinsmooth_core" / "_data" / "models").glob("*.tflite"))
    if (deps / "ai_edge_litert").is_dir() and models:
        assert result["status"] == "success", result
    else:
        assert result["status"] == "execution-error", result
        assert any(word in result["message"] for word in ("ai-edge-litert", "model", "segmenter"))
        assert result["after"] == result["before"]


# The dialog's preview (case dialog_preview: a 1024 x 1024 portrait, strength 0.3, mask "auto").
PREVIEW_OPTIONS = dict(
    texture=0.3, blemish=0.5, tone=0.4, moles=False, scale="auto", method="guided"
)


@pytest.fixture(scope="module")
def preview_run(gimp_run):
    """What gimp_dialog_driver.py did and saw; each step holds the preview it waited for."""
    driver = json.loads((gimp_run["out"] / "driver.json").read_text())
    assert driver["ok"], f"{driver.get('error')}\n{_tail(gimp_run['log'])}"
    steps = {step["name"]: step for step in driver["steps"]}
    for step in steps.values():
        step["picture"] = np.load(gimp_run["out"] / "preview-log" / step["file"])
    return {"driver": driver, "steps": steps, "out": gimp_run["out"]}


@pytest.fixture(scope="module")
def host_preview(gimp_run):
    """The core's preview of the same portrait on this side, and the mask GIMP's "auto" is."""
    double = np.repeat(np.repeat(data.astronaut(), 2, axis=0), 2, axis=1)
    model_in_gimp = _result(gimp_run, "model_only")["status"] == "success"
    preview = SkinPreview(downscale(double, 2), factor=2)
    return preview, "unet" if model_in_gimp else "color"


def _assert_same_picture(got, expected):
    """Within a level: the same core on GIMP's Python (other numpy/scipy builds, and babl's
    8-bit to float conversion instead of numpy's) differs in float rounding only; a few
    pixels at a threshold of the mask or of the spot detector may flip and move further."""
    difference = np.abs(got.astype(np.int16) - expected)
    assert got.shape == expected.shape and (difference > 1).mean() < 1e-3, difference.max()


def test_dialog_opens_with_the_preview(preview_run, host_preview):
    host, source = host_preview
    opened = preview_run["steps"]["opened"]
    # A 1024 x 1024 layer is previewed at half size, at 1:1 on screen, in the result view.
    assert opened["factor"] == 2 and opened["area"][2:] == [512, 512]
    assert opened["view"] == "result" and opened["mask"] == "auto"
    # Without the model in GIMP's Python the dialog says that it uses the colour mask.
    assert ("colour detector" in opened["status"]) == (source == "color"), opened["status"]
    assert opened["options"] == dict(strength=0.3, **PREVIEW_OPTIONS)
    result, _ = host.smooth(source, **opened["options"])
    _assert_same_picture(opened["picture"], host.picture("result", result))
    original = data.astronaut()
    assert _mean_change(original, opened["picture"], FACE) > 0.3  # the skin is smoothed


def test_preview_follows_the_strength_slider(preview_run, host_preview):
    host, source = host_preview
    before, after = preview_run["steps"]["opened"], preview_run["steps"]["strength"]
    assert after["options"] == dict(strength=0.9, **PREVIEW_OPTIONS)  # typed into the dialog
    assert after["mask_computations"] == before["mask_computations"] == 1  # the mask is reused
    result, _ = host.smooth(source, **after["options"])
    _assert_same_picture(after["picture"], host.picture("result", result))
    assert _mean_change(before["picture"], after["picture"], FACE) > 1.0
    _assert_unchanged(before["picture"], after["picture"], WALL)


def test_preview_shows_the_original_and_the_skin_mask(preview_run, host_preview):
    host, source = host_preview
    steps = preview_run["steps"]
    np.testing.assert_array_equal(steps["original"]["picture"], data.astronaut())
    mask = steps["mask"]["picture"]
    _assert_same_picture(mask, host.picture("mask", source=source))
    assert mask[FACE].mean() > 200 and mask[WALL].mean() < 20
    assert steps["mask"]["mask_computations"] == 1
    np.testing.assert_array_equal(steps["result"]["picture"], steps["strength"]["picture"])


def test_dialog_screenshot_shows_the_preview(preview_run):
    """What the X server shows where the preview is: exactly the last picture drawn."""
    shown = preview_run["steps"]["result"]
    x, y, width, height = shown["area"]
    screen = _read(preview_run["out"] / "dialog.png")
    assert screen.shape[:2] == tuple(preview_run["driver"]["window_size"][::-1])
    np.testing.assert_array_equal(screen[y : y + height, x : x + width, :3], shown["picture"])
    mask_screen = _read(preview_run["out"] / "dialog-mask.png")
    mask = preview_run["steps"]["mask"]["picture"][:, :, 0]
    for channel in range(3):
        np.testing.assert_array_equal(mask_screen[y : y + height, x : x + width, channel], mask)


def test_preview_dialog_cancel_leaves_the_image(gimp_run, preview_run):
    result = _result(gimp_run, "dialog_preview")
    assert result["dialog_key_pressed"] and result["status"] == "cancel", result
    assert result["after"] == result["before"]
