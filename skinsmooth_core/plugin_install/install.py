"""``skinsmooth install-plugin {krita,gimp}``: install a host plug-in for the current user.

Options shared by all hosts are defined here (host modules must not redefine them):

``--dest DIR``
    Install into DIR instead of the host's plug-in folder.
``--no-deps``
    Copy only the plug-in; don't install ``skinsmooth_core`` and its dependencies
    for the host's Python (they must then be importable there already).
``--python-version X.Y``
    The host's Python version, when detection is wrong (e.g. an AppImage).
``--extra NAME``
    Also install the dependencies of skinsmooth's optional extra NAME (repeatable).

Each host module ``skinsmooth_core.plugin_install.<host>`` provides
``add_arguments(parser)`` for its own options and ``install(args) -> Path``, which
does the work and returns the installed plug-in folder, raising
:class:`~skinsmooth_core.plugin_install._deps.InstallError` (or ``OSError``) on failure.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from skinsmooth_core.plugin_install._deps import InstallError, parse_python_version

HOSTS = {
    "krita": "Krita 5 Python plug-in (Filter > Enhance > Skin Smoothing...)",
    "gimp": "GIMP 3 Python plug-in (Filters > Enhance > Skin Smoothing...)",
}


def _host_module(host: str) -> ModuleType | None:
    """The installer module of `host`, or None when this version doesn't ship it."""
    name = f"skinsmooth_core.plugin_install.{host}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None


def _python_version(text: str) -> tuple[int, int]:
    try:
        return parse_python_version(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``skinsmooth install-plugin``."""
    parser = argparse.ArgumentParser(
        prog="skinsmooth install-plugin",
        description="Install the skinsmooth plug-in into Krita or GIMP for the current user.",
    )
    hosts = parser.add_subparsers(dest="host", metavar="{" + ",".join(HOSTS) + "}")
    hosts.required = True
    for host, summary in HOSTS.items():
        sub = hosts.add_parser(host, help=summary, description=f"Install the {summary}.")
        sub.add_argument(
            "--dest", metavar="DIR", help="install into DIR instead of the host's plug-in folder"
        )
        sub.add_argument(
            "--no-deps",
            action="store_true",
            help="copy only the plug-in, don't install skinsmooth_core and its dependencies",
        )
        sub.add_argument(
            "--python-version",
            metavar="X.Y",
            type=_python_version,
            help="the host's Python version (default: detected)",
        )
        sub.add_argument(
            "--extra",
            metavar="NAME",
            action="append",
            default=[],
            help="also install the dependencies of skinsmooth's optional extra NAME",
        )
        module = _host_module(host)
        if module is not None:
            module.add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``skinsmooth install-plugin`` with `argv` (the arguments after ``install-plugin``).

    Returns the exit code: 0 on success, 1 when installing failed, 2 on a usage error.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help or a usage error, already printed
        return 0 if exc.code in (0, None) else 2
    module = _host_module(args.host)
    if module is None:
        print(
            f"skinsmooth install-plugin: error: this version has no {args.host} installer",
            file=sys.stderr,
        )
        return 1
    try:
        installed = module.install(args)
    except (InstallError, OSError) as exc:
        print(f"skinsmooth install-plugin: error: {exc}", file=sys.stderr)
        return 1
    print(f"installed the {args.host} plug-in into {installed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
