"""Install the Krita plug-in: ``skinsmooth install-plugin krita``.

Copies ``skinsmooth.desktop`` and the ``skinsmooth`` package into Krita's
``pykrita`` folder, enables the plug-in in ``kritarc`` (Krita silently skips
Python plug-ins that are not enabled there) and installs ``skinsmooth_core`` with
its dependencies for Krita's Python into ``skinsmooth/deps/python<X.Y>``.
``--zip OUT`` instead builds an archive for Krita's
Tools > Scripts > Import Python Plugin from File.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

from skinsmooth_core._resources import resource_dir
from skinsmooth_core.plugin_install._deps import (
    InstallError,
    deps_folder_name,
    install_into,
    parse_python_version,
    running_python_version,
)

PLUGIN_NAME = "skinsmooth"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "deps")
# Where distributions put Krita's Python plug-in loader, which links libpython3.X.
_PYKRITA_LIBRARIES = (
    "/usr/lib/*/kritaplugins/kritapykrita.so",
    "/usr/lib/kritaplugins/kritapykrita.so",
    "/usr/lib64/kritaplugins/kritapykrita.so",
    "/usr/local/lib/*/kritaplugins/kritapykrita.so",
    "/usr/local/lib/kritaplugins/kritapykrita.so",
)
_LIBPYTHON_RE = re.compile(rb"libpython(3\.\d{1,2})")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Krita-specific options of ``skinsmooth install-plugin krita``."""
    parser.add_argument(
        "--kritarc",
        metavar="FILE",
        help="Krita's settings file in which to enable the plug-in (default: detected)",
    )
    parser.add_argument(
        "--no-enable",
        action="store_true",
        help="don't enable the plug-in in kritarc (enable it in Krita's Python Plugin Manager)",
    )
    parser.add_argument(
        "--zip",
        metavar="OUT",
        help="build a zip for Tools > Scripts > Import Python Plugin from File instead",
    )


def krita_paths(
    system: str | None = None, env: Mapping[str, str] | None = None
) -> tuple[Path, Path]:
    """Krita's per-user ``pykrita`` folder and ``kritarc`` file for `system`.

    Linux follows ``XDG_DATA_HOME`` / ``XDG_CONFIG_HOME`` (defaults
    ``~/.local/share`` and ``~/.config``); Windows uses ``%APPDATA%`` and
    ``%LOCALAPPDATA%``; macOS ``~/Library``.
    """
    system = (system or platform.system()).lower()
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    if system == "windows":
        appdata = Path(env.get("APPDATA") or home / "AppData" / "Roaming")
        local = Path(env.get("LOCALAPPDATA") or home / "AppData" / "Local")
        return appdata / "krita" / "pykrita", local / "kritarc"
    if system == "darwin":
        library = home / "Library"
        return library / "Application Support" / "krita" / "pykrita", library / "Preferences" / (
            "kritarc"
        )
    data = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
    config = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    return data / "krita" / "pykrita", config / "kritarc"


def enable_in_kritarc(text: str, name: str = PLUGIN_NAME) -> str:
    """Return kritarc `text` with ``enable_<name>=true`` in its ``[python]`` group.

    Everything else is kept as it was; an existing ``enable_<name>`` entry is
    replaced, a missing ``[python]`` group is appended.
    """
    key = f"enable_{name}"
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "[python]"), None)
    if start is None:
        body = text.rstrip("\n")
        return (body + "\n\n" if body else "") + f"[python]\n{key}=true\n"
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines)
    )
    for i in range(start + 1, end):
        if lines[i].split("=", 1)[0].strip() == key:
            lines[i] = f"{key}=true"
            break
    else:
        last = end
        while last - 1 > start and not lines[last - 1].strip():
            last -= 1
        lines.insert(last, f"{key}=true")
    return "\n".join(lines) + "\n"


def python_version_from_library(data: bytes) -> tuple[int, int] | None:
    """The Python version a shared library links (``libpython3.X``), or None."""
    match = _LIBPYTHON_RE.search(data)
    return parse_python_version(match.group(1).decode()) if match else None


def detect_python_version(
    patterns: tuple[str, ...] = _PYKRITA_LIBRARIES,
) -> tuple[int, int] | None:
    """Krita's embedded Python version, from its Python plug-in loader; None when not found.

    Falls back to the system ``python3`` when a ``krita`` executable is on the
    PATH but its loader was not found (distributions build Krita against it).
    """
    for pattern in patterns:
        root, _, rest = pattern.lstrip("/").partition("/")
        for library in sorted(Path("/" + root).glob(rest)):
            version = python_version_from_library(library.read_bytes())
            if version is not None:
                return version
    python3 = shutil.which("python3", path="/usr/bin:/bin")
    if shutil.which("krita") and python3:
        out = subprocess.run(
            [python3, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if out.returncode == 0:
            return parse_python_version(out.stdout)
    return None


def krita_running(proc: Path = Path("/proc")) -> bool:
    """True when a process named ``krita`` runs (Linux; False where /proc is missing)."""
    for comm in proc.glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "krita":
                return True
        except OSError:  # the process ended meanwhile
            continue
    return False


def _copy_plugin(pykrita: Path) -> Path:
    """Copy the desktop file and the package into `pykrita`; return the package folder."""
    source = resource_dir("plugins") / "krita"
    pykrita.mkdir(parents=True, exist_ok=True)
    package = pykrita / PLUGIN_NAME
    if package.exists():
        shutil.rmtree(package)
    shutil.copytree(source / PLUGIN_NAME, package, ignore=_IGNORE)
    shutil.copy2(source / f"{PLUGIN_NAME}.desktop", pykrita / f"{PLUGIN_NAME}.desktop")
    return package


def _python_version(args: argparse.Namespace) -> tuple[int, int]:
    if args.python_version:
        return args.python_version
    detected = detect_python_version()
    if detected is None:
        detected = running_python_version()
        print(
            f"Krita's Python was not found; installing for Python {detected[0]}.{detected[1]} "
            "(pass --python-version X.Y if Krita uses another one)"
        )
    return detected


def build_zip(out: Path, args: argparse.Namespace) -> Path:
    """Write the plug-in (with dependencies unless ``--no-deps``) as a zip to `out`."""
    out = Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        package = _copy_plugin(Path(tmp))
        if not args.no_deps:
            version = _python_version(args)
            install_into(package / "deps" / deps_folder_name(version), version, extras=args.extra)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".part")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(Path(tmp).rglob("*")):
                archive.write(path, path.relative_to(tmp).as_posix())
        partial.replace(out)
    return out


def install(args: argparse.Namespace) -> Path:
    """Install the Krita plug-in as `args` say; return the installed package folder."""
    if args.zip:
        return build_zip(Path(args.zip), args)
    pykrita_default, kritarc_default = krita_paths()
    pykrita = Path(args.dest).expanduser() if args.dest else pykrita_default
    package = _copy_plugin(pykrita)
    if not args.no_deps:
        version = _python_version(args)
        install_into(package / "deps" / deps_folder_name(version), version, extras=args.extra)
    if not args.no_enable:
        kritarc = Path(args.kritarc).expanduser() if args.kritarc else kritarc_default
        kritarc.parent.mkdir(parents=True, exist_ok=True)
        text = kritarc.read_text(encoding="utf-8") if kritarc.exists() else ""
        kritarc.write_text(enable_in_kritarc(text), encoding="utf-8")
        print(f"enabled the plug-in in {kritarc}; restart Krita to load it")
        if krita_running():
            print(
                "warning: Krita is running and rewrites kritarc when it quits; quit Krita, then "
                "run this command again (or enable Skin Smoothing in Settings > Configure Krita > "
                "Python Plugin Manager)"
            )
    return package


__all__ = [
    "InstallError",
    "add_arguments",
    "build_zip",
    "detect_python_version",
    "enable_in_kritarc",
    "install",
    "krita_paths",
    "krita_running",
    "parse_python_version",
    "python_version_from_library",
]
