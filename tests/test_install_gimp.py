"""The GIMP installer's own logic: folders, GIMP's Python, copying the plug-in.

Installing into the real GIMP 3 and running the plug-in there is proven by
tests/hosts/test_gimp.py (marker ``gimp``).
"""

import ast
import os
import stat
import sys
from pathlib import Path

import pytest

from skinsmooth_core._resources import resource_dir
from skinsmooth_core.plugin_install import _deps, gimp, install

PLUGIN = resource_dir("plugins") / "gimp" / "skinsmooth" / "skinsmooth.py"


@pytest.mark.parametrize(
    "environ, platform, flatpak, expected",
    [
        ({"HOME": "/h"}, "linux", False, "/h/.config/GIMP/3.0"),
        ({"HOME": "/h", "XDG_CONFIG_HOME": "/x"}, "linux", False, "/x/GIMP/3.0"),
        ({"HOME": "/h", "GIMP3_DIRECTORY": "/g"}, "linux", False, "/g"),
        ({"HOME": "/h"}, "linux", True, "/h/.var/app/org.gimp.GIMP/config/GIMP/3.0"),
        ({"HOME": "/h"}, "darwin", False, "/h/Library/Application Support/GIMP/3.0"),
        ({"HOME": "/h", "APPDATA": "/a"}, "win32", False, "/a/GIMP/3.0"),
    ],
)
def test_config_dir(environ, platform, flatpak, expected):
    assert gimp.config_dir(environ, platform, flatpak) == Path(expected)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("python=/usr/bin/python3\n:Python:E::py::python3:\n", "/usr/bin/python3"),
        ("# comment\npython3 = /opt/gimp/bin/python3.12\n", "/opt/gimp/bin/python3.12"),
        ("# Example entries\n#scm=/path/to/scm\n", None),
    ],
)
def test_interpreter_python(text, expected):
    assert gimp.interpreter_python(text) == expected


def test_detect_python_version_from_interp_file(tmp_path, monkeypatch):
    (tmp_path / "pygimp.interp").write_text(f"python={sys.executable}\n")
    monkeypatch.setattr(gimp, "_INTERPRETER_DIRS", (str(tmp_path),))
    version, origin = gimp.detect_python_version()
    assert version == sys.version_info[:2]
    assert str(tmp_path / "pygimp.interp") in origin


def test_install_no_deps_copies_an_executable_plugin(tmp_path, capsys):
    plugins = tmp_path / "plug-ins"
    assert install.main(["gimp", "--dest", str(plugins), "--no-deps"]) == 0
    script = plugins / "skinsmooth" / "skinsmooth.py"  # file name == folder name
    assert script.read_bytes() == PLUGIN.read_bytes()
    assert script.stat().st_mode & stat.S_IXUSR and os.access(script, os.X_OK)
    assert "installed the gimp plug-in" in capsys.readouterr().out
    # Re-running replaces the script and keeps what else is in the folder (deps).
    (plugins / "skinsmooth" / "deps").mkdir()
    script.write_text("old")
    assert install.main(["gimp", "--dest", str(plugins), "--no-deps"]) == 0
    assert script.read_bytes() == PLUGIN.read_bytes()
    assert (plugins / "skinsmooth" / "deps").is_dir()


def test_install_reports_an_unwritable_destination(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert install.main(["gimp", "--dest", str(blocker), "--no-deps"]) == 1
    assert "error" in capsys.readouterr().err


def test_flatpak_option_is_parsed():
    args = install.build_parser().parse_args(["gimp", "--flatpak", "--no-deps"])
    assert args.flatpak and args.no_deps


def test_plugin_registers_the_documented_procedure():
    source = PLUGIN.read_text(encoding="utf-8")
    assert source.startswith("#!/usr/bin/env python3\n")
    tree = ast.parse(source)  # valid Python for every supported version
    strings = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)}
    assert {"plug-in-skinsmooth", "<Image>/Filters/Enhance", "Skin Smoothing…"} <= strings
    assert PLUGIN.stat().st_mode & stat.S_IXUSR, "the shipped plug-in must be executable"


def test_cross_install_accepts_older_manylinux_wheels(tmp_path):
    # Debian trixie's GIMP runs Python 3.13; ai-edge-litert has manylinux_2_27 wheels only.
    command = _deps.pip_command(["ai-edge-litert"], tmp_path, (3, 13), "manylinux_2_28_x86_64")
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert platforms[:2] == ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64"]
    assert platforms[-2:] == ["manylinux_2_17_x86_64", "manylinux2014_x86_64"]
    assert len(platforms) == 13 and command[-1] == "ai-edge-litert"


@pytest.mark.parametrize(
    "tag, expected",
    [
        (
            "manylinux_2_19_aarch64",
            [
                "manylinux_2_19_aarch64",
                "manylinux_2_18_aarch64",
                "manylinux_2_17_aarch64",
                "manylinux2014_aarch64",
            ],
        ),
        ("win_amd64", ["win_amd64"]),
        ("macosx_11_0_arm64", ["macosx_11_0_arm64"]),
    ],
)
def test_platform_tags(tag, expected):
    assert _deps.platform_tags(tag) == expected
