"""The retouching pipeline: :func:`smooth_skin` and its named presets."""

from .presets import PRESETS, preset_options
from .smooth import METHODS, auto_scale, smooth_skin

__all__ = ["METHODS", "PRESETS", "auto_scale", "preset_options", "smooth_skin"]
