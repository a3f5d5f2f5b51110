"""The retouching pipeline: :func:`smooth_skin`, its options and presets, and :func:`retouch`,
the call of the command and the plug-ins."""

from ._choices import smooth_skin_info
from .presets import PRESETS, preset_options
from .retouch import Retouched, context_box, retouch
from .smooth import METHODS, auto_scale, largest_skin_area, smooth_skin

__all__ = [
    "METHODS",
    "PRESETS",
    "Retouched",
    "auto_scale",
    "context_box",
    "largest_skin_area",
    "preset_options",
    "retouch",
    "smooth_skin",
    "smooth_skin_info",
]
