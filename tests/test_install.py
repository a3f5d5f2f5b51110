"""The plug-in installer's own logic: arguments, paths, kritarc editing, dependency lists.

Installing into the real Krita is proven by tests/hosts/test_krita.py (marker ``krita``).
"""

import configparser
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from skinsmooth_core.plugin_install import _deps, install
from skinsmooth_core.plugin_install import krita as krita_installer


@pytest.mark.parametrize(
    "text, expected", [("3.11", (3, 11)), ("3.9.18", (3, 9)), (" 3.13\n", (3, 13))]
)
def test_parse_python_version(text, expected):
    assert _deps.parse_python_version(text) == expected
    assert _deps.deps_folder_name(text) == f"python{expected[0]}.{expected[1]}"


@pytest.mark.parametrize("text", ["3", "2.7", "3.x", "311", "3.11.2.1", "", "3.11a"])
def test_parse_python_version_rejects(text):
    with pytest.raises(ValueError, match="3.X"):
        _deps.parse_python_version(text)


def test_runtime_requirements_from_metadata_lines():
    lines = [
        "numpy>=1.24",
        "scipy>=1.10",
        'tomli; python_version < "3.11"',
        'pytest>=7; extra == "test"',
        'ai-edge-litert>=1.0; extra == "ml" and platform_system == "Linux"',
    ]
    assert _deps.runtime_requirements(requires=lines) == [
        "numpy>=1.24",
        "scipy>=1.10",
        'tomli; python_version < "3.11"',
    ]
    with_ml = _deps.runtime_requirements(["ml"], requires=lines)
    assert with_ml[-1] == 'ai-edge-litert>=1.0; platform_system == "Linux"'
    assert "pytest>=7" not in with_ml


def test_runtime_requirements_of_this_project():
    names = [r.split(">")[0].split(";")[0].strip() for r in _deps.runtime_requirements()]
    assert {"numpy", "scipy", "scikit-image", "pillow"} <= set(names)
    assert "pytest" not in names


def test_pip_command_same_python_is_plain(tmp_path):
    command = _deps.pip_command(["numpy"], tmp_path)
    assert command[:3] == [sys.executable, "-m", "pip"]
    assert ["--target", str(tmp_path)] == command[command.index("--target") :][:2]
    assert "--python-version" not in command and command[-1] == "numpy"


def test_pip_command_other_python_cross_installs_wheels(tmp_path):
    other = (3, 13) if sys.version_info[:2] != (3, 13) else (3, 12)
    command = _deps.pip_command(["numpy", "scipy"], tmp_path, other, "manylinux_2_28_x86_64")
    assert command[command.index("--python-version") + 1] == f"{other[0]}.{other[1]}"
    assert command[command.index("--platform") + 1] == "manylinux_2_28_x86_64"
    assert "--only-binary=:all:" in command
    assert command[command.index("--implementation") + 1] == "cp"
    assert command[-2:] == ["numpy", "scipy"]


@pytest.mark.parametrize(
    "system, machine, tag",
    [
        ("Linux", "x86_64", "manylinux_2_28_x86_64"),
        ("Linux", "aarch64", "manylinux_2_28_aarch64"),
        ("Windows", "AMD64", "win_amd64"),
        ("Darwin", "arm64", "macosx_11_0_arm64"),
    ],
)
def test_default_platform(system, machine, tag):
    assert _deps.default_platform(system, machine) == tag


def test_copy_core_brings_package_and_models(tmp_path):
    copied = _deps.copy_core(tmp_path)
    assert (copied / "__init__.py").is_file()
    assert (copied / "plugin_install" / "_deps.py").is_file()
    assert (copied / "_data" / "models").is_dir()
    assert not list(copied.rglob("__pycache__"))
    # The copy imports on its own (a fresh interpreter with only tmp_path on the path).
    code = "import skinsmooth_core, sys; print(skinsmooth_core.__file__)"
    out = subprocess.run(
        [sys.executable, "-S", "-c", code],
        env={"PYTHONPATH": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(out.stdout.strip()).parent == copied


def test_install_into_reports_pip_failure(tmp_path):
    def failing_pip(command, **kwargs):
        return subprocess.CompletedProcess(command, 1, stdout="No matching distribution")

    with pytest.raises(_deps.InstallError, match="No matching distribution"):
        _deps.install_into(tmp_path / "deps", (3, 11), run=failing_pip, log=lambda _: None)


@pytest.mark.parametrize(
    "system, env, pykrita, kritarc",
    [
        (
            "Linux",
            {"HOME": "/home/ana"},
            "/home/ana/.local/share/krita/pykrita",
            "/home/ana/.config/kritarc",
        ),
        (
            "Linux",
            {"HOME": "/home/ana", "XDG_DATA_HOME": "/d", "XDG_CONFIG_HOME": "/c"},
            "/d/krita/pykrita",
            "/c/kritarc",
        ),
        (
            "Darwin",
            {"HOME": "/Users/ana"},
            "/Users/ana/Library/Application Support/krita/pykrita",
            "/Users/ana/Library/Preferences/kritarc",
        ),
        (
            "Windows",
            {"APPDATA": "C:/U/ana/AppData/Roaming", "LOCALAPPDATA": "C:/U/ana/AppData/Local"},
            "C:/U/ana/AppData/Roaming/krita/pykrita",
            "C:/U/ana/AppData/Local/kritarc",
        ),
    ],
)
def test_krita_paths(system, env, pykrita, kritarc):
    assert krita_installer.krita_paths(system, env) == (Path(pykrita), Path(kritarc))


KRITARC = """[General]
DontUseNativeFileDialog=true

[python]
enable_batch_exporter=true
enable_skinsmooth=false

[theme]
Theme=Krita dark
"""


def _parse(text):
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read_string(text)
    return parser


@pytest.mark.parametrize(
    "before",
    [
        "",
        KRITARC,
        KRITARC.replace("enable_skinsmooth=false\n", ""),
        KRITARC.replace("[theme]\nTheme=Krita dark\n", ""),
        "[General]\nfoo=1",
    ],
)
def test_enable_in_kritarc(before):
    after = krita_installer.enable_in_kritarc(before)
    parsed = _parse(after)
    assert parsed["python"]["enable_skinsmooth"] == "true"
    assert after.count("enable_skinsmooth") == 1
    if before:
        original = _parse(before)
        for section in original.sections():
            for key, value in original[section].items():
                if key != "enable_skinsmooth":
                    assert parsed[section][key] == value
    # Idempotent.
    assert krita_installer.enable_in_kritarc(after) == after


def test_python_version_from_library():
    blob = b"\x7fELF\x00junk\x00libpython3.11.so.1.0\x00more"
    assert krita_installer.python_version_from_library(blob) == (3, 11)
    assert krita_installer.python_version_from_library(b"\x7fELF no python here") is None


def test_main_help_and_usage_errors(capsys):
    assert install.main(["--help"]) == 0
    assert "krita" in capsys.readouterr().out
    assert install.main([]) == 2
    assert install.main(["photoshop"]) == 2
    assert install.main(["krita", "--python-version", "two"]) == 2
    assert "3.X" in capsys.readouterr().err


def test_main_installs_krita_plugin_without_deps(tmp_path, capsys):
    kritarc = tmp_path / "config" / "kritarc"
    kritarc.parent.mkdir()
    kritarc.write_text(KRITARC)
    dest = tmp_path / "pykrita"
    code = install.main(["krita", "--dest", str(dest), "--no-deps", "--kritarc", str(kritarc)])
    assert code == 0, capsys.readouterr().err
    desktop = _parse((dest / "skinsmooth.desktop").read_text())["Desktop Entry"]
    assert desktop["X-KDE-Library"] == "skinsmooth"
    assert desktop["ServiceTypes"] == "Krita/PythonPlugin"
    assert (dest / "skinsmooth" / "__init__.py").is_file()
    assert (dest / "skinsmooth" / desktop["X-Krita-Manual"]).is_file()
    assert not (dest / "skinsmooth" / "deps").exists()
    assert _parse(kritarc.read_text())["python"]["enable_skinsmooth"] == "true"
    assert _parse(kritarc.read_text())["theme"]["Theme"] == "Krita dark"


def test_main_reports_failure(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = install.main(["krita", "--dest", str(blocker / "pykrita"), "--no-deps", "--no-enable"])
    assert code == 1
    assert "error" in capsys.readouterr().err


def test_zip_matches_krita_importer_layout(tmp_path):
    out = tmp_path / "skinsmooth-krita.zip"
    assert install.main(["krita", "--zip", str(out), "--no-deps"]) == 0
    names = zipfile.ZipFile(out).namelist()
    # Krita's importer takes X-KDE-Library from the .desktop file and the folder of that name.
    assert "skinsmooth.desktop" in names
    assert "skinsmooth/__init__.py" in names
    assert not [n for n in names if "__pycache__" in n]


def test_krita_running_reads_process_names(tmp_path):
    for pid, name in ((10, "bash"), (11, "python3")):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "comm").write_text(name + "\n")
    assert not krita_installer.krita_running(tmp_path)
    (tmp_path / "12").mkdir()
    (tmp_path / "12" / "comm").write_text("krita\n")
    assert krita_installer.krita_running(tmp_path)
    assert not krita_installer.krita_running(tmp_path / "missing")
