"""skinsmooth: AI skin smoothing for portraits.

Edge-preserving filters (:mod:`skinsmooth_core.filters`), skin masks
(:mod:`skinsmooth_core.masks`, with the learned :class:`SkinSegmenter`), the retouching pipeline
(:mod:`skinsmooth_core.pipeline`), image files (:mod:`skinsmooth_core.io`)
and the ``skinsmooth`` command (:mod:`skinsmooth_core.cli`).
"""

__version__ = "0.1.0"

# Public names, imported on first use so `import skinsmooth_core` stays cheap.
_LAZY = {
    "smooth_skin": "skinsmooth_core.pipeline",
    "PRESETS": "skinsmooth_core.pipeline",
    "preset_options": "skinsmooth_core.pipeline",
    "retouch": "skinsmooth_core.pipeline",
    "Retouched": "skinsmooth_core.pipeline",
    "skin_mask": "skinsmooth_core.masks",
    "detect_skin_color": "skinsmooth_core.masks",
    "SkinSegmenter": "skinsmooth_core.masks.segmenter",
    "SegmenterUnavailable": "skinsmooth_core.masks.segmenter",
    "read_image": "skinsmooth_core.io",
    "write_image": "skinsmooth_core.io",
    "ImageMeta": "skinsmooth_core.io",
}


__all__ = ["__version__", *_LAZY]


def __dir__():
    return sorted(__all__)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'skinsmooth_core' has no attribute {name!r}")
