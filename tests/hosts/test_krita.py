"""The Krita plug-in in the real Krita (Debian's package) under Xvfb.

Installs the plug-in with the real command (``skinsmooth install-plugin krita``,
dependencies included) into a throwaway HOME, starts Xvfb and Krita, and lets a
test-only driver plug-in (tests/hosts/krita_driver) open the astronaut portrait,
trigger the plug-in's own action, fill in its real dialog and press OK. The
driver dumps layer pixels; the checks here run on them.

Run with ``pytest -m krita``. Skips when Krita or Xvfb is missing, unless
SKINSMOOTH_REQUIRE_HOSTS=1 (CI), where that is a failure. SKINSMOOTH_UPDATE_DOCS=1
also copies the screenshots of the dialog under Xvfb into docs/.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skinsmooth_core.plugin_install.krita import enable_in_kritarc

pytestmark = pytest.mark.krita

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).resolve().parent / "krita_driver"
DOCS = ROOT / "docs"
SETTINGS = {
    "preset": "medium",
    "strength": 0.9,
    "texture": 0.2,
    "blemish": 0.6,
    "tone": 0.4,
    "method": "guided",
    "mask_source": "auto",
    "output": "new_layer",
    "mask_output": "none",
}
SELECTION = (150, 60, 80, 120)  # x, y, w, h: the left half of the face
CHEEKS = [(slice(115, 135), slice(195, 212)), (slice(115, 135), slice(235, 252))]
HAIR = (slice(25, 55), slice(175, 275))
NOT_SKIN = {  # regions no skin mask may touch: the flag's blue, the dark backdrop
    "flag": (slice(0, 64), slice(0, 30)),
    "dark background": (slice(300, 350), slice(450, 510)),
}


def _required():
    return os.environ.get("SKINSMOOTH_REQUIRE_HOSTS") == "1"


def _tool(name):
    path = shutil.which(name)
    if path is None:
        message = (
            f"{name} is not installed (apt-get install -y --no-install-recommends "
            "krita python3-pyqt5 python3-sip xvfb xauth)"
        )
        if _required():
            pytest.fail(message + "; SKINSMOOTH_REQUIRE_HOSTS=1 makes this a failure")
        pytest.skip(message)
    return path


def _start_xvfb(xvfb):
    display = next(
        n
        for n in range(90, 200)
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists()
    )
    process = subprocess.Popen(
        [xvfb, f":{display}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    socket = Path(f"/tmp/.X11-unix/X{display}")
    deadline = time.monotonic() + 20
    while not socket.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"Xvfb :{display} did not start")
        time.sleep(0.1)
    return process, f":{display}"


def _raw(out, info):
    """The pixels the driver dumped, as R, G, B, A (or one channel for a mask)."""
    dtype = {"U8": np.uint8, "U16": np.uint16, "F16": np.float16, "F32": np.float32}[info["depth"]]
    data = np.frombuffer((out / info["file"]).read_bytes(), dtype=dtype)
    channels = data.size // (info["width"] * info["height"])
    image = data.reshape(info["height"], info["width"], channels)
    if channels == 1:
        return image[..., 0]
    if info["depth"] in ("F16", "F32"):
        return image
    return image[..., [2, 1, 0, 3]]  # B, G, R, A -> R, G, B, A


def _roughness(rgb):
    """Mean absolute difference between horizontal neighbours (fine texture energy)."""
    grey = rgb.astype(np.float64).mean(axis=2)
    return np.abs(np.diff(grey, axis=1)).mean()


def install_plugin(work, portrait_rgb):
    """Install skinsmooth (real installer) and the driver into `work`/home; write the job."""
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    portrait = work / "astronaut.png"
    Image.fromarray(portrait_rgb).save(portrait)
    env = _environment(home)
    env["PYTHONPATH"] = str(ROOT)
    install = subprocess.run(
        [sys.executable, "-m", "skinsmooth_core", "install-plugin", "krita"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    pykrita = home / ".local" / "share" / "krita" / "pykrita"
    kritarc = home / ".config" / "kritarc"
    shutil.copytree(DRIVER, pykrita, dirs_exist_ok=True)
    kritarc.write_text(enable_in_kritarc(kritarc.read_text(), "skinsmooth_test_driver"))
    job = {
        "input": str(portrait),
        "out": str(work / "out"),
        "settings": SETTINGS,
        "selection": SELECTION,
        "screenshot": str(work / "krita-dialog.png"),
    }
    (work / "job.json").write_text(json.dumps(job))


def _environment(home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.pop("PYTHONPATH", None)  # Krita must find skinsmooth_core through the installed plug-in
    # An activated virtual environment's python first on PATH becomes Krita's embedded
    # Python's prefix, which then lacks the system's PyQt5 ("No module named 'PyQt5'").
    venv = env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONHOME", None)
    if venv:
        folders = env.get("PATH", "").split(os.pathsep)
        env["PATH"] = os.pathsep.join(f for f in folders if Path(f) != Path(venv) / "bin")
    env["PIP_CACHE_DIR"] = env.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
    env["HOME"] = str(home)
    return env


def run_krita(work, krita, xvfb, timeout=170):
    """Start Xvfb and Krita with the driver's job; return (facts, Krita's stderr)."""
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    env = _environment(work / "home")
    server, display = _start_xvfb(xvfb)
    env.update(DISPLAY=display, SKINSMOOTH_KRITA_JOB=str(work / "job.json"))
    try:
        run = subprocess.run(
            [krita, "--nosplash"], env=env, capture_output=True, text=True, timeout=timeout
        )
        stderr = run.stderr
    except subprocess.TimeoutExpired as exc:
        stderr = (exc.stderr or b"").decode(errors="replace") + "\n[Krita timed out]"
    finally:
        server.terminate()
        server.wait(10)
    facts_file = out / "facts.json"
    facts = json.loads(facts_file.read_text()) if facts_file.exists() else None
    return facts, stderr


@pytest.fixture(scope="module")
def krita_run(tmp_path_factory, astronaut):
    krita = _tool("krita")
    xvfb = _tool("Xvfb")
    work = tmp_path_factory.mktemp("krita")
    started = time.monotonic()
    install_plugin(work, astronaut)
    install_seconds = time.monotonic() - started
    started = time.monotonic()
    facts, stderr = run_krita(work, krita, xvfb)
    krita_seconds = time.monotonic() - started
    assert facts is not None, f"the driver wrote nothing; Krita said:\n{stderr[-3000:]}"
    log = "\n".join(facts["steps"]) + "\n" + stderr[-3000:]
    assert not facts["errors"], "\n".join(facts["errors"]) + "\n" + log
    assert "seconds" in facts, "the driver did not finish:\n" + log
    if os.environ.get("SKINSMOOTH_UPDATE_DOCS") == "1":  # refresh the screenshots in docs/
        for name in ("dialog", "dialog-mask", "dialog-detail", "screen"):
            name = f"krita-{name}.png"
            shutil.copy(work / name, DOCS / name)
    print(f"install {install_seconds:.1f} s, Krita run {krita_seconds:.1f} s")
    home = work / "home"
    return {"out": work / "out", "facts": facts, "home": home, "pykrita": pykrita_dir(home)}


def pykrita_dir(home):
    return home / ".local" / "share" / "krita" / "pykrita"


def test_installed_with_dependencies_for_kritas_python(krita_run):
    package = krita_run["pykrita"] / "skinsmooth"
    # Debian's Krita embeds the system Python: the installer must have found its version.
    system_python = subprocess.run(
        ["/usr/bin/python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = [p.name for p in (package / "deps").iterdir()]
    assert deps == [f"python{system_python}"]
    assert (package / "deps" / deps[0] / "skinsmooth_core" / "__init__.py").is_file()
    assert (package / "deps" / deps[0] / "numpy").is_dir()
    assert "enable_skinsmooth=true" in (krita_run["home"] / ".config" / "kritarc").read_text()


def _learned_mask_installed(pykrita):
    """True when Krita's copy of skinsmooth has the learned model and its runtime."""
    (deps,) = (pykrita / "skinsmooth" / "deps").iterdir()
    models = deps / "skinsmooth_core" / "_data" / "models"
    runtime = (deps / "ai_edge_litert").is_dir() or (deps / "tflite_runtime").is_dir()
    return runtime and any(models.glob("*.tflite"))


def test_auto_mask_reports_its_fallback(krita_run):
    """Mask "AI skin model": the learned mask, or the colour one with a note in the dialog."""
    statuses = krita_run["facts"]["preview_status"]
    assert len(statuses) >= 5, statuses
    fallback = ["learned skin mask unavailable" in status for status in statuses]
    if _learned_mask_installed(krita_run["pykrita"]):
        assert not any(fallback), statuses
    else:
        assert all(fallback), statuses


def test_action_is_in_filter_enhance_and_tools_scripts(krita_run):
    menus = krita_run["facts"]["menus"]
    assert "Filter/Enhance" in menus and "Tools/Scripts" in menus, menus


def test_cancel_changes_nothing(krita_run):
    action = krita_run["facts"]["actions"]["cancel"]
    assert action["seen"].get("dialog") and "message" not in action["seen"]
    assert len(action["layers"]) == 1


def test_new_layer_smooths_skin_only(krita_run, astronaut):
    out, facts = krita_run["out"], krita_run["facts"]
    action = facts["actions"]["new_layer"]
    assert "message" not in action["seen"], action["seen"]
    names = [layer["name"] for layer in action["layers"]]
    original_name = facts["original_before"]["name"]
    # A new layer directly above the original (Krita lists bottom to top).
    assert names == [original_name, f"{original_name} (skin smoothed)"], names
    before = _raw(out, facts["original_before"])
    np.testing.assert_array_equal(before[..., :3], astronaut)
    np.testing.assert_array_equal(_raw(out, action["original_after"]), before)
    result = _raw(out, action["result"])
    assert result.shape == before.shape and result.dtype == np.uint8
    np.testing.assert_array_equal(result[..., 3], before[..., 3])
    for cheek in CHEEKS:
        cheek_before, cheek_after = before[cheek][..., :3], result[cheek][..., :3]
        assert np.abs(cheek_after.astype(int) - cheek_before).mean() > 1.5
        assert _roughness(cheek_after) < 0.95 * _roughness(cheek_before)
    for region, where in NOT_SKIN.items():
        change = np.abs(result[where].astype(int) - before[where]).max()
        assert change <= 1, f"{region} changed by {change} levels"
    exported = np.asarray(Image.open(out / "export.png").convert("RGB"))
    np.testing.assert_array_equal(exported, result[..., :3])


def test_hair_left_alone(krita_run):
    """With "AI skin model", the hair changes much less than the skin."""
    out, facts = krita_run["out"], krita_run["facts"]
    before = _raw(out, facts["original_before"])
    result = _raw(out, facts["actions"]["new_layer"]["result"])
    cheeks = np.mean([np.abs(result[c].astype(int) - before[c]).mean() for c in CHEEKS])
    hair = np.abs(result[HAIR].astype(int) - before[HAIR]).mean()
    assert hair < 0.25 * cheeks, f"hair changed by {hair:.2f} levels, cheeks by {cheeks:.2f}"


def test_selection_is_respected(krita_run):
    out, facts = krita_run["out"], krita_run["facts"]
    action = facts["actions"]["selection"]
    assert "message" not in action["seen"], action["seen"]
    paint_layers = [layer for layer in action["layers"] if layer["type"] == "paintlayer"]
    assert len(paint_layers) == 3
    before = _raw(out, facts["original_before"])
    result = _raw(out, action["result"])
    x, y, w, h = SELECTION
    inside = np.zeros(before.shape[:2], bool)
    inside[y : y + h, x : x + w] = True
    np.testing.assert_array_equal(result[~inside], before[~inside])
    assert np.abs(result[inside].astype(int) - before[inside]).mean() > 0.5


def test_16_bit_layer_and_transparency_mask(krita_run):
    out, facts = krita_run["out"], krita_run["facts"]
    action = facts["actions"]["u16_mask"]
    assert "message" not in action["seen"], action["seen"]
    assert action["result"]["depth"] == "U16"
    original = _raw(out, action["original"])
    result = _raw(out, action["result"])
    # The 8-bit picture converted to 16 bits, channels in the right order.
    # (Krita converts through its colour engine: within 16 of 65535, not exactly x 257.)
    expected = _raw(out, facts["original_before"]).astype(np.int64) * 257
    np.testing.assert_allclose(original, expected, atol=16, rtol=0)
    assert action["masks"] == ["Skin mask"], action["layers"]
    assert not action["selection_after"]  # the selection used to make the mask is gone again
    projection = _raw(out, action["projection"])
    mask = projection[..., 3]  # the layer is opaque: its alpha after the mask is the mask
    full = np.iinfo(mask.dtype).max
    for cheek in CHEEKS:
        assert mask[cheek].mean() > 0.5 * full
        assert _roughness(result[cheek][..., :3]) < 0.95 * _roughness(original[cheek][..., :3])
    for region, where in NOT_SKIN.items():
        assert mask[where].mean() <= 0.01 * full, region
    np.testing.assert_array_equal(result[..., 3], original[..., 3])


def test_unsupported_colour_model_gets_a_message(krita_run):
    action = krita_run["facts"]["actions"]["cmyk"]
    assert action["model"] == "CMYKA"
    assert "RGB/Alpha" in action["seen"].get("message", ""), action["seen"]
    assert "dialog" not in action["seen"]
    assert action["unchanged"]


def test_32_bit_float_in_place_with_mask_as_selection(krita_run):
    out, facts = krita_run["out"], krita_run["facts"]
    action = facts["actions"]["f32_in_place"]
    assert "message" not in action["seen"], action["seen"]
    assert action["new_nodes"] == 0 and action["result"]["depth"] == "F32"
    before, after = _raw(out, action["before"]), _raw(out, action["result"])
    assert np.isfinite(after).all()
    # R, G, B order: the float layer still looks like the 8-bit portrait (orange suit stays orange).
    suit = (slice(400, 450), slice(40, 100))
    assert (before[suit][..., 0] > before[suit][..., 2]).all()
    for cheek in CHEEKS:
        assert np.abs(after[cheek] - before[cheek]).mean() > 1.5 / 255
    for region, where in NOT_SKIN.items():  # (float output is not rounded back to 8 bits)
        change = np.abs(after[where] - before[where])
        assert change.mean() <= 0.5 / 255 and change.max() <= 4 / 255, region
    np.testing.assert_array_equal(after[..., 3], before[..., 3])
    assert action["selection"]
    selection = np.frombuffer((out / "f32_selection.raw").read_bytes(), np.uint8).reshape(512, 512)
    for cheek in CHEEKS:
        assert selection[cheek].mean() > 128
    assert selection[NOT_SKIN["dark background"]].max() <= 5  # of 255


def test_zip_imports_with_kritas_own_importer(tmp_path):
    """The --zip archive goes through Krita's "Import Python Plugin from File" code."""
    importer_file = Path("/usr/share/krita/pykrita/plugin_importer/plugin_importer.py")
    if not importer_file.is_file():
        _tool("krita")  # skips or fails with the install hint
        pytest.skip(f"{importer_file} not found")
    archive = tmp_path / "skinsmooth-krita.zip"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "skinsmooth_core",
            "install-plugin",
            "krita",
            "--zip",
            str(archive),
            "--no-deps",
        ],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    namespace = {"i18n": str, "__name__": "plugin_importer"}
    exec(compile(importer_file.read_text(), str(importer_file), "exec"), namespace)
    resources = tmp_path / "resources"
    resources.mkdir()
    importer = namespace["PluginImporter"](str(archive), str(resources), lambda plugin: True)
    imported = importer.import_all()
    assert [plugin["name"] for plugin in imported] == ["skinsmooth"]
    assert (resources / "pykrita" / "skinsmooth.desktop").is_file()
    assert (resources / "pykrita" / "skinsmooth" / "dialog.py").is_file()
    assert (resources / "pykrita" / "skinsmooth" / "Manual.html").is_file()


def test_16_bit_float_new_layer(krita_run):
    out, facts = krita_run["out"], krita_run["facts"]
    action = facts["actions"]["f16"]
    assert "message" not in action["seen"], action["seen"]
    assert action["result"]["depth"] == "F16"
    before = _raw(out, action["original"]).astype(np.float32)
    after = _raw(out, action["result"]).astype(np.float32)
    assert np.isfinite(after).all()
    for cheek in CHEEKS:
        assert np.abs(after[cheek] - before[cheek]).mean() > 1.5 / 255
    for region, where in NOT_SKIN.items():  # half floats: steps of 1/2048 near 1
        change = np.abs(after[where] - before[where])
        assert change.mean() <= 0.5 / 255 and change.max() <= 4 / 255, region
    np.testing.assert_array_equal(after[..., 3], before[..., 3])
