"""skinsmooth: AI skin smoothing for portraits.

Edge-preserving filters (:mod:`skinsmooth_core.filters`), skin masks
(:mod:`skinsmooth_core.masks`), the retouching pipeline
(:mod:`skinsmooth_core.pipeline`), image files (:mod:`skinsmooth_core.io`)
and the ``skinsmooth`` command (:mod:`skinsmooth_core.cli`).
"""

__version__ = "0.1.0"
