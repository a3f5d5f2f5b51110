"""The Skin Smoothing dialog and what happens when the user presses OK.

All smoothing is done by ``skinsmooth_core.smooth_skin`` and
``skinsmooth_core.masks.skin_mask``; this module reads the layer, shows a
preview on a downscaled copy, and writes the result back. The document is
touched only after the whole result has been computed, so an error leaves it
as it was.
"""

import traceback
import warnings
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
MASK_SOURCES = {
    "auto": "AI skin model",
    "color": "Skin colour",
    "selection": "Current selection",
}
OUTPUTS = {"new_layer": "New layer above (non-destructive)", "in_place": "Modify the layer"}
MASK_OUTPUTS = {
    "none": "None",
    "transparency_mask": "Transparency mask on the new layer",
    "selection": "Selection",
}
METHOD_LABELS = {
    "guided": "Guided filter (fast)",
    "bilateral": "Bilateral",
    "surface": "Surface blur",
    "local-mean": "Local mean (Lee)",
    "wls": "Weighted least squares",
    "smart": "Smart blur",
}


class Core:
    """The parts of skinsmooth_core the plug-in uses (imported when the dialog opens)."""

    def __init__(self):
        from skinsmooth_core import pipeline
        from skinsmooth_core._image import from_float, to_float
        from skinsmooth_core.masks import skin_mask
        from skinsmooth_core.pipeline import preview

        self.smooth_skin = pipeline.smooth_skin
        self.presets = dict(pipeline.PRESETS)
        self.methods = tuple(pipeline.METHODS)
        self.skin_mask = skin_mask
        # The scale smooth_skin's "auto" picks for the largest skin region's area.
        self.auto_scale = pipeline.auto_scale
        self.largest_skin_area = pipeline.largest_skin_area
        self.to_float = to_float
        self.from_float = from_float
        # The reduced copy of the preview and the blend through a soft selection (shared with
        # the GIMP plug-in).
        self.preview_factor = preview.preview_factor
        self.downscale = preview.downscale
        self.composite = preview.composite


@dataclass
class Settings:
    """What the dialog asks for; also stored in kritarc between runs."""

    preset: str = "medium"  # the defaults of smooth_skin
    strength: float = 0.6
    texture: float = 0.35
    blemish: float = 0.5
    tone: float = 0.3
    method: str = "guided"
    scale: float = 0.0  # 0 = "auto": follows the size of the skin
    mask_source: str = "auto"
    output: str = "new_layer"
    mask_output: str = "none"

    def smooth_options(self, presets, downscale=1):
        """Keyword arguments for smooth_skin: the preset's, overridden by the dialog's.

        `downscale` is how much smaller than the layer the processed image is (the
        preview), so a fixed scale gives the same look there.
        """
        options = dict(presets.get(self.preset, {}))
        options.update(
            strength=self.strength,
            texture=self.texture,
            blemish=self.blemish,
            tone=self.tone,
            method=self.method,
        )
        if self.scale > 0:
            options["scale"] = self.scale / downscale
        return options

    @classmethod
    def load(cls):
        app = Krita.instance()
        values = {}
        for key, default in asdict(cls()).items():
            text = app.readSetting(SETTINGS_GROUP, key, str(default))
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


def compute(core, image, selection, settings, skin=None, want_mask=False, downscale=1):
    """Run the core on `image`: returns (result, mask or None, warnings).

    The smoothing uses the pipeline's own (edge-refined) skin mask. The mask
    returned (for the mask outputs and the preview, or when `want_mask`) is
    ``skin_mask`` limited to the selection; `skin` is a cached ``skin_mask`` of
    `image`. With a selection, only selected pixels change. `downscale`: see
    :meth:`Settings.smooth_options`.
    """
    transparency = settings.output == "new_layer" and settings.mask_output == "transparency_mask"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mask = None
        if settings.mask_source == "selection":
            if selection is None:
                raise ValueError("The mask is the current selection, but nothing is selected.")
            mask = layer_mask = selection
        else:
            layer_mask = settings.mask_source
            if want_mask or settings.mask_output != "none":
                if skin is None:
                    skin = core.skin_mask(image, method=settings.mask_source)
                mask = skin if selection is None else skin * selection
        options = settings.smooth_options(core.presets, downscale)
        if transparency:
            # The layer gets the smoothing everywhere (within the selection); the
            # transparency mask decides where it shows, and the user can paint it.
            layer_mask = "none"
            if "scale" not in options:
                # At the scale the skin mask would give, not the whole frame's.
                area = core.largest_skin_area(mask)
                options["scale"] = core.auto_scale(area, *image.shape[:2])
            # tone takes "the skin around" from the mask: with none, the whole frame's
            options["tone"] = 0.0
        result = core.smooth_skin(image, mask=layer_mask, **options)
    if selection is not None:
        result = core.composite(image, result, selection)
    messages = list(dict.fromkeys(str(w.message) for w in caught))
    return result, mask, messages


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
        self._skin_cache = {}
        self._applying_preset = False
        self._make_preview_images()

        self.preset = QComboBox(objectName="preset")
        presets = {name: name.capitalize() for name in core.presets}
        _add_items(self.preset, {**presets, CUSTOM: "Custom"}, settings.preset)
        self.strength = Amount("strength")
        self.texture = Amount("texture")
        self.blemish = Amount("blemish")
        self.blemish.setToolTip("Heals spots darker or redder than the skin, at any strength")
        self.tone = Amount("tone")
        self.tone.setToolTip("Evens blotchy redness and uneven colour; shading is kept")
        self.method = QComboBox(objectName="method")
        _add_items(self.method, {m: METHOD_LABELS.get(m, m) for m in core.methods}, settings.method)
        self.scale = QDoubleSpinBox(objectName="scale")
        self.scale.setRange(0.0, 8.0)
        self.scale.setSingleStep(0.25)
        self.scale.setSpecialValueText("Auto")
        self.scale.setValue(settings.scale)
        self.scale.setToolTip(
            "Size of the smoothing. Auto follows the size of the skin, so large and small photos "
            "get the same look; 1 suits a face about 110 pixels wide, 2 a face twice as large."
        )
        self.mask_source = QComboBox(objectName="mask_source")
        _add_items(self.mask_source, MASK_SOURCES, settings.mask_source)
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
        for amount, value in (
            (self.strength, settings.strength),
            (self.texture, settings.texture),
            (self.blemish, settings.blemish),
            (self.tone, settings.tone),
        ):
            amount.setValue(value)

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
        form.addRow("Preset:", self.preset)
        form.addRow("Strength:", self.strength)
        form.addRow("Texture kept:", self.texture)
        form.addRow("Blemish removal:", self.blemish)
        form.addRow("Tone evening:", self.tone)
        form.addRow("Method:", self.method)
        form.addRow("Scale:", self.scale)
        form.addRow("Mask:", self.mask_source)
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
        for amount in (self.strength, self.texture, self.blemish, self.tone):
            amount.valueChanged.connect(self._edited)
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
            strength=self.strength.value(),
            texture=self.texture.value(),
            blemish=self.blemish.value(),
            tone=self.tone.value(),
            method=self.method.currentData(),
            scale=self.scale.value(),
            mask_source=self.mask_source.currentData(),
            output=self.output.currentData(),
            mask_output=self.mask_output.currentData(),
        )

    def _preset_chosen(self):
        name = self.preset.currentData()
        options = self.core.presets.get(name)
        if options is None:
            return
        self._applying_preset = True
        try:
            for key in ("strength", "texture", "blemish", "tone"):
                if key in options:
                    getattr(self, key).setValue(options[key])
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

    def _skin(self, settings):
        """skin_mask of the downscaled copy for the settings' source, and its warnings (cached)."""
        if settings.mask_source == "selection":
            return None, []
        if settings.mask_source not in self._skin_cache:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                skin = self.core.skin_mask(self.small, method=settings.mask_source)
            self._skin_cache[settings.mask_source] = skin, [str(w.message) for w in caught]
        return self._skin_cache[settings.mask_source]

    def _detail(self, settings, skin):
        """Original, result and mask of a full-resolution crop around the skin."""
        image, selection = self.source.image, self.source.selection
        if settings.mask_source == "selection":
            weight = self.small_selection
        else:
            weight = skin if self.small_selection is None else skin * self.small_selection
        height, width = image.shape[:2]
        cy, cx = height / 2, width / 2
        if weight is not None and weight.sum() > 0:
            ys, xs = np.indices(weight.shape)
            total = weight.sum()
            cy = (ys * weight).sum() / total * self.factor
            cx = (xs * weight).sum() / total * self.factor
        size = min(PREVIEW_SIZE, height, width)
        y0 = int(min(max(cy - size / 2, 0), height - size))
        x0 = int(min(max(cx - size / 2, 0), width - size))
        crop = (slice(y0, y0 + size), slice(x0, x0 + size))
        if settings.scale == 0 and weight is not None:
            # The whole image's automatic scale, not the crop's.
            area = self.core.largest_skin_area(weight) * self.factor**2
            settings = replace(settings, scale=self.core.auto_scale(area, height, width))
        part = image[crop]
        part_selection = None if selection is None else selection[crop]
        result, mask, messages = compute(self.core, part, part_selection, settings, want_mask=True)
        return (self.core.to_float(part), self.core.to_float(result), mask), messages

    def update_preview(self):
        settings = self.settings()
        QApplication.setOverrideCursor(Qt.BusyCursor)
        try:
            skin, notes = self._skin(settings)
            if self.detail.isChecked():
                self._shown, messages = self._detail(settings, skin)
            else:
                result, mask, messages = compute(
                    self.core,
                    self.small,
                    self.small_selection,
                    settings,
                    skin,
                    want_mask=True,
                    downscale=self.factor,
                )
                self._shown = (self.small, result, mask)
            self.status.setStyleSheet("")
            self.status.setText("\n".join(dict.fromkeys(notes + messages)))
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
            grey = self.core.from_float(mask, np.uint8)
            picture = np.dstack([grey, grey, grey, np.full_like(grey, 255)])
        else:
            shown = original if view == 1 else result
            picture = self.core.from_float(np.clip(shown, 0.0, 1.0), np.uint8)
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
    dialog = SkinSmoothingDialog(core, source, Settings.load(), parent)
    if dialog.exec_() != QDialog.Accepted:
        return None
    settings = dialog.settings()
    settings.save()
    QApplication.setOverrideCursor(Qt.WaitCursor)
    try:
        result, mask, _ = compute(core, source.image, source.selection, settings)
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
