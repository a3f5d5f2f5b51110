"""The retouch's options, described once for the command and the plug-ins.

Every front end (the ``skinsmooth`` command, the Krita dialog, GIMP's procedure arguments)
builds its controls from :data:`OPTIONS`: the names, labels, ranges and defaults of
:func:`~skinsmooth_core.pipeline.smooth_skin`'s options (the defaults read from its
signature), the smoothing methods, the mask sources and the presets. :func:`check_options`
validates a set of options where they enter, without running the retouch.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from .._image import check_float
from .layers import METHODS, filter_function
from .mask import MASK_SOURCES
from .presets import PRESETS
from .smooth import check_scale, check_switch, smooth_skin

__all__ = [
    "AMOUNTS",
    "Amount",
    "Choice",
    "Entry",
    "MASK",
    "METHOD",
    "OPTIONS",
    "PRESET",
    "SCALE",
    "SWITCHES",
    "Scale",
    "Switch",
    "check_options",
    "defaults",
]


@dataclass(frozen=True)
class Entry:
    """One value of a :class:`Choice`: what is passed, what a user reads."""

    value: str
    label: str
    help: str = ""


@dataclass(frozen=True)
class Amount:
    """A number option on [`minimum`, `maximum`] (the amounts are fractions, 0-1)."""

    name: str
    label: str
    help: str
    default: float
    minimum: float = 0.0
    maximum: float = 1.0

    def check(self, value) -> float:
        """`value` as a float, or a ValueError naming the option and its range."""
        return check_float(value, self.name, minimum=self.minimum, maximum=self.maximum)


@dataclass(frozen=True)
class Switch:
    """An on/off option; `flag` is the command's ``--flag`` (``--no-flag`` turns it off)."""

    name: str
    label: str
    help: str
    default: bool
    flag: str

    def check(self, value) -> bool:
        """`value` (True or False), or a ValueError naming the option."""
        return check_switch(value, self.name)


@dataclass(frozen=True)
class Scale:
    """The ``scale`` option: "auto" or a number > 0; dialogs offer 0 (= auto) to `maximum`."""

    name: str
    label: str
    help: str
    default: str | float
    maximum: float

    def check(self, value):
        """`value` ("auto" or a float > 0), or a ValueError saying what is accepted."""
        return check_scale(value)


@dataclass(frozen=True)
class Choice:
    """An option with named values (`entries`), one of them the default."""

    name: str
    label: str
    help: str
    default: str
    entries: tuple[Entry, ...]

    @property
    def values(self) -> tuple[str, ...]:
        """The accepted values, in the order to offer them."""
        return tuple(entry.value for entry in self.entries)

    def entry(self, value: str) -> Entry:
        """The entry of `value` (a ValueError if it is not one)."""
        self.check(value)
        return self.entries[self.values.index(value)]

    def check(self, value) -> str:
        """`value`, or a ValueError naming the option and the accepted values."""
        if not isinstance(value, str) or value not in self.values:
            accepted = ", ".join(map(repr, self.values))
            raise ValueError(f"{self.name} must be one of {accepted}, got {value!r}")
        return value


def defaults() -> dict:
    """The defaults of :func:`smooth_skin`'s options, read from its signature.

    Examples
    --------
    >>> defaults()["strength"], defaults()["method"]
    (0.6, 'guided')
    """
    parameters = inspect.signature(smooth_skin).parameters
    return {
        name: parameter.default
        for name, parameter in parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }


_DEFAULT = defaults()

AMOUNTS = (
    Amount("strength", "Strength", "how much the skin is smoothed", _DEFAULT["strength"]),
    Amount(
        "texture",
        "Texture kept",
        "how much fine skin texture (pores) is put back",
        _DEFAULT["texture"],
    ),  # fmt: skip
    Amount(
        "blemish",
        "Blemish removal",
        "how strongly spots darker or redder than the skin are healed (at any strength)",
        _DEFAULT["blemish"],
    ),
    Amount(
        "tone",
        "Tone evening",
        "how much blotchy redness and uneven colour are evened (shading kept)",
        _DEFAULT["tone"],
    ),
)
SWITCHES = (
    Switch(
        "moles",
        "Heal moles",
        "also heal moles and beauty marks (small, round, very dark, on skin all around); "
        "pupils and nostrils never",
        _DEFAULT["moles"],
        flag="heal-moles",
    ),
)
SCALE = Scale(
    "scale",
    "Scale",
    "size of the effect: 1 suits a face of about 110 px; auto derives it from the skin area",
    _DEFAULT["scale"],
    maximum=16.0,
)
_METHOD_ENTRIES = {
    "guided": Entry("guided", "Guided filter (fast)", "Fast edge-preserving filter (He et al.)"),
    "bilateral": Entry("bilateral", "Bilateral filter", "Classic edge-preserving filter"),
    "surface": Entry("surface", "Surface blur", "Photoshop-style threshold blur"),
    "local-mean": Entry("local-mean", "Local mean (Lee)", "Local statistics filter"),
    "wls": Entry("wls", "Weighted least squares", "Strongest edge preservation, slower"),
    "smart": Entry("smart", "Smart blur", "Threshold blur that leaves edges alone"),
}
METHOD = Choice(
    "method",
    "Method",
    "the edge-preserving filter",
    _DEFAULT["method"],
    tuple(_METHOD_ENTRIES.get(name, Entry(name, name)) for name in METHODS),
)
_MASK_ENTRIES = {
    "auto": Entry("auto", "AI skin model", "Learned skin mask, else skin colour (with a warning)"),
    "unet": Entry("unet", "AI skin model only", "Learned skin mask; an error when not installed"),
    "color": Entry("color", "Skin colour", "Classic colour-range skin detection"),
    "none": Entry("none", "Whole image", "Smooth everything"),
}
MASK = Choice(
    "mask",
    "Mask",
    "where the skin is",
    "auto",
    tuple(_MASK_ENTRIES.get(name, Entry(name, name)) for name in MASK_SOURCES),
)
_PRESET_HELP = {
    "natural": "Light smoothing that keeps most texture",
    "medium": "Balanced smoothing (the defaults)",
    "strong": "Strong smoothing for close-up portraits",
}
PRESET = Choice(
    "preset",
    "Preset",
    "named settings",
    "medium",
    tuple(Entry(name, name.capitalize(), _PRESET_HELP.get(name, "")) for name in PRESETS),
)
OPTIONS = {option.name: option for option in (*AMOUNTS, *SWITCHES, SCALE, METHOD)}


def check_options(options: dict) -> dict:
    """Validate keyword arguments of :func:`smooth_skin` (not the image or the mask).

    Parameters
    ----------
    options : dict
        ``strength``, ``texture``, ``blemish``, ``tone``, ``moles``, ``scale``, ``method``
        and the method's filter options (e.g. ``eps`` for "guided").

    Returns
    -------
    dict
        The options, numbers as floats.

    Raises
    ------
    ValueError
        Naming the first invalid option and what it accepts.
    ImportError
        When the method's filter is not in this installation.

    Examples
    --------
    >>> check_options({"strength": 1, "method": "wls"})
    {'strength': 1.0, 'method': 'wls'}
    """
    checked = {}
    filter_options = {}
    for name, value in options.items():
        if name in OPTIONS:
            checked[name] = OPTIONS[name].check(value)
        else:
            filter_options[name] = value
    filter_function(checked.get("method", METHOD.default), filter_options)
    return {name: checked.get(name, value) for name, value in options.items()}
