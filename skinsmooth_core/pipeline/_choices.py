"""What :func:`smooth_skin` chose for an image: the scale it used and the share of skin.

A batch reports these per photo (``skinsmooth --report``). They are known only inside
``smooth_skin`` (the mask is computed there, at working resolution), so the pipeline
notes them in a context variable while :func:`smooth_skin_info` is listening: nothing is
computed twice, and ``smooth_skin`` itself returns only the image, as always.
"""

from __future__ import annotations

from contextvars import ContextVar

import numpy as np

__all__ = ["smooth_skin_info", "upsample_mask"]

_LISTENER: ContextVar[dict | None] = ContextVar("skinsmooth_choices", default=None)


def note(scale: float, mask: np.ndarray | None, shape=None, factor: int = 1) -> None:
    """Record the scale and the skin mask (None: the whole image) if someone listens; `shape`
    and `factor` say how a working-size mask maps onto the image."""
    record = _LISTENER.get()
    if record is None:
        return
    record["scale"] = float(scale)
    record["skin"] = 1.0 if mask is None else float(np.mean(mask, dtype=np.float64))
    if "mask" in record:
        record["mask"] = (mask, shape, factor)


def smooth_skin_info(
    image, mask="auto", *, return_mask: bool = False, **options
) -> tuple[np.ndarray, dict]:
    """:func:`~skinsmooth_core.pipeline.smooth_skin`, and what it chose for this image.

    Parameters
    ----------
    image, mask, **options
        As for :func:`~skinsmooth_core.pipeline.smooth_skin`.
    return_mask : bool, optional
        Also return, as ``info["mask"]``, the H x W float32 skin mask this retouch used,
        at full size as the blend applied it (a working-size mask bilinearly upsampled):
        what ``--save-mask`` writes. None when no work was done.

    Returns
    -------
    result : ndarray
        Exactly what ``smooth_skin(image, mask, **options)`` returns.
    info : dict
        ``"scale"``: the scale used (the ``scale`` option, or the one ``scale="auto"``
        derived from the skin area); ``"skin"``: the share of the image that is skin,
        the mean of the skin mask in [0, 1] (1 for ``mask="none"``). Both are None
        when ``smooth_skin`` returns a copy of the image without any work (every
        effect at 0).

    Examples
    --------
    >>> from skimage import data
    >>> result, info = smooth_skin_info(data.astronaut(), mask="color")
    >>> sorted(info), 0 < info["skin"] < 1
    (['scale', 'skin'], True)
    """
    from .smooth import smooth_skin

    record = {"scale": None, "skin": None}
    if return_mask:
        record["mask"] = None
    token = _LISTENER.set(record)
    try:
        result = smooth_skin(image, mask, **options)
    finally:
        _LISTENER.reset(token)
    if return_mask and record["mask"] is not None:
        record["mask"] = upsample_mask(*record["mask"])
    return result, record


def upsample_mask(mask, shape, factor):
    """The mask the blend applies, H x W float32: ones for None (the whole image), a
    working-size mask (`factor` times smaller) upsampled bilinearly from the block centres,
    as the blend does."""
    from .._resample import BilinearUpsampler

    if mask is None:
        return np.ones(shape, np.float32)
    if mask.shape == tuple(shape):
        return np.asarray(mask, np.float32)
    upsampler = BilinearUpsampler(tuple(shape), mask.shape, factor)
    return upsampler.strip(mask[:, :, None], 0, shape[0])[:, :, 0]
