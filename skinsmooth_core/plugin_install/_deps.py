"""Make ``skinsmooth_core`` and its dependencies importable from a host's Python.

Krita and GIMP run plug-ins in their own embedded Python, which may be another
version than the one running the installer. :func:`install_into` fills a folder
that a plug-in prepends to ``sys.path``:

- a copy of the installed ``skinsmooth_core`` package (pure Python, with its
  shipped models; from a source checkout the top-level ``models/``);
- the runtime dependencies read from the distribution's metadata
  (``importlib.metadata.requires("skinsmooth")``), installed with
  ``pip install --target`` as binary wheels for the host's Python version and
  platform when it differs from the running interpreter.

Plug-ins look for the folder ``deps/python<X.Y>`` inside their own package
(:func:`deps_folder_name`), so one plug-in folder can hold dependencies for
several Python versions.
"""

from __future__ import annotations

import importlib.metadata
import platform as _platform
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import skinsmooth_core
from skinsmooth_core._resources import resource_dir

DISTRIBUTION = "skinsmooth"
_VERSION_RE = re.compile(r"^(3)\.(\d{1,2})$")
_EXTRA_MARKER_RE = re.compile(r"""\bextra\s*==\s*["']([^"']+)["']""")


class InstallError(RuntimeError):
    """Installing a plug-in or its dependencies failed; the message says why and what to do."""


def parse_python_version(text: str) -> tuple[int, int]:
    """Parse ``"3.11"`` into ``(3, 11)``; a patch level (``"3.11.2"``) is ignored."""
    parts = str(text).strip().split(".")
    candidate = ".".join(parts[:2])
    match = _VERSION_RE.match(candidate)
    if len(parts) > 3 or match is None or not all(p.isdigit() for p in parts):
        raise ValueError(f"Python version must look like 3.X (e.g. 3.11), got {text!r}")
    return int(match.group(1)), int(match.group(2))


def deps_folder_name(version: tuple[int, int] | str) -> str:
    """Name of the dependency folder for a Python version: ``"python3.11"``.

    The plug-ins compute the same name from ``sys.version_info`` at import.
    """
    major, minor = parse_python_version(version) if isinstance(version, str) else version
    return f"python{major}.{minor}"


def running_python_version() -> tuple[int, int]:
    """The (major, minor) version of the interpreter running this code."""
    return sys.version_info[:2]


def default_platform(system: str | None = None, machine: str | None = None) -> str:
    """The pip platform tag of binary wheels for this machine's host applications.

    Linux gets ``manylinux_2_28_<arch>`` (:func:`platform_tags` adds the older
    manylinux tags), Windows ``win_amd64``, macOS ``macosx_11_0_<arch>``.
    """
    system = (system or _platform.system()).lower()
    machine = (machine or _platform.machine()).lower()
    arch = {"amd64": "x86_64", "x64": "x86_64", "arm64": "arm64", "aarch64": "aarch64"}.get(
        machine, machine
    )
    if system == "linux":
        return f"manylinux_2_28_{'aarch64' if arch == 'arm64' else arch}"
    if system == "windows":
        return "win_arm64" if arch in ("arm64", "aarch64") else "win_amd64"
    if system == "darwin":
        return f"macosx_11_0_{'arm64' if arch in ('arm64', 'aarch64') else 'x86_64'}"
    raise InstallError(
        f"no binary-wheel platform known for {system!r}/{machine!r}; pass --no-deps and "
        "install skinsmooth into the host's Python yourself"
    )


def runtime_requirements(
    extras: Iterable[str] = (), requires: Sequence[str] | None = None
) -> list[str]:
    """Requirement strings of skinsmooth's runtime dependencies, plus those of `extras`.

    Read from the installed distribution's metadata; ``requires`` overrides it
    (the raw ``Requires-Dist`` lines). Environment markers other than ``extra``
    are kept: pip evaluates them for the target Python.
    """
    if requires is None:
        try:
            requires = importlib.metadata.requires(DISTRIBUTION) or []
        except importlib.metadata.PackageNotFoundError:
            requires = _source_checkout_requirements()
    wanted = set(extras)
    result = []
    for line in requires:
        spec, _, marker = line.partition(";")
        extra = _EXTRA_MARKER_RE.search(marker)
        if extra is None:
            result.append(line.strip())
        elif extra.group(1) in wanted:
            rest = _EXTRA_MARKER_RE.sub("", marker).strip()
            rest = re.sub(r"^(and|or)\s+|\s+(and|or)$", "", rest).strip()
            result.append(spec.strip() + (f"; {rest}" if rest else ""))
    return result


def _source_checkout_requirements() -> list[str]:
    """``Requires-Dist``-style lines from ``pyproject.toml`` of a source checkout."""
    pyproject = Path(skinsmooth_core.__file__).resolve().parent.parent / "pyproject.toml"
    if not pyproject.is_file():
        raise InstallError(
            f"the {DISTRIBUTION!r} distribution is not installed and no pyproject.toml was found "
            f"next to {Path(skinsmooth_core.__file__).parent}; install it with `pip install .`"
        )
    try:
        import tomllib
    except ModuleNotFoundError as exc:  # Python 3.10
        raise InstallError(
            "reading dependencies from a source checkout needs Python >= 3.11; "
            "install skinsmooth with `pip install .` instead"
        ) from exc
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    lines = list(project.get("dependencies", []))
    for extra, specs in project.get("optional-dependencies", {}).items():
        lines += [f'{spec}; extra == "{extra}"' for spec in specs]
    return lines


def copy_core(target: Path) -> Path:
    """Copy the ``skinsmooth_core`` package with its shipped models into `target`.

    Returns the copied package folder. An existing copy is replaced.
    """
    source = Path(skinsmooth_core.__file__).resolve().parent
    destination = Path(target) / "skinsmooth_core"
    if destination.exists():
        shutil.rmtree(destination)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "plugins")
    shutil.copytree(source, destination, ignore=ignore)
    models_copy = destination / "_data" / "models"
    if not models_copy.is_dir():
        models = resource_dir("models")
        shutil.copytree(models, models_copy, ignore=ignore)
    return destination


def pip_command(
    requirements: Sequence[str],
    target: Path,
    python_version: tuple[int, int] | None = None,
    platform: str | None = None,
    python: str | None = None,
) -> list[str]:
    """The ``pip install --target`` command line for `requirements`.

    Cross-installs binary wheels (``--python-version``, ``--platform``,
    ``--only-binary=:all:``) when `python_version` differs from the running
    interpreter or a `platform` is given.
    """
    command = [python or sys.executable, "-m", "pip", "install", "--disable-pip-version-check"]
    command += ["--quiet", "--upgrade", "--target", str(target)]
    version = python_version or running_python_version()
    if tuple(version) != running_python_version() or platform is not None:
        command += [
            "--python-version",
            f"{version[0]}.{version[1]}",
            "--only-binary=:all:",
            *(
                arg
                for tag in platform_tags(platform or default_platform())
                for arg in ("--platform", tag)
            ),
            "--implementation",
            "cp",
        ]
    return command + list(requirements)


def platform_tags(platform: str) -> list[str]:
    """`platform` and the older tags its wheels may carry, most specific first.

    pip matches an explicit ``--platform`` exactly: ``manylinux_2_28`` alone misses wheels built
    for an older glibc (ai-edge-litert ships ``manylinux_2_27`` only), so list them all.
    """
    match = re.fullmatch(r"manylinux_2_(\d+)_(\w+)", platform)
    if match is None:
        return [platform]
    newest, arch = int(match.group(1)), match.group(2)
    return [f"manylinux_2_{m}_{arch}" for m in range(newest, 16, -1)] + [f"manylinux2014_{arch}"]


def install_into(
    target: Path,
    python_version: tuple[int, int] | None = None,
    *,
    extras: Iterable[str] = (),
    platform: str | None = None,
    run: Callable[..., subprocess.CompletedProcess] = subprocess.run,
    log: Callable[[str], object] = print,
) -> Path:
    """Fill `target` with ``skinsmooth_core`` and its dependencies for a host's Python.

    Returns `target`. Raises :class:`InstallError` when pip fails.
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    version = python_version or running_python_version()
    requirements = runtime_requirements(extras)
    command = pip_command(requirements, target, version, platform)
    log(f"installing {', '.join(requirements)} for Python {version[0]}.{version[1]} into {target}")
    result = run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        raise InstallError(
            f"pip could not install the dependencies (exit code {result.returncode}):\n"
            f"{result.stdout}\ncommand: {' '.join(command)}"
        )
    copy_core(target)
    return target
