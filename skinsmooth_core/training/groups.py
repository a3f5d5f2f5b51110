"""Synthetic group photos: labelled photos scaled down onto one canvas, labels carried along.

No public data set labels the skin of crowds, so groups are composed from what
there is: each person is a whole labelled photo (a portrait, a street photo, a
hand), scaled down and pasted on a background cut from another photo, in a grid
(a team photo) or scattered with overlaps (a crowd; later people hide earlier
ones, and their labels with them). Used to train (:func:`mosaic_view`) and, made
from val photos only, to benchmark (:mod:`.wild`).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .data import IGNORE, Sample


def _scaled(image: np.ndarray, mask: np.ndarray, height: int, width: int):
    """`image` and its 0/255/128 label resized to height x width; the label's skin and
    validity are resized as fractions and cut at one half, so small people keep their shape."""
    out = np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))
    fractions = []
    for plane in (mask == 255, mask != IGNORE):
        small = Image.fromarray(plane.astype(np.float32), mode="F").resize(
            (width, height), Image.BILINEAR
        )
        fractions.append(np.asarray(small))
    skin, valid = fractions
    label = np.where(valid < 0.5, IGNORE, np.where(skin >= 0.5 * valid, 255, 0))
    return out, label.astype(np.uint8)


def _background(samples, rng, height: int, width: int, tries: int = 4, zoom=None, most=False):
    """A crop of one of a few random photos, the one with the least skin (with `most`, the
    most: a close-up of skin cut by the frame), covering the canvas.

    The crop is 30-70 % of the photo's height, or with `zoom` = (low, high), the canvas's
    height divided by a factor drawn log-uniformly from that range (at most the photo's):
    enlarged that much, it is as soft as a background out of focus."""
    best = None
    for _ in range(tries):
        sample = samples[rng.integers(len(samples))]
        h, w = sample.mask.shape
        if zoom is None:
            ch = max(8, int(h * rng.uniform(0.3, 0.7)))
        else:
            factor = np.exp(rng.uniform(np.log(zoom[0]), np.log(zoom[1])))
            ch = int(np.clip(height / factor, 8, h))
        cw = max(8, min(w, int(ch * width / height)))
        top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = (slice(top, top + ch), slice(left, left + cw))
        skin = np.count_nonzero(sample.mask[crop] == 255) / (ch * cw)
        if most:
            skin = -skin
        if best is None or skin < best[0]:
            best = (skin, sample, crop)
    _, sample, crop = best
    return _scaled(sample.image[crop], sample.mask[crop], height, width)


def _slots(count: int, height: int, width: int, rng, layout: str):
    """Top-left corners and the largest sides (h, w) of `count` places on the canvas."""
    if layout == "grid":
        rows = max(1, round(np.sqrt(count * height / width)))
        cols = int(np.ceil(count / rows))
        cell_h, cell_w = height // rows, width // cols
        cells = [(r * cell_h, c * cell_w) for r in range(rows) for c in range(cols)]
        order = rng.permutation(len(cells))[:count]
        return [(cells[i], (cell_h, cell_w)) for i in order]
    return [((0, 0), (height, width))] * count


def compose_group(
    samples,
    rng: np.random.Generator,
    *,
    height: int,
    width: int,
    people: tuple[int, int] = (2, 20),
    scale: tuple[float, float] = (0.1, 0.5),
    relative: bool = False,
    layout: str | None = None,
    background_zoom: tuple[float, float] | None = None,
    close_up: bool = False,
    pieces: list | None = None,
    weights: np.ndarray | None = None,
):
    """A synthetic group photo of height x width and its 0/255/128 label.

    Parameters
    ----------
    samples : list of :class:`~.data.Sample`
        Photos to take people and the background from.
    rng : numpy.random.Generator
    height, width : int
        Canvas size in pixels.
    people : (int, int)
        Smallest and largest number of photos pasted (inclusive).
    scale : (float, float)
        Range of each pasted photo's scale factor; with ``relative=True``, of
        its longer side as a fraction of the canvas's longer side instead.
    layout : {"grid", "scatter"}, optional
        Grid cells (no overlap) or random places (overlapping); default: either.
    background_zoom : (float, float), optional
        Enlarge the background crop by a factor in this range (log-uniform), so it
        is blurred like a background out of focus; default: a crop of 30-70 % of a
        photo's height, resized to the canvas.
    close_up : bool
        Take the background crop with the most skin of a few tries (a face or an arm
        so close that the frame cuts it) instead of the one with the least.
    pieces : list, optional
        If given, each pasted photo's ``(sample, rows, cols)`` (its sample and the
        slices of the canvas it covers) is appended, in pasting order (later ones
        hide earlier ones).
    weights : ndarray, optional
        The probability of each of `samples` to be pasted (summing to 1), e.g. more
        hands and bodies than studio faces; default: uniform. The background is
        always drawn uniformly.

    Returns
    -------
    image : ndarray of uint8, (height, width, 3)
    label : ndarray of uint8, (height, width): 255 skin, 0 not, 128 ignore
    count : int
        The number of photos pasted.
    """
    count = int(rng.integers(people[0], people[1] + 1))
    layout = layout or ("grid" if rng.random() < 0.5 else "scatter")
    image, label = _background(samples, rng, height, width, zoom=background_zoom, most=close_up)
    image, label = image.copy(), label.copy()
    longest = max(height, width)
    for (top, left), (room_h, room_w) in _slots(count, height, width, rng, layout):
        if weights is None:
            sample = samples[rng.integers(len(samples))]
        else:
            sample = samples[rng.choice(len(samples), p=weights)]
        h, w = sample.mask.shape
        factor = rng.uniform(*scale)
        if relative:
            factor *= longest / max(h, w)
        factor = min(factor, room_h / h, room_w / w)
        ph, pw = max(2, round(h * factor)), max(2, round(w * factor))
        piece, piece_label = _scaled(sample.image, sample.mask, ph, pw)
        if rng.random() < 0.5:
            piece, piece_label = piece[:, ::-1], piece_label[:, ::-1]
        r = top + int(rng.integers(0, room_h - ph + 1))
        c = left + int(rng.integers(0, room_w - pw + 1))
        image[r : r + ph, c : c + pw] = piece
        label[r : r + ph, c : c + pw] = piece_label
        if pieces is not None:
            pieces.append((sample, slice(r, r + ph), slice(c, c + pw)))
    return image, label, count


def mosaic_view(
    samples,
    size: int,
    rng: np.random.Generator,
    blurred: float = 0.0,
    weights=None,
    close_ups: float = 0.0,
):
    """A square training view of 2 to 16 people, each 6 to 60 % of the view across,
    so faces come down to about 8 px at the model's input. A share `blurred` of the
    views get a background enlarged 1.5 to 8 times (soft, as out of focus), its labels
    carried along: blurred pavement, walls and coats stay not-skin, blurred skin skin.
    `weights`: each sample's probability to be pasted (see :func:`compose_group`); a
    share `close_ups` of the views have a background with as much skin as a few tries
    find (people in the foreground, cut by the frame)."""
    zoom = (1.5, 8.0) if blurred and rng.random() < blurred else None
    close_up = bool(close_ups) and rng.random() < close_ups
    return compose_group(
        samples, rng, height=size, width=size, people=(2, 16), scale=(0.06, 0.6),
        relative=True, background_zoom=zoom, weights=weights, close_up=close_up,
    )[:2]  # fmt: skip


def group_samples(samples, count: int, seed: int = 1000, height: int = 480, width: int = 640):
    """`count` synthetic groups of 2 to 20 of `samples` (whole photos at 10-50 %), as samples."""
    rng = np.random.default_rng(seed)
    groups = []
    for index in range(count):
        image, mask, _ = compose_group(samples, rng, height=height, width=width)
        groups.append(Sample(f"group{index}", "groups", image, mask, np.zeros((0, 2), int)))
    return groups
