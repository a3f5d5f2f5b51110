"""Locate files shipped with the package: the skin model and the host plug-ins.

In a wheel they live in ``skinsmooth_core/_data/<kind>`` (mapped there by
``pyproject.toml``); in a source checkout they are the top-level ``models/``
and ``plugins/`` folders.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(kind: str) -> Path:
    """Return the folder holding shipped resources of `kind` ("models" or "plugins")."""
    if kind not in ("models", "plugins"):
        raise ValueError(f"kind must be 'models' or 'plugins', got {kind!r}")
    for candidate in (_PACKAGE / "_data" / kind, _PACKAGE.parent / kind):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"skinsmooth's {kind}/ folder was not found next to {_PACKAGE}; reinstall the package"
    )
