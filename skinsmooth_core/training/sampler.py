"""Endless random training batches: augmented views of single photos and synthetic groups."""

from __future__ import annotations

import numpy as np

from .data import SOURCE_WEIGHTS, Sample, TintedNegatives, augmented_pair, finish_view
from .groups import mosaic_view


def _per_photo(samples, weights: dict, name: str = "weights") -> np.ndarray:
    """Each sample's probability from per-source `weights` (a source not named weighs 1)."""
    p = np.array([weights.get(s.source, 1.0) for s in samples], dtype=np.float64)
    if not p.sum() > 0:
        raise ValueError(f"{name} {weights} leave no photo to draw")
    return p / p.sum()


class BatchSampler:
    """Endless random batches, sources weighted by ``SOURCE_WEIGHTS``; a share `mosaic`
    of the views are synthetic groups (:func:`.groups.mosaic_view`), a share `blurred` of
    those on a background out of focus. The groups' people are drawn with
    `piece_weights` per source (default: every photo alike); a share `close_ups` of
    them on a background with much skin. A share `casts` of all views get a strong colour
    cast (:func:`.data.strong_cast`)."""

    def __init__(
        self,
        samples,
        size: int,
        batch_size: int,
        seed: int = 0,
        weights=None,
        negatives: TintedNegatives | None = None,
        mosaic: float = 0.0,
        blurred: float = 0.0,
        piece_weights: dict | None = None,
        close_ups: float = 0.0,
        casts: float = 0.0,
    ):
        self.samples = samples
        self.mosaic = mosaic
        self.blurred = blurred
        self.close_ups = close_ups
        self.casts = casts
        self.negatives = negatives or TintedNegatives()
        self.size = size
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self.p = _per_photo(samples, SOURCE_WEIGHTS if weights is None else weights)
        self.pieces = None
        if piece_weights is not None:
            self.pieces = _per_photo(samples, piece_weights, "piece_weights")

    def _view(self, sample: Sample):
        if self.mosaic and self.rng.random() < self.mosaic:
            image, mask = mosaic_view(
                self.samples, self.size, self.rng, self.blurred, self.pieces, self.close_ups
            )
            return finish_view(image, mask, self.rng, self.negatives, self.casts)
        return augmented_pair(sample, self.size, self.rng, self.negatives, self.casts)

    def batch(self):
        picks = self.rng.choice(len(self.samples), self.batch_size, p=self.p)
        pairs = [self._view(self.samples[i]) for i in picks]
        return np.stack([x for x, _ in pairs]), np.stack([y for _, y in pairs])
