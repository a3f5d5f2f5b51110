#!/usr/bin/env python3
# skinsmooth: AI skin smoothing, GIMP 3 plug-in.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters > Enhance > Skin Smoothing... for GIMP 3 (``plug-in-skinsmooth``).

A thin adapter: pixels are read from GIMP as floats, smoothed by
``skinsmooth_core.smooth_skin`` and written back through GIMP, which applies
the selection, keeps the image's precision and records one undo step.

``skinsmooth install-plugin gimp`` installs this file as
``plug-ins/skinsmooth/skinsmooth.py`` and ``skinsmooth_core`` with its
dependencies for GIMP's Python into ``plug-ins/skinsmooth/deps/python<X.Y>``.
"""

import os
import sys
import warnings

PROCEDURE = "plug-in-skinsmooth"


def _add_dependency_folder():
    """Put the dependencies installed for this Python version first on sys.path."""
    here = os.path.dirname(os.path.realpath(__file__))
    deps = os.path.join(here, "deps", "python{}.{}".format(*sys.version_info[:2]))
    if os.path.isdir(deps) and deps not in sys.path:
        sys.path.insert(0, deps)


_add_dependency_folder()

import gi  # noqa: E402

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, GimpUi, GLib, GObject  # noqa: E402

# Choice arguments: (id, label, help). Ids are the PDB values.
PRESETS = (
    ("custom", "Custom (the sliders below)", "Use strength, texture and blemish removal as set"),
    ("natural", "Natural", "Light smoothing that keeps most texture"),
    ("medium", "Medium", "Balanced smoothing"),
    ("strong", "Strong", "Strong smoothing for close-up portraits"),
)
METHODS = (
    ("guided", "Guided filter", "Fast edge-preserving filter (He et al.)"),
    ("bilateral", "Bilateral filter", "Classic edge-preserving filter"),
    ("wls", "Weighted least squares", "Strongest edge preservation, slower"),
    ("surface", "Surface blur", "Photoshop-style threshold blur"),
    ("smart", "Smart blur", "Threshold blur that leaves edges alone"),
    ("local-mean", "Local mean (Lee)", "Local statistics filter"),
)
MASKS = (
    ("auto", "AI skin model (colour if not installed)", "Learned skin mask, else skin colour"),
    ("model", "AI skin model only", "Learned skin mask; an error when it is not installed"),
    ("color", "Skin colour", "Classic colour-range skin detection"),
    ("selection", "Selection only", "Smooth everything inside the selection"),
)
OUTPUTS = (
    ("new-layer", "New layer", "Add the smoothed result as a new layer above"),
    ("in-place", "In place", "Smooth the layer itself"),
    (
        "layer-mask",
        "New layer with skin mask",
        "Add a fully smoothed layer whose layer mask is the skin mask, to refine by painting",
    ),
    ("channel", "Skin mask as a channel", "Only add the skin mask as a channel; no smoothing"),
)
# PDB mask-source -> skinsmooth_core.masks.skin_mask method / smooth_skin mask.
MASK_METHODS = {"auto": "auto", "model": "unet", "color": "color"}
SMOOTH_MASKS = {**MASK_METHODS, "selection": "none"}  # GIMP applies the selection itself


class PluginError(Exception):
    """An error to report to the user as the procedure's error status."""

    def __init__(self, message, status=Gimp.PDBStatusType.EXECUTION_ERROR):
        super().__init__(message)
        self.status = status


def _choice(entries):
    choice = Gimp.Choice.new()
    for index, (nick, label, help_text) in enumerate(entries):
        choice.add(nick, index, label, help_text)
    return choice


def _import_core():
    """Import numpy and skinsmooth_core, or explain how to install them for GIMP's Python."""
    try:
        import numpy

        from skinsmooth_core import masks, pipeline
    except ImportError as exc:
        version = "{}.{}".format(*sys.version_info[:2])
        raise PluginError(
            f"Skin Smoothing needs the skinsmooth Python package in GIMP's Python {version} "
            f"({exc}). Install it with: skinsmooth install-plugin gimp --python-version {version}"
        ) from exc
    return numpy, masks, pipeline


def _float_format(drawable):
    """The gamma-encoded float Babl format of `drawable` and its colour channel count."""
    if drawable.is_rgb():
        return ("R'G'B'A float" if drawable.has_alpha() else "R'G'B' float"), 3
    if drawable.is_gray():
        return ("Y'A float" if drawable.has_alpha() else "Y' float"), 1
    raise PluginError(
        f"'{drawable.get_name()}' is an indexed layer; convert the image to RGB or grayscale "
        "first (Image > Mode)",
        Gimp.PDBStatusType.CALLING_ERROR,
    )


def _check_drawable(drawable):
    if not drawable.is_layer() or drawable.is_layer_mask():
        raise PluginError(
            f"'{drawable.get_name()}' is not a layer; select a layer to smooth",
            Gimp.PDBStatusType.CALLING_ERROR,
        )
    if drawable.is_group():
        raise PluginError(
            f"'{drawable.get_name()}' is a layer group; select a layer inside it",
            Gimp.PDBStatusType.CALLING_ERROR,
        )
    _float_format(drawable)


def _context_rect(drawable, x, y, width, height):
    """The selection bounds grown by a margin of context, clipped to the layer."""
    margin = max(32, min(256, (max(width, height) + 19) // 20))
    left, top = max(0, x - margin), max(0, y - margin)
    right = min(drawable.get_width(), x + width + margin)
    bottom = min(drawable.get_height(), y + height + margin)
    return left, top, right - left, bottom - top


def _read(np, drawable, rect, fmt):
    x, y, width, height = rect
    data = drawable.get_buffer().get(
        Gegl.Rectangle.new(x, y, width, height), 1.0, fmt, Gegl.AbyssPolicy.CLAMP
    )
    return np.frombuffer(bytes(data), dtype=np.float32).reshape(height, width, -1)


def _write(np, drawable, rect, fmt, pixels):
    """Write `pixels` through the shadow buffer: GIMP applies the selection and the undo."""
    x, y, width, height = rect
    shadow = drawable.get_shadow_buffer()
    data = np.ascontiguousarray(pixels, dtype=np.float32).tobytes()
    shadow.set(Gegl.Rectangle.new(x, y, width, height), fmt, data)
    shadow.flush()
    drawable.merge_shadow(True)
    drawable.update(x, y, width, height)


def _options(pipeline, config):
    """smooth_skin keyword arguments from the procedure's arguments."""
    preset = config.get_property("preset")
    if preset != "custom":
        options = pipeline.preset_options(preset)
    else:
        options = {name: config.get_property(name) for name in ("strength", "texture", "blemish")}
    scale = config.get_property("scale")
    options["scale"] = "auto" if scale == 0 else scale
    options["method"] = config.get_property("method")
    return options


class _Job:
    """The pixels of one layer: computed before anything in the image changes."""

    def __init__(self, drawable, rect, inner, fmt, pixels, mask):
        self.drawable, self.rect, self.inner = drawable, rect, inner
        self.fmt, self.pixels, self.mask = fmt, pixels, mask


def _compute(np, masks, pipeline, drawable, config):
    fmt, channels = _float_format(drawable)
    found, x, y, width, height = drawable.mask_intersect()
    if not found:
        raise PluginError(f"the selection does not touch the layer '{drawable.get_name()}'")
    rect = _context_rect(drawable, x, y, width, height)
    pixels = _read(np, drawable, rect, fmt)
    colour = np.ascontiguousarray(pixels[:, :, :channels])
    if channels == 1:
        colour = colour[:, :, 0]
    source, output = config.get_property("mask-source"), config.get_property("output")
    options = _options(pipeline, config)

    mask = result = None
    if output in ("channel", "layer-mask"):
        if source == "selection":
            mask = np.ones(colour.shape[:2], np.float32)
        else:
            mask = masks.skin_mask(colour, method=MASK_METHODS[source])
    if output == "layer-mask":
        # Smooth everywhere, at the size the skin mask implies; the mask becomes the layer mask.
        if options["scale"] == "auto":
            area = pipeline.largest_skin_area(mask)
            options["scale"] = pipeline.auto_scale(area, *mask.shape)
        result = pipeline.smooth_skin(colour, "none", **options)
    elif output != "channel":
        result = pipeline.smooth_skin(colour, SMOOTH_MASKS[source], **options)

    # Keep only the selection bounds; the margin was context for the filters.
    left, top = x - rect[0], y - rect[1]
    crop = np.s_[top : top + height, left : left + width]
    if result is not None:
        result = result.reshape(pixels.shape[:2] + (channels,))
        result = np.concatenate([result, pixels[:, :, channels:]], axis=2)[crop]
    if mask is not None:
        mask = mask[crop]
    return _Job(drawable, rect, (x, y, width, height), fmt, result, mask)


def _new_layer(image, drawable):
    layer = drawable.copy()
    layer.set_name(f"{drawable.get_name()} (skin smoothed)")
    image.insert_layer(layer, drawable.get_parent(), image.get_item_position(drawable))
    return layer


def _apply(np, image, job, output):
    """Write one job into the image (inside the caller's undo group)."""
    x, y, width, height = job.inner
    if output == "in-place":
        _write(np, job.drawable, job.inner, job.fmt, job.pixels)
        return job.drawable
    if output == "channel":
        offset_x, offset_y = job.drawable.get_offsets()[1:]
        channel = Gimp.Channel.new(
            image, "Skin mask", image.get_width(), image.get_height(), 50.0, Gegl.Color.new("red")
        )
        image.insert_channel(channel, None, 0)
        _write(np, channel, (x + offset_x, y + offset_y, width, height), "Y float", job.mask)
        return None
    layer = _new_layer(image, job.drawable)
    _write(np, layer, job.inner, job.fmt, job.pixels)
    if output == "layer-mask":
        if layer.get_mask() is not None:
            layer.remove_mask(Gimp.MaskApplyMode.DISCARD)
        layer_mask = layer.create_mask(Gimp.AddMaskType.BLACK)
        layer.add_mask(layer_mask)
        _write(np, layer_mask, job.inner, "Y float", job.mask)
    return layer


def _dialog(procedure, config):
    """Show the procedure dialog; the sliders are live only for the custom preset."""
    GimpUi.init(PROCEDURE)
    dialog = GimpUi.ProcedureDialog(procedure=procedure, config=config, title="Skin Smoothing")
    for name in ("strength", "texture", "blemish"):
        dialog.get_scale_entry(name, 100.0)  # a slider showing 0-100
    dialog.fill(None)
    custom = Gimp.ValueArray.new(1)
    custom.append(GObject.Value(GObject.TYPE_STRING, "custom"))
    for name in ("strength", "texture", "blemish"):
        dialog.set_sensitive_if_in(name, None, "preset", custom, True)
    accepted = dialog.run()
    dialog.destroy()
    return accepted


def run(procedure, run_mode, image, drawables, config, data):
    if run_mode == Gimp.RunMode.INTERACTIVE:
        if not _dialog(procedure, config):
            return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())

    new_layer = None
    try:
        if not drawables:
            raise PluginError("no layer selected", Gimp.PDBStatusType.CALLING_ERROR)
        for drawable in drawables:
            _check_drawable(drawable)
        np, masks, pipeline = _import_core()
        output = config.get_property("output")
        Gimp.progress_init("Skin smoothing")
        jobs = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for index, drawable in enumerate(drawables):
                jobs.append(_compute(np, masks, pipeline, drawable, config))
                Gimp.progress_update((index + 1) / len(drawables) * 0.9)
        for message in dict.fromkeys(str(warning.message) for warning in caught):
            Gimp.message(f"Skin Smoothing: {message}")  # e.g. the colour fallback of "auto"
        # Everything that can fail is done: change the image in one undo step.
        image.undo_group_start()
        try:
            for job in jobs:
                layer = _apply(np, image, job, output)
                if output in ("new-layer", "layer-mask"):
                    new_layer = layer
        finally:
            image.undo_group_end()
        Gimp.progress_update(1.0)
        Gimp.displays_flush()
    except PluginError as exc:
        return procedure.new_return_values(exc.status, GLib.Error(str(exc)))
    except Exception as exc:  # noqa: BLE001 - any failure must come back as a GIMP error
        # The core's messages say what is wrong (e.g. SegmenterUnavailable names the package).
        message = f"Skin Smoothing failed: {type(exc).__name__}: {exc}"
        return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, GLib.Error(message))

    values = procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())
    values.remove(1)
    values.insert(1, GObject.Value(Gimp.Layer, new_layer))
    return values


class SkinSmooth(Gimp.PlugIn):
    """Registers plug-in-skinsmooth."""

    def do_set_i18n(self, name):
        return False

    def do_query_procedures(self):
        return [PROCEDURE]

    def do_create_procedure(self, name):
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, run, None)
        procedure.set_image_types("RGB*, GRAY*")
        procedure.set_sensitivity_mask(
            Gimp.ProcedureSensitivityMask.DRAWABLE | Gimp.ProcedureSensitivityMask.DRAWABLES
        )
        procedure.set_menu_label("Skin Smoothing…")
        procedure.add_menu_path("<Image>/Filters/Enhance")
        procedure.set_documentation(
            "Smooth the skin of portraits and keep its texture",
            "Finds skin with a learned model (or by colour, or uses the selection) and smooths "
            "it with an edge-preserving filter, putting fine texture back. Works on RGB and "
            "grayscale layers at any precision, respects the selection, and is one undo step.",
            name,
        )
        procedure.set_attribution("skinsmooth developers", "GPL-3.0-or-later", "2025")
        flags = GObject.ParamFlags.READWRITE
        procedure.add_choice_argument(
            "preset", "_Preset", "Preset, or custom", _choice(PRESETS), "custom", flags
        )
        procedure.add_double_argument(
            "strength", "Stre_ngth", "How much the skin is smoothed", 0.0, 1.0, 0.6, flags
        )
        procedure.add_double_argument(
            "texture", "_Texture", "How much fine skin texture is kept", 0.0, 1.0, 0.35, flags
        )
        procedure.add_double_argument(
            "blemish",
            "_Blemish removal",
            "How strongly small spots are removed",
            0.0,
            1.0,
            0.5,
            flags,
        )
        procedure.add_double_argument(
            "scale",
            "Sc_ale (0 = automatic)",
            "Size of the effect: 1 suits a face of about 110 px; 0 = automatic from the skin area",
            0.0,
            16.0,
            0.0,
            flags,
        )
        procedure.add_choice_argument(
            "method",
            "Smoothing m_ethod",
            "Edge-preserving filter",
            _choice(METHODS),
            "guided",
            flags,
        )
        procedure.add_choice_argument(
            "mask-source", "Skin _mask", "Where the skin is", _choice(MASKS), "auto", flags
        )
        procedure.add_choice_argument(
            "output", "Outp_ut", "Where the result goes", _choice(OUTPUTS), "new-layer", flags
        )
        procedure.add_layer_return_value(
            "new-layer", "New layer", "The layer added (outputs new-layer, layer-mask)", True, flags
        )
        return procedure


Gimp.main(SkinSmooth.__gtype__, sys.argv)
