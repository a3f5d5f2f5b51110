"""Edge-preserving smoothing filters.

Shared conventions: input H x W or H x W x C (C = 1, 3 or 4; alpha returned
untouched), dtype uint8, uint16, float32 or float64; output of the same shape
and dtype. Intensity parameters are on the [0, 1] scale whatever the dtype;
sizes are in pixels.

Borders (scipy.ndimage's mode names; the helpers are in ``filters/_borders.py``):
``"reflect"`` (``dcba|abcd``) for the guided, bilateral and local mean filters;
``"mirror"`` (``dcb|abcd``) for the surface and smart blurs; the WLS filter
couples only pixels inside the image (no padding). The fast guided filter's
block means replicate the last row and column (``"nearest"``).
"""

from .bilateral import bilateral_filter
from .guided import guided_filter, guided_upsample
from .local_mean import local_mean_filter
from .smart_blur import smart_blur
from .surface_blur import surface_blur
from .wls import wls_filter

__all__ = [
    "bilateral_filter",
    "guided_filter",
    "guided_upsample",
    "local_mean_filter",
    "smart_blur",
    "surface_blur",
    "wls_filter",
]
