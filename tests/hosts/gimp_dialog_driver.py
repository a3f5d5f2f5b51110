"""Drives the plug-in's dialog in the real GIMP 3 like a user: keys on the X display.

Not a pytest module. tests/hosts/gimp_batch.py starts it (with the chroot's
``python3``) just before it runs plug-in-skinsmooth interactively:

    python3 gimp_dialog_driver.py LOG_FOLDER OUT_FOLDER

GIMP runs with SKINSMOOTH_GIMP_PREVIEW_LOG=LOG_FOLDER, so the plug-in records
every preview it draws there (pixels, view, arguments; see the plug-in's
``_Preview._record``). The driver waits for the first preview, types 90 into
the Strength field (Alt+N), shows the skin mask (Alt+K), the original (Alt+G)
and the result again (Alt+D), waiting each time until the plug-in has drawn
it, takes screenshots of the dialog window showing the mask
(``dialog-mask.png``) and the result (``dialog.png``), and presses Escape
(Cancel). It writes what it saw to OUT_FOLDER/driver.json and exits 1
when a step timed out.
"""

import json
import os
import subprocess
import sys
import time

import gi

gi.require_version("Gdk", "3.0")
gi.require_version("GdkX11", "3.0")
from gi.repository import Gdk, GdkX11  # noqa: E402

TITLE = "^Skin Smoothing$"
STEP_TIMEOUT = 40  # seconds; the first preview may compile the filters (once per install)


def xdotool(*args):
    return subprocess.run(
        ["xdotool", *args], check=True, capture_output=True, text=True, timeout=60
    ).stdout.strip()


def entries(log_folder):
    try:
        with open(os.path.join(log_folder, "previews.jsonl")) as log:
            return [json.loads(line) for line in log if line.strip()]
    except FileNotFoundError:
        return []


def wait_for(log_folder, after, condition, what):
    """The first preview drawn after the `after` first ones that satisfies `condition`."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        for entry in entries(log_folder)[after:]:
            if condition(entry):
                return entry
        time.sleep(0.1)
    raise TimeoutError(f"no preview {what} within {STEP_TIMEOUT} s")


def screenshot(window_id, path):
    """The dialog window's pixels, as the X server shows them, saved as PNG."""
    display = Gdk.Display.open(os.environ["DISPLAY"])
    window = GdkX11.X11Window.foreign_new_for_display(display, int(window_id))
    pixbuf = Gdk.pixbuf_get_from_window(window, 0, 0, window.get_width(), window.get_height())
    pixbuf.savev(path, "png", [], [])
    return [window.get_width(), window.get_height()]


def main(log_folder, out_folder):
    seen = {"steps": []}
    window = None

    def step(name, commands, condition):
        """Run xdotool `commands` on the dialog; wait for the preview they lead to."""
        done = len(entries(log_folder))
        for command in commands:  # separate calls: `type` takes every word after it as text
            xdotool("windowfocus", "--sync", window, *command)
        entry = wait_for(log_folder, done, condition, name)
        seen["steps"].append({"name": name, **entry})

    try:
        window = xdotool("search", "--sync", "--onlyvisible", "--name", TITLE).splitlines()[0]
        step("opened", [], lambda entry: entry["view"] == "result" and entry["options"])
        step(
            "strength",
            [["key", "--clearmodifiers", "alt+n", "ctrl+a"], ["type", "90"], ["key", "Tab"]],
            lambda entry: (
                entry["view"] == "result" and abs(entry["options"]["strength"] - 0.9) < 1e-9
            ),
        )
        for name, key in (("mask", "alt+k"), ("original", "alt+g"), ("result", "alt+d")):
            step(
                name,
                [["key", "--clearmodifiers", key]],
                lambda entry, view=name: entry["view"] == view,
            )
            if name == "mask":
                time.sleep(0.5)  # let the X server show the picture
                screenshot(window, os.path.join(out_folder, "dialog-mask.png"))
        time.sleep(0.5)  # let the X server show the last picture
        seen["window_size"] = screenshot(window, os.path.join(out_folder, "dialog.png"))
        xdotool("windowfocus", "--sync", window, "key", "--clearmodifiers", "Escape")
        seen["ok"] = True
    except Exception as exc:  # reported to the test through driver.json
        seen.update(ok=False, error=f"{type(exc).__name__}: {exc}")
        if window is not None:
            try:  # what the dialog showed; then leave no dialog open: GIMP would wait for it
                screenshot(window, os.path.join(out_folder, "dialog-failure.png"))
                # Tab first: out of a text field that may hold the keyboard.
                xdotool("windowfocus", "--sync", window, "key", "--clearmodifiers", "Tab", "Escape")
            except Exception as second:  # noqa: BLE001
                seen["cleanup_error"] = f"{type(second).__name__}: {second}"
    with open(os.path.join(out_folder, "driver.json"), "w") as handle:
        json.dump(seen, handle, indent=1)
    return 0 if seen["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
