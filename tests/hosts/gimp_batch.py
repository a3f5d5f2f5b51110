"""Runs inside the real GIMP 3 (python-fu-eval batch): drives plug-in-skinsmooth through the PDB.

Not a pytest module. tests/hosts/test_gimp.py copies it into the chroot and runs
``gimp-console-3.0 --batch-interpreter=python-fu-eval -b "exec(open(...).read())"``
with SKINSMOOTH_GIMP_WORK set to a folder holding ``in/`` (input images) and
gimp_dialog_driver.py; it writes ``out/<case>-before.*``, ``out/<case>-after.*``
and ``out/results.json``.
"""

import hashlib
import json
import os
import subprocess
import time
import traceback

from gi.repository import Gegl, Gimp, Gio

WORK = os.environ["SKINSMOOTH_GIMP_WORK"]
PROCEDURE = "plug-in-skinsmooth"
# Fixed arguments; each case overrides some.
ARGS = {
    "preset": "custom",
    "strength": 0.8,
    "texture": 0.3,
    "blemish": 0.5,
    "tone": 0.4,
    "scale": 0.0,  # automatic
    "method": "guided",
    "mask-source": "auto",
    "output": "new-layer",
}
FACE_RECT = (150, 60, 70, 110)  # x, y, width, height: left half of the face
OFFSET_LAYER = (140, 40, 160, 150)  # x, y, width, height of a layer cut around the face


def load(name):
    return Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(f"{WORK}/in/{name}"))


def export(image, name):
    """Export what the image shows; opaque images stay without an alpha channel."""
    path = f"{WORK}/out/{name}"
    copy = image.duplicate()
    if not any(layer.has_alpha() for layer in image.get_layers()):
        copy.flatten()
    Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, copy, Gio.File.new_for_path(path), None)
    copy.delete()
    return path


def layer_of(image):
    return image.get_layers()[0]


def checksum(image):
    """Digest of every layer's and channel's pixels, to prove an image was left as it was."""
    digest = hashlib.sha256()
    for item in list(image.get_layers()) + list(image.get_channels()):
        rect = Gegl.Rectangle.new(0, 0, item.get_width(), item.get_height())
        digest.update(bytes(item.get_buffer().get(rect, 1.0, None, Gegl.AbyssPolicy.CLAMP)))
    return digest.hexdigest()


def describe(image):
    return {
        "precision": image.get_precision().value_nick,
        "base_type": image.get_base_type().value_nick,
        "layers": [
            {
                "name": layer.get_name(),
                "has_mask": layer.get_mask() is not None,
                "has_alpha": layer.has_alpha(),
            }
            for layer in image.get_layers()
        ],
        "channels": [channel.get_name() for channel in image.get_channels()],
        "checksum": checksum(image),
    }


def press_in_dialog(key):
    """Press `key` in the plug-in's dialog once it shows (on the Xvfb display of the test)."""
    script = (
        'id=$(xdotool search --sync --onlyvisible --name "^Skin Smoothing$" | head -n1) && '
        f'sleep 0.5 && xdotool windowfocus --sync "$id" key --clearmodifiers {key}'
    )
    return subprocess.Popen(["timeout", "60", "sh", "-c", script])


def drive_dialog():
    """Drive the dialog's preview with gimp_dialog_driver.py (it ends with Cancel).

    GIMP runs with SKINSMOOTH_GIMP_PREVIEW_LOG naming a folder where the plug-in records its
    previews once that folder exists; it is made here, so only this case records them.
    """
    log = os.environ["SKINSMOOTH_GIMP_PREVIEW_LOG"]
    os.makedirs(log)
    command = ["python3", f"{WORK}/gimp_dialog_driver.py", log, f"{WORK}/out"]
    return subprocess.Popen(["timeout", "400", *command])


def run_plugin(image, drawables, run_mode=Gimp.RunMode.NONINTERACTIVE, **overrides):
    procedure = Gimp.get_pdb().lookup_procedure(PROCEDURE)
    config = procedure.create_config()
    config.set_property("run-mode", run_mode)
    config.set_property("image", image)
    config.set_core_object_array("drawables", drawables)
    for key, value in {**ARGS, **overrides}.items():
        config.set_property(key, value)
    start = time.monotonic()
    values = procedure.run(config)
    status = values.index(0)
    outcome = {"status": status.value_nick, "seconds": round(time.monotonic() - start, 2)}
    if status == Gimp.PDBStatusType.SUCCESS:
        layer = values.index(1)
        outcome["new_layer"] = layer.get_name() if layer is not None else None
    elif values.length() > 1:
        outcome["message"] = str(values.index(1))
    return outcome


def case(image, name, drawables=None, ext="png", press=None, **overrides):
    """Export before, run the plug-in, export after; return what happened.

    With `press`, run it interactively and press that key in its dialog, or let `press()`
    (a function returning the process that drives the dialog) do it.
    """
    before = describe(image)
    export(image, f"{name}-before.{ext}")
    run_mode = Gimp.RunMode.NONINTERACTIVE
    if press is not None:
        presser = press() if callable(press) else press_in_dialog(press)
        run_mode = Gimp.RunMode.INTERACTIVE
    outcome = run_plugin(image, drawables or [layer_of(image)], run_mode, **overrides)
    if press is not None:
        outcome["dialog_key_pressed"] = presser.wait() == 0
    outcome.update(before=before, after=describe(image))
    export(image, f"{name}-after.{ext}")
    return outcome


def case_rgb8_new_layer():
    return case(load("astronaut.png"), "rgb8_new_layer", **{"mask-source": "color"})


def case_heal_moles():
    return case(load("astronaut.png"), "heal_moles", **{"mask-source": "color", "heal-moles": True})


def case_rgb16_in_place():
    return case(load("astronaut16.png"), "rgb16_in_place", output="in-place")


def case_selection():
    image = load("astronaut.png")
    image.select_rectangle(Gimp.ChannelOps.REPLACE, *FACE_RECT)
    return case(image, "selection", output="in-place")


def case_grey16():
    image = load("astronaut.png")
    image.convert_grayscale()
    image.convert_precision(Gimp.Precision.U16_NON_LINEAR)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, *FACE_RECT)
    return case(image, "grey16", **{"mask-source": "selection"})


def case_rgba8():
    image = load("astronaut.png")
    layer = layer_of(image)
    layer.add_alpha()
    # A soft transparent band on the right (alpha ramps down); alpha must come back untouched.
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 330, 0, 182, 512)
    Gimp.Selection.feather(image, 120)
    layer.edit_clear()
    Gimp.Selection.none(image)
    return case(image, "rgba8", output="in-place", **{"mask-source": "color"})


def case_float_linear():
    image = load("astronaut.png")
    image.convert_precision(Gimp.Precision.FLOAT_LINEAR)
    return case(image, "float_linear", ext="tif", output="in-place", **{"mask-source": "color"})


def case_layer_mask():
    return case(
        load("astronaut.png"), "layer_mask", output="layer-mask", **{"mask-source": "color"}
    )


def case_offset_layer():
    """A layer smaller than the image, moved: the mask must land at the layer's place."""
    image = load("astronaut.png")
    layer = layer_of(image)
    layer.resize(*OFFSET_LAYER[2:], -OFFSET_LAYER[0], -OFFSET_LAYER[1])
    outcome = case(image, "offset_layer", output="channel", **{"mask-source": "color"})
    channel = image.get_channels()[0]
    rect = Gegl.Rectangle.new(0, 0, channel.get_width(), channel.get_height())
    values = channel.get_buffer().get(rect, 1.0, "Y float", Gegl.AbyssPolicy.CLAMP)
    with open(f"{WORK}/out/offset_layer-values.f32", "wb") as handle:
        handle.write(bytes(values))
    outcome["offsets"] = list(layer.get_offsets()[1:])
    return outcome


def case_channel():
    image = load("astronaut.png")
    outcome = case(image, "channel", output="channel", **{"mask-source": "color"})
    channel = image.get_channels()[0]
    rect = Gegl.Rectangle.new(0, 0, channel.get_width(), channel.get_height())
    values = channel.get_buffer().get(rect, 1.0, "Y float", Gegl.AbyssPolicy.CLAMP)
    with open(f"{WORK}/out/channel-values.f32", "wb") as handle:
        handle.write(bytes(values))
    return outcome


def case_indexed():
    image = load("astronaut.png")
    image.convert_indexed(
        Gimp.ConvertDitherType.NONE, Gimp.ConvertPaletteType.GENERATE, 64, False, False, ""
    )
    return case(image, "indexed")


def case_group():
    image = load("astronaut.png")
    group = Gimp.GroupLayer.new(image, "group")
    image.insert_layer(group, None, 0)
    return case(image, "group", drawables=[group])


def case_model_only():
    return case(load("astronaut.png"), "model_only", **{"mask-source": "model"})


def case_dialog_preview():
    """A 1024 x 1024 portrait: the preview at half size, a slider moved, the views, Cancel.

    Before case_dialog_ok: once an interactive run succeeds, GIMP opens later dialogs with
    its last values instead of the arguments given here.
    """
    # Mask "auto" (ARGS); the driver sets the strength to 0.9.
    return case(load("astronaut2x.png"), "dialog_preview", press=drive_dialog, strength=0.3)


def case_dialog_ok():
    return case(load("astronaut.png"), "dialog_ok", press="Return", output="in-place")


def case_dialog_cancel():
    return case(load("astronaut.png"), "dialog_cancel", press="Escape")


def case_without_deps():
    """The plug-in installed without its Python packages: a GIMP error, not a crash."""
    deps = os.path.expanduser("~/.config/GIMP/3.0/plug-ins/skinsmooth/deps")
    os.rename(deps, deps + ".hidden")
    try:
        return case(load("astronaut.png"), "without_deps")
    finally:
        os.rename(deps + ".hidden", deps)


CASES = {name[5:]: function for name, function in globals().items() if name.startswith("case_")}


def main():
    os.makedirs(f"{WORK}/out", exist_ok=True)
    results = {}
    for name, function in CASES.items():
        try:
            results[name] = function()
        except Exception:  # record it; the test reports the traceback
            results[name] = {"status": "batch-exception", "message": traceback.format_exc()}
        for image in Gimp.get_images():
            image.delete()
    with open(f"{WORK}/out/results.json", "w") as handle:
        json.dump(results, handle, indent=1)


main()
