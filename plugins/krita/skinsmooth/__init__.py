"""Skin Smoothing for Krita: Filter > Enhance > Skin Smoothing...

A thin adapter over ``skinsmooth_core.pipeline.retouch``. ``skinsmooth install-plugin
krita`` puts ``skinsmooth_core`` and its dependencies for Krita's Python into
``deps/python<X.Y>`` next to this file; that folder goes first on ``sys.path``.
The core is imported only when the action runs, so a missing dependency is
reported in a message box instead of breaking Krita's start-up.
"""

import sys
from pathlib import Path

# Same naming as skinsmooth_core.adapters._deps.deps_folder_name (not importable yet).
_DEPS = Path(__file__).resolve().parent / "deps" / "python{}.{}".format(*sys.version_info[:2])
if _DEPS.is_dir() and str(_DEPS) not in sys.path:
    sys.path.insert(0, str(_DEPS))

from krita import Extension, Krita  # noqa: E402

ACTION_ID = "skinsmooth_skin_smoothing"
ACTION_TEXT = "Skin Smoothing\u2026"


class SkinSmoothingExtension(Extension):
    """Adds "Skin Smoothing..." to Filter > Enhance and Tools > Scripts."""

    def setup(self):
        pass

    def createActions(self, window):
        action = window.createAction(ACTION_ID, ACTION_TEXT, "filter/enhance_filters")
        action.setToolTip("Smooth skin with an AI skin mask, keeping pores and edges")
        action.triggered.connect(self.run)
        scripts = window.createAction(ACTION_ID + "_scripts", ACTION_TEXT, "tools/scripts")
        scripts.triggered.connect(self.run)

    def run(self):
        try:
            from .dialog import run_on_active_document
        except ImportError as exc:
            _missing_dependencies(exc)
            return
        run_on_active_document(Krita.instance())


def _missing_dependencies(exc):
    from PyQt5.QtWidgets import QMessageBox

    window = Krita.instance().activeWindow()
    QMessageBox.critical(
        window.qwindow() if window is not None else None,
        "Skin Smoothing",
        f"Skin Smoothing needs numpy, scipy, scikit-image and skinsmooth in Krita's Python "
        f"({exc}). Close Krita and run `skinsmooth install-plugin krita`, which installs "
        f"them into {_DEPS}.",
    )


Krita.instance().addExtension(SkinSmoothingExtension(Krita.instance()))
