"""``skinsmooth install-plugin gimp``: install the GIMP 3 plug-in for the current user.

The plug-in ``plugins/gimp/skinsmooth/skinsmooth.py`` is copied (executable) to
``<GIMP config>/plug-ins/skinsmooth/skinsmooth.py``; GIMP only loads a plug-in
whose file name equals its folder name. ``skinsmooth_core`` and its
dependencies are installed for GIMP's own Python (Debian trixie's GIMP 3 runs
Python 3.13, whatever the user's Python is) into
``plug-ins/skinsmooth/deps/python<X.Y>``, which the plug-in puts first on
``sys.path`` (:mod:`skinsmooth_core.plugin_install._deps`).

GIMP's configuration folder is ``$GIMP3_DIRECTORY`` when set, else
``$XDG_CONFIG_HOME/GIMP/3.0`` (``~/.config/GIMP/3.0``) on Linux,
``%APPDATA%\\GIMP\\3.0`` on Windows and ``~/Library/Application Support/GIMP/3.0``
on macOS; ``--flatpak`` targets the Flatpak build (``org.gimp.GIMP``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from skinsmooth_core._resources import resource_dir
from skinsmooth_core.plugin_install import _deps
from skinsmooth_core.plugin_install._deps import InstallError

PLUGIN_NAME = "skinsmooth"
GIMP_VERSION = "3.0"
FLATPAK_APP = "org.gimp.GIMP"
# Where GIMP's interpreter files (which map ".py" to a Python binary) are installed.
_INTERPRETER_DIRS = (
    "/usr/lib/gimp/3.0/interpreters",
    "/usr/lib/x86_64-linux-gnu/gimp/3.0/interpreters",
    "/usr/lib/aarch64-linux-gnu/gimp/3.0/interpreters",
    "/usr/lib64/gimp/3.0/interpreters",
    "/usr/local/lib/gimp/3.0/interpreters",
)
_PYTHON_VERSION_CODE = "import sys; print('%d.%d' % sys.version_info[:2])"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """GIMP-specific options of ``skinsmooth install-plugin gimp``."""
    parser.add_argument(
        "--flatpak",
        action="store_true",
        help=f"install for the Flatpak GIMP ({FLATPAK_APP}) instead of the system one",
    )


def config_dir(
    environ: Mapping[str, str] | None = None, platform: str | None = None, flatpak: bool = False
) -> Path:
    """GIMP 3's per-user configuration folder (the one holding ``plug-ins/``)."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    home = Path(environ.get("HOME") or Path.home())
    if flatpak:
        return home / ".var" / "app" / FLATPAK_APP / "config" / "GIMP" / GIMP_VERSION
    if environ.get("GIMP3_DIRECTORY"):
        return Path(environ["GIMP3_DIRECTORY"])
    if platform.startswith("win"):
        return Path(environ.get("APPDATA") or home / "AppData" / "Roaming") / "GIMP" / GIMP_VERSION
    if platform == "darwin":
        return home / "Library" / "Application Support" / "GIMP" / GIMP_VERSION
    base = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    return base / "GIMP" / GIMP_VERSION


def interpreter_python(interp_text: str) -> str | None:
    """The Python binary registered for ``.py`` plug-ins in a GIMP ``.interp`` file."""
    for line in interp_text.splitlines():
        match = re.match(r"^\s*python3?\s*=\s*(\S+)\s*$", line)
        if match:
            return match.group(1)
    return None


def _version_of(command: list[str]) -> tuple[int, int] | None:
    try:
        result = subprocess.run(
            command + ["-c", _PYTHON_VERSION_CODE], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    try:
        return _deps.parse_python_version(result.stdout.strip())
    except ValueError:
        return None


def detect_python_version(flatpak: bool = False) -> tuple[tuple[int, int], str]:
    """GIMP's Python version and how it was found.

    Reads the Python binary from GIMP's ``pygimp.interp``, else (when GIMP is
    installed without one) asks the ``python3`` the plug-in's ``#!`` line runs, or
    the Flatpak runtime; falls back to the running interpreter's version.
    """
    if flatpak:
        command = ["flatpak", "run", "--command=python3", FLATPAK_APP]
        version = _version_of(command)
        if version is not None:
            return version, " ".join(command)
    else:
        for folder in _INTERPRETER_DIRS:
            for interp in sorted(Path(folder).glob("*.interp")):
                python = interpreter_python(interp.read_text(encoding="utf-8", errors="replace"))
                version = _version_of([python]) if python else None
                if version is not None:
                    return version, f"{python} (from {interp})"
        # No interpreter file (e.g. Debian): GIMP runs the plug-in's "#!/usr/bin/env python3".
        if any(shutil.which(name) for name in ("gimp-3.0", "gimp-console-3.0", "gimp")):
            for python in ("/usr/bin/python3", shutil.which("python3")):
                version = _version_of([python]) if python and Path(python).exists() else None
                if version is not None:
                    return version, f"{python} (the plug-in's #!/usr/bin/env python3)"
    return _deps.running_python_version(), "the running Python (GIMP's Python was not found)"


def plugin_source() -> Path:
    """The shipped plug-in folder ``plugins/gimp/skinsmooth``."""
    source = resource_dir("plugins") / "gimp" / PLUGIN_NAME
    if not (source / f"{PLUGIN_NAME}.py").is_file():
        raise InstallError(f"the GIMP plug-in was not found in {source}; reinstall skinsmooth")
    return source


def copy_plugin(plugins_dir: Path) -> Path:
    """Copy the plug-in into ``plugins_dir/skinsmooth/`` and make it executable."""
    destination = Path(plugins_dir) / PLUGIN_NAME
    destination.mkdir(parents=True, exist_ok=True)
    script = destination / f"{PLUGIN_NAME}.py"
    shutil.copyfile(plugin_source() / f"{PLUGIN_NAME}.py", script)
    mode = script.stat().st_mode
    script.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return destination


def install(args: argparse.Namespace) -> Path:
    """Install the plug-in (and, unless ``--no-deps``, its Python dependencies).

    Returns the installed plug-in folder ``.../plug-ins/skinsmooth``.
    """
    flatpak = getattr(args, "flatpak", False)
    plugins_dir = (
        Path(args.dest).expanduser() if args.dest else config_dir(flatpak=flatpak) / "plug-ins"
    )
    destination = copy_plugin(plugins_dir)
    print(f"copied the plug-in to {destination / (PLUGIN_NAME + '.py')}")
    if args.no_deps:
        return destination
    version = args.python_version
    if version is None:
        version, origin = detect_python_version(flatpak)
        print(f"GIMP's Python: {version[0]}.{version[1]}, {origin}")
    target = destination / "deps" / _deps.deps_folder_name(version)
    _deps.install_into(target, version, extras=args.extra)
    return destination
