"""Test-only Krita plug-in that drives the real skinsmooth plug-in like a user would.

Installed next to the skinsmooth plug-in by tests/hosts/test_krita.py, and only
active when SKINSMOOTH_KRITA_JOB names a JSON job file. Once Krita's window
exists it opens the portrait, triggers the plug-in's own action, finds its
dialog, sets the job's values in the widgets, clicks OK (or Cancel), and dumps
layer pixels and facts to the job's output folder; then it quits Krita. It needs
no numpy: the test reads the dumped bytes.
"""

import json
import os
import time
import traceback
from pathlib import Path

from krita import Extension, InfoObject, Krita, Selection
from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QMessageBox,
    QSpinBox,
    QWidget,
)

ACTION = "skinsmooth_skin_smoothing"
JOB = os.environ.get("SKINSMOOTH_KRITA_JOB")


class Driver:
    def __init__(self, job_path):
        self.job = json.loads(Path(job_path).read_text())
        self.out = Path(self.job["out"])
        self.out.mkdir(parents=True, exist_ok=True)
        self.facts = {"steps": [], "errors": [], "actions": {}}
        self.started = time.monotonic()

    # -- helpers ------------------------------------------------------------------
    def log(self, text):
        self.facts["steps"].append(f"{time.monotonic() - self.started:6.1f}s {text}")
        self.save()

    def save(self):
        (self.out / "facts.json").write_text(json.dumps(self.facts, indent=1))

    def layers(self, doc):
        return [
            {"name": n.name(), "type": n.type(), "children": [c.name() for c in n.childNodes()]}
            for n in doc.topLevelNodes()
        ]

    def dump(self, node, name, doc, projection=False):
        w, h = doc.width(), doc.height()
        read = node.projectionPixelData if projection else node.pixelData
        data = bytes(read(0, 0, w, h))
        (self.out / f"{name}.raw").write_bytes(data)
        return {
            "name": node.name(),
            "model": node.colorModel(),
            "depth": node.colorDepth(),
            "width": w,
            "height": h,
            "bytes": len(data),
            "file": f"{name}.raw",
        }

    def new_nodes(self, doc, before):
        """Top-level paint layers that are not in `before` (a set of uniqueIds)."""
        nodes = doc.topLevelNodes()
        return [n for n in nodes if n.type() == "paintlayer" and n.uniqueId() not in before]

    def ids(self, doc):
        return {n.uniqueId() for n in doc.topLevelNodes()}

    def find_top(self, name):
        for widget in QApplication.topLevelWidgets():
            if widget.objectName() == name and widget.isVisible():
                return widget
        return None

    def run_action(self, handle, timeout=60.0):
        """Trigger the plug-in's action; `handle(widget)` runs on its dialog or message box."""
        deadline = time.monotonic() + timeout
        seen = {}

        def poll():
            if "finished" in seen:
                return
            dialog = self.find_top("skinsmooth_dialog")
            box = self.find_top("skinsmooth_message")
            if box is not None:
                seen["message"] = box.text()
                box.button(QMessageBox.Ok).click()
            elif dialog is not None and "dialog" not in seen:
                seen["dialog"] = True
                handle(dialog, lambda: QTimer.singleShot(100, poll))
                return
            elif time.monotonic() > deadline:
                seen["timeout"] = True
                for widget in QApplication.topLevelWidgets():
                    if widget.isVisible() and widget.isModal():
                        widget.close()
                return
            QTimer.singleShot(100, poll)

        QTimer.singleShot(100, poll)
        Krita.instance().action(ACTION).trigger()  # blocks while the dialog is open
        seen["finished"] = True
        return seen

    def fill_and_click(self, settings, button, screenshot=None):
        """A dialog handler: set the widgets, wait for the preview, click `button`."""

        def handle(dialog, done):
            for key, value in settings.items():
                widget = dialog.findChild(QWidget, key)
                if isinstance(widget, QComboBox):
                    index = widget.findData(value)
                    assert index >= 0, f"{key}: no item {value!r}"
                    widget.setCurrentIndex(index)
                elif isinstance(widget, QCheckBox):
                    widget.setChecked(value)
                else:
                    widget.findChild(QSpinBox).setValue(int(round(value * 100)))

            shots = []
            if screenshot:
                folder = Path(screenshot).parent
                shots = [
                    lambda: dialog.grab().save(screenshot),
                    lambda: (
                        QApplication.primaryScreen()
                        .grabWindow(0)
                        .save(str(folder / "krita-screen.png"))
                    ),
                    lambda: dialog.findChild(QWidget, "view_mask").click(),
                    lambda: dialog.grab().save(str(folder / "krita-dialog-mask.png")),
                    lambda: dialog.findChild(QWidget, "view_result").click(),
                    lambda: dialog.findChild(QWidget, "detail").setChecked(True),
                    "wait",
                    lambda: dialog.grab().save(str(folder / "krita-dialog-detail.png")),
                    lambda: dialog.findChild(QWidget, "detail").setChecked(False),
                    "wait",
                ]

            def wait_preview():
                if not dialog.preview_ready():
                    QTimer.singleShot(100, wait_preview)
                    return
                self.facts.setdefault("preview_status", []).append(
                    dialog.findChild(QWidget, "status").text()
                )
                while shots:
                    shot = shots.pop(0)
                    if shot == "wait":
                        QTimer.singleShot(300, wait_preview)
                        return
                    shot()
                buttons = dialog.findChild(QDialogButtonBox, "buttons")
                buttons.button(button).click()
                done()

            QTimer.singleShot(100, wait_preview)

        return handle

    # -- the job ------------------------------------------------------------------
    def run(self):
        try:
            self.scenario()
        except Exception:
            self.facts["errors"].append(traceback.format_exc())
        self.facts["seconds"] = round(time.monotonic() - self.started, 1)
        self.save()
        QTimer.singleShot(0, self.quit)

    def quit(self):
        app = Krita.instance()
        for doc in app.documents():
            doc.setBatchmode(True)
            doc.setModified(False)
            doc.close()
        app.action("file_quit").trigger()

    def menu_paths(self, text):
        """Menu paths ("Filter/Enhance") of the main window's items named `text`."""
        found = []

        def walk(menu, path):
            for action in menu.actions():
                label = action.text().replace("&", "")
                if action.menu() is not None:
                    walk(action.menu(), path + [label])
                elif label == text:
                    found.append("/".join(path))

        walk(Krita.instance().activeWindow().qwindow().menuBar(), [])
        return found

    def scenario(self):
        app = Krita.instance()
        job = self.job
        self.facts["menus"] = self.menu_paths("Skin Smoothing\u2026")
        settings = job["settings"]
        doc = app.openDocument(job["input"])
        app.activeWindow().addView(doc)
        doc.waitForDone()
        original = doc.topLevelNodes()[-1]
        doc.setActiveNode(original)
        self.log(f"opened {job['input']}: {self.layers(doc)}")
        self.facts["original_before"] = self.dump(original, "original_before", doc)

        # 0: Cancel leaves the document alone.
        seen = self.run_action(self.fill_and_click(settings, QDialogButtonBox.Cancel))
        self.facts["actions"]["cancel"] = {"seen": seen, "layers": self.layers(doc)}
        self.log("cancel done")

        # 1: fixed settings, new layer above, no selection; screenshot of the dialog.
        before = self.ids(doc)
        seen = self.run_action(
            self.fill_and_click(settings, QDialogButtonBox.Ok, job.get("screenshot"))
        )
        doc.waitForDone()
        (new_layer,) = self.new_nodes(doc, before)
        self.facts["actions"]["new_layer"] = {
            "seen": seen,
            "layers": self.layers(doc),
            "result": self.dump(new_layer, "new_layer", doc),
            "original_after": self.dump(original, "original_after", doc),
        }
        export = InfoObject()
        doc.setBatchmode(True)
        doc.exportImage(str(self.out / "export.png"), export)
        doc.setBatchmode(False)
        self.log("new layer done")

        # 2: the same with a rectangular selection: only selected pixels change.
        x, y, w, h = job["selection"]
        selection = Selection()
        selection.select(x, y, w, h, 255)
        doc.setSelection(selection)
        doc.setActiveNode(original)
        before = self.ids(doc)
        seen = self.run_action(self.fill_and_click(settings, QDialogButtonBox.Ok))
        doc.waitForDone()
        (new_layer,) = self.new_nodes(doc, before)
        self.facts["actions"]["selection"] = {
            "seen": seen,
            "layers": self.layers(doc),
            "result": self.dump(new_layer, "selection_layer", doc),
        }
        self.log("selection done")

        # 3: 16-bit integer (B, G, R, A), the skin mask as a transparency mask.
        app.action("deselect").trigger()
        doc.waitForDone()
        doc.setColorSpace("RGBA", "U16", doc.colorProfile())
        doc.waitForDone()
        original = [n for n in doc.topLevelNodes() if n.name() == original.name()][0]
        doc.setActiveNode(original)
        masked = dict(settings, mask_output="transparency_mask")
        before = self.ids(doc)
        seen = self.run_action(self.fill_and_click(masked, QDialogButtonBox.Ok))
        doc.waitForDone()
        (layer16,) = self.new_nodes(doc, before)
        mask_nodes = [c for c in layer16.childNodes() if c.type() == "transparencymask"]
        self.facts["actions"]["u16_mask"] = {
            "seen": seen,
            "layers": self.layers(doc),
            "selection_after": doc.selection() is not None,
            "original": self.dump(original, "original_u16", doc),
            "result": self.dump(layer16, "u16_layer", doc),
            "masks": [m.name() for m in mask_nodes],
            # Krita 5.1 cannot read a mask's pixels: the layer's projection carries it as alpha.
            "projection": self.dump(layer16, "u16_projection", doc, projection=True),
        }
        self.log("16-bit done")

        # 4: 32-bit float (R, G, B, A), in place, the skin mask as the selection.
        doc.setColorSpace("RGBA", "F32", "")
        doc.waitForDone()
        original = [n for n in doc.topLevelNodes() if n.name() == original.name()][0]
        doc.setActiveNode(original)
        before_ids = self.ids(doc)
        in_place = dict(settings, output="in_place", mask_output="selection", moles=True)
        before = self.dump(original, "f32_before", doc)
        seen = self.run_action(self.fill_and_click(in_place, QDialogButtonBox.Ok))
        doc.waitForDone()
        selection = doc.selection()
        w, h = doc.width(), doc.height()
        if selection is not None:
            (self.out / "f32_selection.raw").write_bytes(bytes(selection.pixelData(0, 0, w, h)))
        self.facts["actions"]["f32_in_place"] = {
            "seen": seen,
            "layers": self.layers(doc),
            "new_nodes": len(self.new_nodes(doc, before_ids)),
            "before": before,
            "result": self.dump(original, "f32_after", doc),
            "selection": selection is not None,
        }
        app.action("deselect").trigger()
        doc.waitForDone()
        self.log("32-bit float done")

        # 5: 16-bit float (R, G, B, A as half floats), new layer.
        doc.setColorSpace("RGBA", "F16", "")
        doc.waitForDone()
        original = [n for n in doc.topLevelNodes() if n.name() == original.name()][0]
        doc.setActiveNode(original)
        before_ids = self.ids(doc)
        seen = self.run_action(self.fill_and_click(settings, QDialogButtonBox.Ok))
        doc.waitForDone()
        (layer_f16,) = self.new_nodes(doc, before_ids)
        self.facts["actions"]["f16"] = {
            "seen": seen,
            "original": self.dump(original, "f16_original", doc),
            "result": self.dump(layer_f16, "f16_layer", doc),
        }
        self.log("16-bit float done")

        # 6: an unsupported colour model gets a message, the document stays as it was.
        doc.setColorSpace("CMYKA", "U8", "")
        doc.waitForDone()
        original = [n for n in doc.topLevelNodes() if n.name() == original.name()][0]
        doc.setActiveNode(original)
        before = bytes(original.pixelData(0, 0, doc.width(), doc.height()))
        seen = self.run_action(self.fill_and_click(settings, QDialogButtonBox.Ok), timeout=20)
        after = bytes(original.pixelData(0, 0, doc.width(), doc.height()))
        self.facts["actions"]["cmyk"] = {
            "seen": seen,
            "layers": self.layers(doc),
            "model": original.colorModel(),
            "unchanged": before == after,
        }
        self.log("cmyk done")


class DriverExtension(Extension):
    def setup(self):
        if JOB:
            Krita.instance().notifier().windowCreated.connect(self.start)

    def start(self):
        self.driver = Driver(JOB)  # keep it alive: Qt holds only a weak reference to the slot
        QTimer.singleShot(500, self.driver.run)

    def createActions(self, window):
        pass


Krita.instance().addExtension(DriverExtension(Krita.instance()))
