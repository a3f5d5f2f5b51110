"""The Skin Smoothing dialog and what happens when the user presses OK.

All image processing is ``skinsmooth_core.pipeline.retouch`` (the result, the
skin mask it used, within the selection) and the core's preview helpers; the
controls come from ``skinsmooth_core.pipeline.options``. This module reads the
layer, shows a preview on a downscaled copy, and writes the result back. The
document is touched only after the whole result has been computed, so an error
leaves it as it was.
"""

import traceback
from dataclasses import asdict, dataclass, replace

import numpy as np
from krita import Krita, Selection
from PyQt5.QtCore import Qt, QTimer
from PyQt5.QtGui import QImage, QPixmap
from PyQt5.QtWidgets import (
    QApplication,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QRadioButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from . import pixels

TITLE = "Skin Smoothing"
SETTINGS_GROUP = "skinsmooth"
PREVIEW_SIZE = 420
PREVIEW_DELAY_MS = 200
CUSTOM = "custom"
CORE_MASKS = ("auto", "color")  # the core's mask sources offered, besides the selection
OUTPUTS = {"new_layer": "New layer above (non-destructive)", "in_place": "Modify the layer"}
MASK_OUTPUTS = {
    "none": "None",
    "transparency_mask": "Transparency mask on the new layer",
    "selection": "Selection",
}


class Core:
    """The parts of skinsmooth_core the plug-in uses (imported when the dialog opens)."""

    def __init__(self):
        from skinsmooth_core import pipeline
        from skinsmooth_core.pipeline import options, preview

        self.retouch = pipeline.retouch
        self.options = options
        self.presets = dict(pipeline.PRESETS)
        # The reduced copy of the preview, its 1:1 detail window and 8-bit pictures (shared
        # with the GIMP plug-in).
        self.preview_factor = preview.preview_factor
        self.downscale = preview.downscale
        self.detail_window = preview.detail_window
        self.picture = preview.picture


@dataclass
class Settings:
    """What the dialog asks for; also stored in kritarc between runs."""

    preset: str
    strength: float
    texture: float
    blemish: float
    tone: float
    method: str
    scale: float  # 0 = "auto": follows the size of the skin
    mask_source: str
    output: str = "new_layer"
    mask_output: str = "none"
    moles: bool = False  # the core's switches (options.SWITCHES), off unless asked

    @classmethod
    def defaults(cls, options):
        """The core's defaults (those of smooth_skin)."""
        amounts = {amount.name: amount.default for amount in options.AMOUNTS}
        switches = {switch.name: switch.default for switch in options.SWITCHES}
        scale = options.SCALE.default
        return cls(
            preset=options.PRESET.default,
            method=options.METHOD.default,
            scale=0.0 if scale == "auto" else float(scale),
            mask_source=options.MASK.default,
            **amounts,
            **switches,
        )

    def smooth_options(self, core, downscale=1):
        """Keyword arguments for smooth_skin: the preset's, overridden by the dialog's.

        `downscale` is how much smaller than the layer the processed image is (the
        preview), so a fixed scale gives the same look there.
        """
        options = dict(core.presets.get(self.preset, {}))
        for option in (*core.options.AMOUNTS, *core.options.SWITCHES):
            options[option.name] = getattr(self, option.name)
        options["method"] = self.method
        if self.scale > 0:
            options["scale"] = self.scale / downscale
        return options

    @classmethod
    def load(cls, options):
        app = Krita.instance()
        values = {}
        for key, default in asdict(cls.defaults(options)).items():
            text = app.readSetting(SETTINGS_GROUP, key, str(default))
            if isinstance(default, bool):  # bool("False") is True
                values[key] = {"True": True, "False": False}.get(text, default)
                continue
            try:
                values[key] = type(default)(text)
            except ValueError:
                values[key] = default
        return cls(**values)

    def save(self):
        app = Krita.instance()
        for key, value in asdict(self).items():
            app.writeSetting(SETTINGS_GROUP, key, str(value))


class LayerSource:
    """The active paint layer's pixels (whole canvas) and the selection, read once."""

    def __init__(self, document, node):
        if node is None or node.type() != "paintlayer":
            kind = "nothing" if node is None else f"a {node.type()}"
            raise pixels.UnsupportedLayer(
                f"Skin Smoothing works on a paint layer; the active layer is {kind}. "
                "Select a paint layer (or merge/rasterise the layer) and try again."
            )
        self.document = document
        self.node = node
        self.model, self.depth = node.colorModel(), node.colorDepth()
        pixels.check_format(self.model, self.depth)
        self.rect = (0, 0, document.width(), document.height())
        x, y, w, h = self.rect
        self.image = pixels.to_rgba(node.pixelData(x, y, w, h), w, h, self.model, self.depth)
        selection = document.selection()
        self.selection = None
        if selection is not None and selection.width() > 0 and selection.height() > 0:
            self.selection = pixels.selection_to_float(selection.pixelData(x, y, w, h), w, h)


def compute(core, image, selection, settings, want_mask=True, downscale=1):
    """Run the core's retouch on `image`: returns (result, mask or None, warnings).

    With a selection only selected pixels change (a soft one blends), and the mask is
    the one the retouch used times the selection. A transparency mask output gets a
    layer smoothed everywhere at the scale the skin mask implies (the core's "layer"
    output). `downscale`: see :meth:`Settings.smooth_options`.
    """
    mask = settings.mask_source
    if mask == "selection":
        if selection is None:
            raise ValueError("The mask is the current selection, but nothing is selected.")
        mask = selection
    transparency = settings.output == "new_layer" and settings.mask_output == "transparency_mask"
    done = core.retouch(
        image,
        mask,
        selection=selection,
        output="layer" if transparency else "image",
        return_mask=want_mask or settings.mask_output != "none",
        **settings.smooth_options(core, downscale),
    )
    return done.image, done.mask, done.warnings


class Amount(QWidget):
    """A 0..100 % slider with a spin box; value() is on [0, 1]."""

    def __init__(self, name, parent=None):
        super().__init__(parent)
        self.setObjectName(name)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, 100)
        self.spin = QSpinBox()
        self.spin.setRange(0, 100)
        self.spin.setSuffix(" %")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self.slider.valueChanged.connect(self.spin.setValue)
        self.spin.valueChanged.connect(self.slider.setValue)
        self.valueChanged = self.spin.valueChanged

    def value(self):
        return self.spin.value() / 100.0

    def setValue(self, value):
        self.spin.setValue(int(round(float(value) * 100)))


def _add_items(combo, items, current):
    for key, label in items.items():
        combo.addItem(label, key)
    index = combo.findData(current)
    combo.setCurrentIndex(max(index, 0))


class SkinSmoothingDialog(QDialog):
    """Settings, a debounced preview on a downscaled copy, OK / Cancel."""

    def __init__(self, core, source, settings, parent=None):
        super().__init__(parent)
        self.setObjectName("skinsmooth_dialog")
        self.setWindowTitle(TITLE)
        self.core = core
        self.source = source
        self._applying_preset = False
        self._make_preview_images()

        options = core.options
        self.preset = QComboBox(objectName="preset")
        presets = {entry.value: entry.label for entry in options.PRESET.entries}
        _add_items(self.preset, {**presets, CUSTOM: "Custom"}, settings.preset)
        self.amounts = {}
        for amount in options.AMOUNTS:
            widget = self.amounts[amount.name] = Amount(amount.name)
            widget.setToolTip(amount.help[:1].upper() + amount.help[1:])
            widget.setValue(getattr(settings, amount.name))
        self.switches = {}
        for switch in options.SWITCHES:
            widget = self.switches[switch.name] = QCheckBox(switch.label, objectName=switch.name)
            widget.setToolTip(switch.help[:1].upper() + switch.help[1:])
            widget.setChecked(getattr(settings, switch.name))
        self.method = QComboBox(objectName="method")
        methods = {entry.value: entry.label for entry in options.METHOD.entries}
        _add_items(self.method, methods, settings.method)
        self.scale = QDoubleSpinBox(objectName="scale")
        self.scale.setRange(0.0, options.SCALE.maximum)
        self.scale.setSingleStep(0.25)
        self.scale.setSpecialValueText("Auto")
        self.scale.setValue(settings.scale)
        self.scale.setToolTip(
            "Size of the smoothing. Auto follows the size of the skin, so large and small photos "
            "get the same look; 1 suits a face about 110 pixels wide, 2 a face twice as large."
        )
        self.mask_source = QComboBox(objectName="mask_source")
        masks = {value: options.MASK.entry(value).label for value in CORE_MASKS}
        masks["selection"] = "Current selection"
        _add_items(self.mask_source, masks, settings.mask_source)
        if source.selection is None:
            self.mask_source.model().item(self.mask_source.findData("selection")).setEnabled(False)
            if self.mask_source.currentData() == "selection":
                self.mask_source.setCurrentIndex(self.mask_source.findData("auto"))
        self.output = QComboBox(objectName="output")
        _add_items(self.output, OUTPUTS, settings.output)
        self.output.setToolTip(
            "A new layer can be removed with Edit > Undo; changes made in place cannot be "
            "undone (Krita's scripting API writes pixels without an undo step)."
        )
        self.in_place_note = QLabel(
            "Modifying the layer cannot be undone with Ctrl+Z.", objectName="in_place_note"
        )
        self.in_place_note.setWordWrap(True)
        self.mask_output = QComboBox(objectName="mask_output")
        _add_items(self.mask_output, MASK_OUTPUTS, settings.mask_output)

        self.preview = QLabel(objectName="preview")
        self.preview.setAlignment(Qt.AlignCenter)
        self.preview.setMinimumSize(PREVIEW_SIZE, PREVIEW_SIZE)
        self.view = QButtonGroup(self)
        view_row = QHBoxLayout()
        for index, (name, label) in enumerate(
            (("result", "Result"), ("original", "Original"), ("mask", "Skin mask"))
        ):
            button = QRadioButton(label, objectName=f"view_{name}")
            button.setChecked(index == 0)
            self.view.addButton(button, index)
            view_row.addWidget(button)
        self.detail = QCheckBox("1:1 detail", objectName="detail")
        self.detail.setToolTip("Show a part of the skin at full resolution, not the whole image")
        view_row.addWidget(self.detail)
        self.status = QLabel(objectName="status")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.Ok | QDialogButtonBox.Cancel, objectName="buttons"
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow(f"{options.PRESET.label}:", self.preset)
        for amount in options.AMOUNTS:
            form.addRow(f"{amount.label}:", self.amounts[amount.name])
        for switch in options.SWITCHES:
            form.addRow("", self.switches[switch.name])
        form.addRow(f"{options.METHOD.label}:", self.method)
        form.addRow(f"{options.SCALE.label}:", self.scale)
        form.addRow(f"{options.MASK.label}:", self.mask_source)
        form.addRow("Output:", self.output)
        form.addRow("Skin mask as:", self.mask_output)
        left = QVBoxLayout()
        left.addWidget(self.preview, 1)
        left.addLayout(view_row)
        right = QVBoxLayout()
        right.addLayout(form)
        right.addWidget(self.in_place_note)
        right.addWidget(self.status)
        right.addStretch(1)
        right.addWidget(self.buttons)
        main = QHBoxLayout(self)
        main.addLayout(left, 1)
        main.addLayout(right)

        self.timer = QTimer(self, singleShot=True, interval=PREVIEW_DELAY_MS)
        self.timer.timeout.connect(self.update_preview)
        self.preset.currentIndexChanged.connect(self._preset_chosen)
        for amount in self.amounts.values():
            amount.valueChanged.connect(self._edited)
        for switch in self.switches.values():
            switch.toggled.connect(self._edited)
        self.method.currentIndexChanged.connect(self._edited)
        self.scale.valueChanged.connect(self._edited)
        for combo in (self.mask_source, self.output, self.mask_output):
            combo.currentIndexChanged.connect(self._schedule)
        self.output.currentIndexChanged.connect(self._sync_mask_output)
        self.view.buttonClicked.connect(lambda _: self._show())
        self.detail.toggled.connect(self._schedule)
        self._sync_mask_output()
        self._shown = None  # (original, result, mask) on [0, 1] of what the preview shows
        self._schedule()

    # -- settings ---------------------------------------------------------------
    def settings(self):
        return Settings(
            preset=self.preset.currentData(),
            method=self.method.currentData(),
            scale=self.scale.value(),
            mask_source=self.mask_source.currentData(),
            output=self.output.currentData(),
            mask_output=self.mask_output.currentData(),
            **{name: amount.value() for name, amount in self.amounts.items()},
            **{name: switch.isChecked() for name, switch in self.switches.items()},
        )

    def _preset_chosen(self):
        name = self.preset.currentData()
        options = self.core.presets.get(name)
        if options is None:
            return
        self._applying_preset = True
        try:
            for key, amount in self.amounts.items():
                if key in options:
                    amount.setValue(options[key])
            for switch in self.core.options.SWITCHES:  # presets leave them at the default
                self.switches[switch.name].setChecked(options.get(switch.name, switch.default))
            if "method" in options and self.method.findData(options["method"]) >= 0:
                self.method.setCurrentIndex(self.method.findData(options["method"]))
            scale = options.get("scale", "auto")
            self.scale.setValue(0.0 if scale == "auto" else float(scale))
        finally:
            self._applying_preset = False
        self._schedule()

    def _edited(self):
        if not self._applying_preset:
            self.preset.blockSignals(True)
            self.preset.setCurrentIndex(self.preset.findData(CUSTOM))
            self.preset.blockSignals(False)
        self._schedule()

    def _sync_mask_output(self):
        # A transparency mask only makes sense on a new layer.
        item = self.mask_output.model().item(self.mask_output.findData("transparency_mask"))
        in_place = self.output.currentData() == "in_place"
        self.in_place_note.setVisible(in_place)
        item.setEnabled(not in_place)
        if in_place and self.mask_output.currentData() == "transparency_mask":
            self.mask_output.setCurrentIndex(self.mask_output.findData("none"))

    # -- preview ----------------------------------------------------------------
    def _make_preview_images(self):
        image, selection = self.source.image, self.source.selection
        factor = self.factor = self.core.preview_factor(*image.shape[:2], PREVIEW_SIZE)
        # Block averages of the stored values on [0, 1]: no full-size float copy.
        self.small = self.core.downscale(image, factor)
        self.small_selection = None
        if selection is not None:
            self.small_selection = self.core.downscale(selection, factor)

    def _schedule(self, *_):
        self.timer.start()

    def preview_ready(self):
        """True when the preview shows the current settings (used by automated tests)."""
        return not self.timer.isActive() and self._shown is not None

    def _detail(self, settings, weight):
        """Original, result and mask of a full-resolution window around the skin (`weight`:
        where the result shows on the downscaled copy), at the whole image's scale."""
        image, selection = self.source.image, self.source.selection
        crop, scale = self.core.detail_window(image.shape, weight, self.factor, PREVIEW_SIZE)
        if settings.scale == 0 and scale is not None:
            settings = replace(settings, scale=scale)
        part = image[crop]
        part_selection = None if selection is None else selection[crop]
        result, mask, messages = compute(self.core, part, part_selection, settings)
        return (part, result, mask), messages

    def update_preview(self):
        settings = self.settings()
        QApplication.setOverrideCursor(Qt.BusyCursor)
        try:
            result, mask, messages = compute(
                self.core, self.small, self.small_selection, settings, downscale=self.factor
            )
            self._shown = (self.small, result, mask)
            if self.detail.isChecked():
                self._shown, more = self._detail(settings, mask)
                messages = messages + more
            self.status.setStyleSheet("")
            self.status.setText("\n".join(dict.fromkeys(messages)))
        except Exception as exc:  # shown to the user; the dialog stays usable
            self._shown = (self.small, self.small, None)
            self.status.setStyleSheet("color: #d04040")
            self.status.setText(f"Preview failed: {exc}")
        finally:
            QApplication.restoreOverrideCursor()
        self._show()

    def _show(self):
        if self._shown is None:
            return
        original, result, mask = self._shown
        view = self.view.checkedId()
        if view == 2 and mask is not None:
            grey = self.core.picture(mask)
            picture = np.dstack([grey, grey, grey, np.full_like(grey, 255)])
        else:
            picture = self.core.picture(original if view == 1 else result)
        picture = np.ascontiguousarray(picture)
        h, w = picture.shape[:2]
        qimage = QImage(picture.data, w, h, 4 * w, QImage.Format_RGBA8888).copy()
        pixmap = QPixmap.fromImage(qimage)
        if max(w, h) > PREVIEW_SIZE:
            pixmap = pixmap.scaled(
                PREVIEW_SIZE, PREVIEW_SIZE, Qt.KeepAspectRatio, Qt.SmoothTransformation
            )
        self.preview.setPixmap(pixmap)


def _message(parent, text, details=None, icon=QMessageBox.Warning):
    box = QMessageBox(icon, TITLE, text, QMessageBox.Ok, parent)
    box.setObjectName("skinsmooth_message")
    if details:
        box.setDetailedText(details)
    box.exec_()


def _selection(mask, rect):
    x, y, w, h = rect
    selection = Selection()
    selection.resize(w, h)
    selection.setPixelData(pixels.encode_mask(mask, "U8"), x, y, w, h)
    return selection


def _add_transparency_mask(document, layer, mask, rect):
    """Give `layer` a transparency mask holding `mask`.

    Krita 5.1's scripting API cannot write a transparency mask's pixels, so
    this does what a user would: select the mask, then Layer > Add >
    Transparency Mask (which starts from the selection); the previous
    selection is restored afterwards.
    """
    app = Krita.instance()
    previous = document.selection()
    document.setSelection(_selection(mask, rect))
    document.setActiveNode(layer)
    document.waitForDone()
    app.action("add_new_transparency_mask").trigger()
    document.waitForDone()
    if previous is not None:
        document.setSelection(previous)
    else:
        app.action("deselect").trigger()
    document.waitForDone()
    masks = [child for child in layer.childNodes() if child.type() == "transparencymask"]
    if not masks:
        raise RuntimeError("Krita did not add the transparency mask")
    masks[-1].setName("Skin mask")
    return masks[-1]


def apply_to_document(source, settings, result, mask):
    """Write `result` (and optionally `mask`) into the document; undo it all on failure."""
    document, node = source.document, source.node
    data = pixels.from_rgba(result, source.model, source.depth)
    created = []
    try:
        target = node
        if settings.output == "new_layer":
            target = node.duplicate()
            target.setName(f"{node.name()} (skin smoothed)")
            node.parentNode().addChildNode(target, node)
            created.append(target)
        target.setPixelData(data, *source.rect)
        if settings.output == "new_layer" and settings.mask_output == "transparency_mask":
            _add_transparency_mask(document, target, mask, source.rect)
        if settings.mask_output == "selection":
            document.setSelection(_selection(mask, source.rect))
    except Exception:
        for created_node in reversed(created):
            created_node.remove()
        if target is node:
            original = pixels.from_rgba(source.image, source.model, source.depth)
            node.setPixelData(original, *source.rect)
        raise
    document.setActiveNode(target)
    document.refreshProjection()
    return target


def run_on_active_document(app):
    """The action: open the dialog on the active layer and apply the result on OK."""
    window = app.activeWindow()
    parent = window.qwindow() if window is not None else None
    document = app.activeDocument()
    if document is None:
        _message(parent, "Open an image first: Skin Smoothing works on the active layer.")
        return None
    try:
        core = Core()
    except ImportError as exc:
        _message(
            parent,
            "The skinsmooth library could not be loaded in Krita's Python "
            f"({exc}). Reinstall the plug-in with `skinsmooth install-plugin krita` "
            "(Krita closed), or see the plug-in's manual.",
            traceback.format_exc(),
            QMessageBox.Critical,
        )
        return None
    try:
        source = LayerSource(document, document.activeNode())
    except pixels.UnsupportedLayer as exc:
        _message(parent, str(exc))
        return None
    except MemoryError:
        _message(parent, "Not enough memory to read this layer.")
        return None
    dialog = SkinSmoothingDialog(core, source, Settings.load(core.options), parent)
    if dialog.exec_() != QDialog.Accepted:
        return None
    settings = dialog.settings()
    settings.save()
    QApplication.setOverrideCursor(Qt.WaitCursor)
    try:
        result, mask, _ = compute(core, source.image, source.selection, settings, want_mask=False)
        return apply_to_document(source, settings, result, mask)
    except MemoryError:
        failure = (
            "Not enough memory to smooth this image. Nothing was changed. "
            "Close other documents, or select a smaller area and try again.",
            None,
        )
    except Exception as exc:  # the document is unchanged; tell the user why
        failure = (f"Skin smoothing failed; nothing was changed.\n\n{exc}", traceback.format_exc())
    finally:
        QApplication.restoreOverrideCursor()
    _message(parent, *failure)
    return None
