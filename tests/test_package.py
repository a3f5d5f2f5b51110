"""The top-level package: cheap to import, and every advertised name resolves."""

import subprocess
import sys

import pytest

import skinsmooth_core


@pytest.mark.parametrize("name", skinsmooth_core.__all__)
def test_public_names_resolve(name):
    assert getattr(skinsmooth_core, name) is not None


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'smooth'"):
        skinsmooth_core.smooth  # noqa: B018


def test_import_does_not_load_the_heavy_modules():
    code = (
        "import sys, skinsmooth_core; "
        "print(any(m.startswith(('scipy', 'skimage', 'ai_edge_litert')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
