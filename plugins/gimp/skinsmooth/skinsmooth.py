#!/usr/bin/env python3
# skinsmooth: AI skin smoothing, GIMP 3 plug-in.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters > Enhance > Skin Smoothing... for GIMP 3 (``plug-in-skinsmooth``).

A thin adapter: pixels are read from GIMP as floats, retouched by
``skinsmooth_core.pipeline.retouch`` and written back through GIMP, which applies
the selection, keeps the image's precision and records one undo step. The
dialog's preview is ``skinsmooth_core.pipeline.preview.SkinPreview`` on a
reduced copy of the same pixels, drawn in a ``GimpUi.PreviewArea``.

The procedure's arguments are GIMP's own tables below, not read from the core: GIMP
registers them even where skinsmooth_core is not installed (the run then says how to
install it). tests/test_gimp_arguments.py checks them against the core's options
(``skinsmooth_core.pipeline.options``: names, values, labels, ranges, defaults).

``skinsmooth install-plugin gimp`` installs this file as
``plug-ins/skinsmooth/skinsmooth.py`` and ``skinsmooth_core`` with its
dependencies for GIMP's Python into ``plug-ins/skinsmooth/deps/python<X.Y>``.
"""

import json
import os
import sys
import threading
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
gi.require_version("Gtk", "3.0")
from gi.repository import Gegl, Gimp, GimpUi, GLib, GObject, Gtk  # noqa: E402

# Choice arguments: (id, label, help). Ids are the PDB values; the core's, but for the mask
# sources "model" (the core's "unet") and "selection" (GIMP applies the selection itself), and
# the "custom" preset (the sliders).
PRESETS = (
    ("custom", "Custom (the sliders below)", "Use the strength, texture, blemish and tone set"),
    ("natural", "Natural", "Light smoothing that keeps most texture"),
    ("medium", "Medium", "Balanced smoothing (the defaults)"),
    ("strong", "Strong", "Strong smoothing for close-up portraits"),
)
METHODS = (
    ("guided", "Guided filter (fast)", "Fast edge-preserving filter (He et al.)"),
    ("bilateral", "Bilateral filter", "Classic edge-preserving filter"),
    ("surface", "Surface blur", "Photoshop-style threshold blur"),
    ("local-mean", "Local mean (Lee)", "Local statistics filter"),
    ("wls", "Weighted least squares", "Strongest edge preservation, slower"),
    ("smart", "Smart blur", "Threshold blur that leaves edges alone"),
)
MASKS = (
    ("auto", "AI skin model", "Learned skin mask, else skin colour (with a warning)"),
    ("model", "AI skin model only", "Learned skin mask; an error when not installed"),
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
# Number arguments: (name, label, help, minimum, maximum, default); scale 0 is "auto".
NUMBERS = (
    ("strength", "Stre_ngth", "How much the skin is smoothed", 0.0, 1.0, 0.6),
    ("texture", "_Texture", "How much fine skin texture (pores) is put back", 0.0, 1.0, 0.35),
    (
        "blemish",
        "_Blemish removal",
        "How strongly spots darker or redder than the skin are healed (at any strength)",
        0.0,
        1.0,
        0.5,
    ),
    (
        "tone",
        "T_one evening",
        "How much blotchy redness and uneven colour are evened (shading kept)",
        0.0,
        1.0,
        0.3,
    ),
    (
        "scale",
        "Sc_ale (0 = automatic)",
        "Size of the effect: 1 suits a face of about 110 px; 0 = automatic from the skin area",
        0.0,
        16.0,
        0.0,
    ),
)
# On/off arguments: (PDB name, the core's option, label, help, default).
SWITCHES = (
    (
        "heal-moles",
        "moles",
        "Heal mo_les",
        "Also heal moles and beauty marks (small, round, very dark, on skin all around); "
        "pupils and nostrils never",
        False,
    ),
)
# PDB mask-source -> the core's mask source (GIMP applies the selection itself).
SMOOTH_MASKS = {"auto": "auto", "model": "unet", "color": "color", "selection": "none"}
# PDB output -> the core's retouch output.
RETOUCH_OUTPUTS = {
    "new-layer": "image",
    "in-place": "image",
    "layer-mask": "layer",
    "channel": "mask",
}
ARGUMENTS = (
    "preset", "strength", "texture", "blemish", "tone", "heal-moles", "scale", "method",
    "mask-source", "output",
)  # fmt: skip
AMOUNTS = ("strength", "texture", "blemish", "tone")  # 0-1 sliders, live for the custom preset
# The preview: what it can show (view, label with a mnemonic free in the dialog), its delay.
PREVIEW_VIEWS = (("result", "Smoothe_d"), ("original", "Ori_ginal"), ("mask", "S_kin mask"))
PREVIEW_DELAY_MS = 250
PREVIEW_TYPES = {
    1: Gimp.ImageType.GRAY_IMAGE,
    2: Gimp.ImageType.GRAYA_IMAGE,
    3: Gimp.ImageType.RGB_IMAGE,
    4: Gimp.ImageType.RGBA_IMAGE,
}
# Tests only (tests/hosts/test_gimp.py): an existing folder where every preview drawn is
# recorded (its pixels as .npy and a line of previews.jsonl).
PREVIEW_LOG = "SKINSMOOTH_GIMP_PREVIEW_LOG"


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

        from skinsmooth_core import pipeline
    except ImportError as exc:
        version = "{}.{}".format(*sys.version_info[:2])
        raise PluginError(
            f"Skin Smoothing needs the skinsmooth Python package in GIMP's Python {version} "
            f"({exc}). Install it with: skinsmooth install-plugin gimp --python-version {version}"
        ) from exc
    return numpy, pipeline


def _import_preview():
    """Import skinsmooth_core's preview module (see _import_core)."""
    _import_core()
    from skinsmooth_core.pipeline import preview

    return preview


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


def _read(np, drawable, rect, fmt, abyss=Gegl.AbyssPolicy.CLAMP):
    x, y, width, height = rect
    data = drawable.get_buffer().get(Gegl.Rectangle.new(x, y, width, height), 1.0, fmt, abyss)
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
        options = {name: config.get_property(name) for name in AMOUNTS}
    for name, option, *_ in SWITCHES:  # whatever the preset (presets leave them off)
        options[option] = config.get_property(name)
    scale = config.get_property("scale")
    options["scale"] = "auto" if scale == 0 else scale
    options["method"] = config.get_property("method")
    return options


class _Job:
    """The pixels of one layer and its mask: computed before anything in the image changes."""

    def __init__(self, drawable, rect, inner, fmt, pixels, mask, notes):
        self.drawable, self.rect, self.inner = drawable, rect, inner
        self.fmt, self.pixels, self.mask, self.notes = fmt, pixels, mask, notes


def _region(pipeline, drawable):
    """Format, processed rectangle and where the selection bounds lie in it.

    The processed rectangle is the selection bounds grown by a margin of context for
    the filters (the core's ``context_box``), in layer coordinates.
    """
    fmt, _ = _float_format(drawable)
    found, x, y, width, height = drawable.mask_intersect()
    if not found:
        raise PluginError(f"the selection does not touch the layer '{drawable.get_name()}'")
    size = (drawable.get_width(), drawable.get_height())
    rect, inner = pipeline.context_box((x, y, width, height), size)
    return fmt, rect, inner, (x, y, width, height)


def _compute(np, pipeline, drawable, config):
    fmt, rect, inner, bounds = _region(pipeline, drawable)
    pixels = _read(np, drawable, rect, fmt)
    source, output = config.get_property("mask-source"), config.get_property("output")
    done = pipeline.retouch(
        pixels,
        SMOOTH_MASKS[source],
        output=RETOUCH_OUTPUTS[output],
        return_mask=output == "layer-mask",
        **_options(pipeline, config),
    )
    # Keep only the selection bounds; the margin was context for the filters.
    result = None if output == "channel" else done.image[inner]
    mask = None if done.mask is None else done.mask[inner]
    return _Job(drawable, rect, bounds, fmt, result, mask, done.warnings)


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


class _Preview:
    """The dialog's preview of the (first) layer: the result, the original or the skin mask.

    The processed rectangle of the layer is read once (strip by strip, reduced
    by skinsmooth_core as it is read) into a SkinPreview, which computes the
    skin mask once per mask source. A change of an argument restarts a short
    timer; then the core runs in a worker thread and the picture is drawn
    when it is done, so the dialog stays responsive.
    """

    def __init__(self, dialog, config, image, drawable):
        self.dialog, self.config, self.image, self.drawable = dialog, config, image, drawable
        self.preview = self.result = self.source = self.options = None
        self.timer = self.worker = None
        self.busy = self.pending = self.closed = False
        self.drawn = 0
        self.area = GimpUi.PreviewArea()
        self.area.set_halign(Gtk.Align.CENTER)
        self.area.set_valign(Gtk.Align.CENTER)
        frame = Gtk.Frame()
        frame.set_shadow_type(Gtk.ShadowType.IN)
        frame.set_halign(Gtk.Align.CENTER)
        frame.set_valign(Gtk.Align.CENTER)
        frame.add(self.area)
        views = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=12)
        views.set_halign(Gtk.Align.CENTER)
        self.views, group = {}, None
        for view, label in PREVIEW_VIEWS:
            button = Gtk.RadioButton.new_with_mnemonic_from_widget(group, label)
            button.connect("toggled", self._view_toggled)
            views.pack_start(button, False, False, 0)
            self.views[view], group = button, group or button
        self.status = Gtk.Label(xalign=0.0)
        self.status.set_line_wrap(True)
        self.status.set_max_width_chars(50)
        self.widget = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6)
        self.widget.pack_start(frame, True, True, 0)
        self.widget.pack_start(views, False, False, 0)
        self.widget.pack_start(self.status, False, False, 0)
        self.factor = None
        try:
            if drawable is None:
                raise PluginError("no layer selected")
            _check_drawable(drawable)
            self.core = _import_preview()
            self.fmt, self.rect, _, _ = _region(_import_core()[1], drawable)
            self.factor = self.core.preview_factor(self.rect[3], self.rect[2])
            width, height = (-(-side // self.factor) for side in self.rect[2:])
            self.area.set_size_request(width, height)
            self._say("Reading the layer…")
        except PluginError as exc:
            self.area.set_size_request(320, 240)
            self._say(f"No preview: {exc}", error=True)

    def _say(self, text, error=False):
        self.status.set_markup(
            f'<span foreground="#d04040">{GLib.markup_escape_text(text)}</span>'
            if error
            else GLib.markup_escape_text(text)
        )

    def view(self):
        return next(view for view, button in self.views.items() if button.get_active())

    def load(self):
        """Read the layer (and the selection) into the SkinPreview; start the first update."""
        if self.closed or self.factor is None:
            return False
        try:
            self.preview = self._read_reduced()
        except Exception as exc:  # noqa: BLE001 - shown in the dialog, which stays usable
            self._say(f"No preview: {type(exc).__name__}: {exc}", error=True)
            return False
        self._say("")
        self._start()
        return False

    def _read_reduced(self):
        np, preview = _import_core()[0], self.core
        x, y, width, height = self.rect
        rows = self.factor * max(1, 256 // self.factor)  # whole blocks per strip
        strips = [(x, y + top, width, min(rows, height - top)) for top in range(0, height, rows)]

        def reduced(drawable, offset_x, offset_y, fmt, abyss):
            return np.concatenate(
                [
                    preview.downscale(
                        _read(np, drawable, (sx + offset_x, sy + offset_y, sw, sh), fmt, abyss),
                        self.factor,
                    )
                    for sx, sy, sw, sh in strips
                ]
            )

        pixels = reduced(self.drawable, 0, 0, self.fmt, Gegl.AbyssPolicy.CLAMP)
        selection = None
        if not Gimp.Selection.is_empty(self.image):
            # The selection channel is in image coordinates; outside the image nothing is selected.
            offset_x, offset_y = self.drawable.get_offsets()[1:]
            channel = self.image.get_selection()
            selection = reduced(channel, offset_x, offset_y, "Y float", Gegl.AbyssPolicy.NONE)
            selection = selection[:, :, 0]
        return preview.SkinPreview(pixels, selection, self.factor)

    def schedule(self, *_):
        """Update after a short pause: moving a slider gives one update, not one per step."""
        if self.timer is not None:
            GLib.source_remove(self.timer)
        self.timer = GLib.timeout_add(PREVIEW_DELAY_MS, self._start)

    def _start(self):
        self.timer = None
        if self.closed or self.preview is None:
            return False
        if self.busy:  # the running update is followed by another one
            self.pending = True
            return False
        self.busy, self.pending = True, False
        pipeline = _import_core()[1]
        source = SMOOTH_MASKS[self.config.get_property("mask-source")]
        leave = self.config.get_property("output") == "channel"  # the pixels stay as they are
        try:
            options = _options(pipeline, self.config)
        except ValueError as exc:
            self.busy = False
            self._say(f"Preview failed: {exc}", error=True)
            return False
        self.worker = threading.Thread(
            target=self._work, args=(source, options, leave), daemon=True
        )
        self.worker.start()
        return False

    def _work(self, source, options, leave):
        """In the worker thread: the core only (no GIMP or GTK calls)."""
        result, notes, error = None, [], None
        try:
            if leave:
                notes = self.preview.skin(source)[1]
                result = self.preview.original
            else:
                result, notes = self.preview.smooth(source, **options)
        except Exception as exc:  # noqa: BLE001 - shown in the dialog, which stays usable
            error = f"Preview failed: {type(exc).__name__}: {exc}"
        GLib.idle_add(self._done, source, options, result, notes, error)

    def _done(self, source, options, result, notes, error):
        self.busy = False
        if self.closed:
            return False
        if self.pending:
            self._start()
        self.result, self.source, self.options = result, source, options
        self._say(error or "\n".join(notes), error=error is not None)
        self._draw()
        return False

    def _view_toggled(self, button):
        if button.get_active():
            self._draw()

    def _draw(self):
        if self.preview is None:
            return
        view = self.view()
        if view == "result" and self.result is None:
            view = "original"  # the smoothing failed: the message says why
        if view == "mask" and self.source is None:
            return
        picture = self.preview.picture(view, self.result, self.source)
        height, width, channels = picture.shape
        self.area.draw(
            0, 0, width, height, PREVIEW_TYPES[channels], picture.tobytes(), width * channels
        )
        self.drawn += 1
        self._record(view, picture)

    def _record(self, view, picture):
        """Tests only: record what was drawn, where, and with which arguments."""
        folder = os.environ.get(PREVIEW_LOG)
        if not folder or not os.path.isdir(folder):
            return
        import numpy

        name = f"preview-{os.getpid()}-{self.drawn:03d}.npy"  # one plug-in run after another
        numpy.save(os.path.join(folder, name), picture)
        origin = self.area.translate_coordinates(self.dialog, 0, 0)
        entry = {
            "file": name,
            "view": view,
            "mask": self.source,
            "options": self.options,
            "mask_computations": self.preview.mask_computations,
            "factor": self.factor,
            "area": list(origin or ()) + [picture.shape[1], picture.shape[0]],
            "status": self.status.get_text(),
        }
        with open(os.path.join(folder, "previews.jsonl"), "a") as log:
            log.write(json.dumps(entry) + "\n")

    def close(self):
        """Stop updating; wait for a running update, so the full run has the CPU to itself."""
        self.closed = True
        if self.timer is not None:
            GLib.source_remove(self.timer)
            self.timer = None
        if self.worker is not None:
            self.worker.join()


def _dialog(procedure, config, image, drawables):
    """Show the procedure dialog with a preview; the sliders are live only for the custom preset."""
    GimpUi.init(PROCEDURE)
    dialog = GimpUi.ProcedureDialog(procedure=procedure, config=config, title="Skin Smoothing")
    for name in AMOUNTS:
        dialog.get_scale_entry(name, 100.0)  # a slider showing 0-100
    arguments = dialog.fill_box("skinsmooth-arguments", list(ARGUMENTS))
    custom = Gimp.ValueArray.new(1)
    custom.append(GObject.Value(GObject.TYPE_STRING, "custom"))
    for name in AMOUNTS:
        dialog.set_sensitive_if_in(name, None, "preset", custom, True)
    preview = _Preview(dialog, config, image, drawables[0] if drawables else None)
    row = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=12)
    row.pack_start(preview.widget, True, True, 0)
    row.pack_start(arguments, False, False, 0)
    dialog.get_content_area().pack_start(row, True, True, 0)
    preview.widget.show_all()
    arguments.show()
    row.show()
    config.connect("notify", preview.schedule)
    GLib.idle_add(preview.load)
    accepted = dialog.run()
    preview.close()
    dialog.destroy()
    return accepted


def run(procedure, run_mode, image, drawables, config, data):
    if run_mode == Gimp.RunMode.INTERACTIVE:
        if not _dialog(procedure, config, image, drawables):
            return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())

    new_layer = None
    try:
        if not drawables:
            raise PluginError("no layer selected", Gimp.PDBStatusType.CALLING_ERROR)
        for drawable in drawables:
            _check_drawable(drawable)
        np, pipeline = _import_core()
        output = config.get_property("output")
        Gimp.progress_init("Skin smoothing")
        jobs = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for index, drawable in enumerate(drawables):
                jobs.append(_compute(np, pipeline, drawable, config))
                Gimp.progress_update((index + 1) / len(drawables) * 0.9)
        notes = [message for job in jobs for message in job.notes]
        notes += [str(warning.message) for warning in caught]
        for message in dict.fromkeys(notes):
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
        for name, label, help_text, minimum, maximum, default in NUMBERS:
            procedure.add_double_argument(name, label, help_text, minimum, maximum, default, flags)
        for name, _, label, help_text, default in SWITCHES:
            procedure.add_boolean_argument(name, label, help_text, default, flags)
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
