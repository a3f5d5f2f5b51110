"""The retouching pipeline: :func:`smooth_skin` and its named presets."""

from ._choices import smooth_skin_info
from .presets import PRESETS, preset_options
from .smooth import METHODS, auto_scale, largest_skin_area, smooth_skin

__all__ = [
    "METHODS",
    "PRESETS",
    "auto_scale",
    "largest_skin_area",
    "preset_options",
    "smooth_skin",
    "smooth_skin_info",
]
