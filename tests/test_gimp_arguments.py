"""The GIMP plug-in's procedure arguments agree with the core's options.

GIMP registers the arguments even where skinsmooth_core is missing, so the plug-in keeps
its own tables; here they are checked against ``skinsmooth_core.pipeline.options``. The
plug-in is loaded from its file with stand-ins for GIMP's ``gi`` modules (it calls into
GIMP only when GIMP runs it); its behaviour in the real GIMP is in tests/hosts/test_gimp.py.
"""

import importlib.util
import sys
import types
from unittest import mock

import pytest

from skinsmooth_core._resources import resource_dir
from skinsmooth_core.pipeline import options


@pytest.fixture(scope="module")
def plugin():
    gimp = mock.MagicMock()
    gimp.PlugIn = type("PlugIn", (), {"__gtype__": None})
    repository = types.SimpleNamespace(
        Gegl=mock.MagicMock(),
        Gimp=gimp,
        GimpUi=mock.MagicMock(),
        GLib=mock.MagicMock(),
        GObject=mock.MagicMock(),
        Gtk=mock.MagicMock(),
    )
    gi = types.SimpleNamespace(require_version=lambda *args: None, repository=repository)
    path = resource_dir("plugins") / "gimp" / "skinsmooth" / "skinsmooth.py"
    with mock.patch.dict(sys.modules, {"gi": gi, "gi.repository": repository}):
        spec = importlib.util.spec_from_file_location("skinsmooth_gimp_plugin", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def _entries(choice, rename=None):
    rename = rename or {}
    return [(rename.get(e.value, e.value), e.label, e.help) for e in choice.entries]


def test_numbers_have_the_cores_names_ranges_and_defaults(plugin):
    numbers = {name: (low, high, default) for name, _, _, low, high, default in plugin.NUMBERS}
    for amount in options.AMOUNTS:
        assert numbers.pop(amount.name) == (amount.minimum, amount.maximum, amount.default)
    low, high, default = numbers.pop("scale")
    assert (low, high) == (0.0, options.SCALE.maximum)
    assert default == (0.0 if options.SCALE.default == "auto" else options.SCALE.default)
    assert not numbers
    assert plugin.AMOUNTS == tuple(amount.name for amount in options.AMOUNTS)


def test_switches_are_the_cores(plugin):
    """On/off arguments: the core's switches, named as the command's flags."""
    assert [(flag, name, default) for flag, name, _, _, default in plugin.SWITCHES] == [
        (switch.flag, switch.name, switch.default) for switch in options.SWITCHES
    ]
    for (_, _, label, help_text, _), switch in zip(plugin.SWITCHES, options.SWITCHES, strict=True):
        assert label.replace("_", "") == switch.label
        assert help_text == switch.help[:1].upper() + switch.help[1:]
    assert all(flag in plugin.ARGUMENTS for flag, *_ in plugin.SWITCHES)


def test_options_read_the_switches_whatever_the_preset(plugin):
    """The dialog's values reach smooth_skin: moles on with a preset, too."""
    values = {"preset": "strong", "heal-moles": True, "scale": 0.0, "method": "guided"}
    config = mock.MagicMock()
    config.get_property.side_effect = values.__getitem__
    from skinsmooth_core import pipeline

    chosen = plugin._options(pipeline, config)
    assert chosen == {**pipeline.preset_options("strong"), "moles": True, "scale": "auto",
                      "method": "guided"}  # fmt: skip
    options.check_options(chosen)


def test_choices_are_the_cores(plugin):
    assert list(plugin.METHODS) == _entries(options.METHOD)
    assert list(plugin.PRESETS[1:]) == _entries(options.PRESET)
    assert plugin.PRESETS[0][0] == "custom"
    # the core's sources but "none" (the selection source is GIMP's own), "unet" as "model"
    core = [entry for entry in _entries(options.MASK, {"unet": "model"}) if entry[0] != "none"]
    assert list(plugin.MASKS[:-1]) == core and plugin.MASKS[-1][0] == "selection"
    assert {plugin.SMOOTH_MASKS[value] for value, _, _ in plugin.MASKS} <= set(options.MASK.values)


def test_outputs_are_the_cores(plugin):
    from skinsmooth_core.pipeline.retouch import OUTPUTS

    assert set(plugin.RETOUCH_OUTPUTS) == {value for value, _, _ in plugin.OUTPUTS}
    assert set(plugin.RETOUCH_OUTPUTS.values()) == set(OUTPUTS)
