"""Named settings of :func:`~skinsmooth_core.pipeline.smooth_skin`, shared by CLI and plug-ins."""

from __future__ import annotations

PRESETS: dict[str, dict] = {
    # Light touch: evens the skin, keeps most pores; what good make-up would do.
    "natural": {"strength": 0.5, "texture": 0.5, "blemish": 0.5, "tone": 0.2},
    # The default look of the library (the defaults of smooth_skin).
    "medium": {"strength": 0.6, "texture": 0.35, "blemish": 0.5, "tone": 0.3},
    # Editorial/beauty look: stronger smoothing, fewer spots, pores still there.
    "strong": {"strength": 0.85, "texture": 0.25, "blemish": 0.8, "tone": 0.6},
}


def preset_options(name: str) -> dict:
    """Return a copy of the keyword arguments of preset `name` for :func:`smooth_skin`.

    Parameters
    ----------
    name : str
        One of ``PRESETS`` ("natural", "medium", "strong"); case-insensitive.

    Returns
    -------
    dict
        A fresh dict (safe to modify), e.g. ``{"strength": 0.5, "texture": 0.5, ...}``.

    Raises
    ------
    ValueError
        If `name` is not a preset.

    Examples
    --------
    >>> preset_options("natural")["strength"]
    0.5
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; available presets: {', '.join(PRESETS)}")
    return dict(PRESETS[key])
