"""Training data: the shared skin layout decoded into RAM, and random augmented crops.

Layout (``manifest.csv``, ``images/<id>.jpg``, ``masks/<id>.png``): 255 = skin,
0 = not skin, 128 = ignore. Labels are returned as two channels, the target and
a validity weight, so the loss can skip ignored pixels.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .lights import apply_gains

IGNORE = 128
# Sampling weight per source: in-the-wild photos count more than studio faces.
SOURCE_WEIGHTS = {"sfa": 0.6, "fasseg": 0.7, "ibtd": 1.6, "ccp": 1.2, "abd": 0.8, "hgr": 0.6}


@dataclass
class Sample:
    """One decoded photo with its label and where its people are."""

    id: str
    source: str
    image: np.ndarray  # H x W x 3 uint8
    mask: np.ndarray  # H x W uint8, 0 / 255 / 128
    skin_points: np.ndarray = field(repr=False)  # K x 2 (row, col) of skin pixels
    upper_body: tuple | None = None  # (row, col, side) around the top of the skin


def read_manifest(data_dir) -> list[dict]:
    """Rows of ``manifest.csv`` as dicts."""
    path = Path(data_dir) / "manifest.csv"
    if not path.is_file():
        raise ValueError(f"{path} not found; data_dir must hold manifest.csv, images/ and masks/")
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _upper_body(mask: np.ndarray) -> tuple | None:
    rows, cols = np.nonzero(mask == 255)
    if rows.size < 50:
        return None
    top, bottom = rows.min(), rows.max()
    height = bottom - top + 1
    near_top = rows < top + 0.15 * height
    centre_col = float(np.median(cols[near_top]))
    side = max(0.45 * height, 48.0)
    return (top + 0.22 * height, centre_col, side)


def load_split(data_dir, split: str, *, sources=None, limit: int | None = None) -> list[Sample]:
    """Decode every photo and mask of `split` ("train" or "val") into memory.

    Parameters
    ----------
    data_dir : path
        The shared data folder.
    split : {"train", "val"}
    sources : iterable of str, optional
        Keep only these sources.
    limit : int, optional
        Keep only the first `limit` rows per source (for smoke runs).
    """
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    data_dir = Path(data_dir)
    rng = np.random.default_rng(0)
    samples, per_source = [], {}
    for row in read_manifest(data_dir):
        if row["split"] != split or (sources is not None and row["source"] not in sources):
            continue
        count = per_source.get(row["source"], 0)
        if limit is not None and count >= limit:
            continue
        per_source[row["source"]] = count + 1
        image = np.asarray(Image.open(data_dir / "images" / f"{row['id']}.jpg").convert("RGB"))
        mask = np.asarray(Image.open(data_dir / "masks" / f"{row['id']}.png").convert("L"))
        points = np.argwhere(mask == 255)
        if len(points) > 2000:
            points = points[rng.choice(len(points), 2000, replace=False)]
        upper = _upper_body(mask) if row["source"] == "ccp" else None
        samples.append(Sample(row["id"], row["source"], image, mask, points, upper))
    if not samples:
        raise ValueError(f"no {split} samples found in {data_dir} (sources={sources})")
    return samples


def _pick_view(sample: Sample, rng: np.random.Generator):
    """Choose a square view (centre row, centre col, side in pixels) of the photo."""
    height, width = sample.mask.shape
    longest = max(height, width)
    mode = rng.random()
    if sample.upper_body is not None and mode < 0.45:
        row, col, side = sample.upper_body
        side *= rng.uniform(0.7, 2.2)
        jitter = 0.15 * side
        return row + rng.normal(0, jitter), col + rng.normal(0, jitter), side
    if mode < 0.75 and len(sample.skin_points):
        row, col = sample.skin_points[rng.integers(len(sample.skin_points))]
        side = longest * rng.uniform(0.3, 1.0)
        return float(row), float(col), side
    if mode < 0.9:
        # Whole photo, letterboxed as the predictor does it.
        side = longest * rng.uniform(0.95, 1.25)
        return height / 2 + rng.normal(0, 0.05 * side), width / 2 + rng.normal(0, 0.05 * side), side
    side = longest * rng.uniform(0.25, 1.0)
    return rng.uniform(0, height), rng.uniform(0, width), side


def _warp(sample: Sample, size: int, rng: np.random.Generator):
    """Crop, scale, rotate and flip a view to `size` x `size`; outside the photo is 0."""
    row, col, side = _pick_view(sample, rng)
    image = Image.fromarray(sample.image)
    mask = Image.fromarray(sample.mask)
    factor = side / size
    reduce = int(factor)
    if reduce >= 2:
        # Box-filter down first so the bilinear warp does not alias.
        image = image.reduce(reduce)
        mask = mask.resize(image.size, Image.NEAREST)
        row, col, side = row / reduce, col / reduce, side / reduce
        factor = side / size
    angle = np.deg2rad(rng.normal(0, 10) if rng.random() < 0.7 else 0.0)
    cos, sin = np.cos(angle) * factor, np.sin(angle) * factor
    flip = -1.0 if rng.random() < 0.5 else 1.0
    half = size / 2
    # Inverse map: output (x, y) -> input (a x + b y + c, d x + e y + f).
    a, b = cos * flip, -sin
    d, e = sin * flip, cos
    c = col - a * half - b * half
    f = row - d * half - e * half
    coeffs = (a, b, c, d, e, f)
    image = image.transform((size, size), Image.AFFINE, coeffs, Image.BILINEAR, fillcolor=(0, 0, 0))
    mask = mask.transform((size, size), Image.AFFINE, coeffs, Image.NEAREST, fillcolor=0)
    return np.asarray(image), np.asarray(mask)


def _jitter_colour(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast, gamma, white balance, coloured light, saturation, grey, noise."""
    x = image.astype(np.float32) * np.float32(1 / 255)
    x = x ** np.float32(np.exp(rng.normal(0, 0.25)))
    gains = np.exp(rng.normal(0, 0.08, 3))
    if rng.random() < 0.25:
        gains *= np.exp(rng.normal(0, 0.25, 3))  # strongly coloured light
    x *= (np.exp(rng.normal(0, 0.35)) * gains).astype(np.float32)
    grey = x.mean(axis=2, keepdims=True)
    if rng.random() < 0.08:
        x = np.repeat(grey, 3, axis=2)
    else:
        x = grey + (x - grey) * np.float32(np.exp(rng.normal(0, 0.25)))
    mean = x.mean()
    x = mean + (x - mean) * np.float32(np.exp(rng.normal(0, 0.2)))
    if rng.random() < 0.3:
        x += rng.normal(0, rng.uniform(0.005, 0.04), x.shape).astype(np.float32)
    return np.clip(x, 0, 1)


def _jpeg(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=int(rng.integers(25, 90)))
    return np.asarray(Image.open(buffer).convert("RGB"))


@dataclass(frozen=True)
class TintedNegatives:
    """Settings of the skin-tinted hard negatives (:func:`_skin_tinted_negatives`).

    share: probability that a training view gets them. lift: probability of also
    raising the blobs' brightness towards the skin's (gain up to 4, texture
    contrast scaled with it): dark hair becomes light hair. soft: blend the blobs
    in over a few pixels, so that their outline is no cue. vivid: probability of
    a stronger chroma than the skin's (1.3-2x: orange, tan).
    """

    share: float = 0.0
    lift: float = 0.0
    soft: bool = False
    vivid: float = 0.0


def _skin_tinted_negatives(
    image: np.ndarray,
    mask: np.ndarray,
    rng: np.random.Generator,
    options: TintedNegatives = TintedNegatives(),
):
    """Hard negatives: give random blobs of not-skin (hair, clothes, background) the
    chroma of the view's skin while keeping their own luminance texture, so that
    skin colour alone never makes a pixel skin (light hair, beige clothes).
    `options` (lift, soft, vivid) vary them; its share is the caller's business.
    """
    skin = mask == 255
    if skin.sum() < 64:
        return image
    x = image.astype(np.float32)
    tone = x[skin].mean(axis=0)
    tone /= max(float(tone.mean()), 1.0)  # chroma only: mean of the three channels 1
    if options.vivid and rng.random() < options.vivid:
        tone = 1.0 + (tone - 1.0) * np.float32(rng.uniform(1.3, 2.0))
    cells = rng.random((6, 6)).astype(np.float32)
    blobs = np.asarray(Image.fromarray(cells).resize(mask.shape[::-1], Image.BICUBIC))
    cut = rng.uniform(0.3, 0.7)
    if options.soft:
        weight = np.clip((blobs - cut) / np.float32(0.2), 0.0, 1.0) * (mask == 0)
    else:
        weight = ((blobs > cut) & (mask == 0)).astype(np.float32)
    region = weight > 0
    luminance = x[region].mean(axis=1, keepdims=True)
    if options.lift and rng.random() < options.lift and luminance.size:
        gain = float(x[skin].mean()) / max(float(luminance.mean()), 1.0)
        luminance *= np.float32(np.clip(gain, 1.0, 4.0) ** rng.uniform(0.5, 1.0))
    strength = np.float32(rng.uniform(0.6, 1.0))
    x[region] += strength * weight[region][:, None] * (luminance * tone - x[region])
    return np.clip(x, 0, 255).astype(np.uint8)


# The strongest casts of `strong_cast`: log gains in linear light along blue-orange (red up,
# blue down) and green-magenta (green down); tungsten on daylight balance is about 0.45 / 0.
CAST_RANGE = (0.5, 0.35)


def strong_cast(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`image` (uint8 RGB) as if lit by a random strongly coloured light: gains in linear
    light up to :data:`CAST_RANGE` along blue-orange and green-magenta, that keep a grey's
    luma (as :func:`.lights.relight` renders its fixed lights)."""
    warm = rng.uniform(-1.0, 1.0) * CAST_RANGE[0]
    tint = rng.uniform(-1.0, 1.0) * CAST_RANGE[1]
    gains = np.exp(np.array([warm, -tint, -warm], np.float32))
    return apply_gains(image, gains)


def augmented_pair(
    sample: Sample,
    size: int,
    rng: np.random.Generator,
    negatives: TintedNegatives = TintedNegatives(),
    casts: float = 0.0,
):
    """One random training view: float32 image size x size x 3, label size x size x 2,
    with skin-tinted hard negatives in ``negatives.share`` of the views and a strong
    colour cast (:func:`strong_cast`) in a share `casts`."""
    return finish_view(*_warp(sample, size, rng), rng, negatives, casts)


def finish_view(
    image: np.ndarray,
    mask: np.ndarray,
    rng: np.random.Generator,
    negatives: TintedNegatives = TintedNegatives(),
    casts: float = 0.0,
):
    """Hard negatives, a strong cast (a share `casts`), colour jitter and JPEG artefacts on
    one uint8 view and its label."""
    if negatives.share and rng.random() < negatives.share:
        image = _skin_tinted_negatives(image, mask, rng, negatives)
    if casts and rng.random() < casts:
        image = strong_cast(image, rng)
    x = _jitter_colour(image, rng)
    if rng.random() < 0.3:
        x = _jpeg((x * 255 + 0.5).astype(np.uint8), rng).astype(np.float32) / 255
    label = np.stack([(mask == 255), (mask != IGNORE)], axis=-1).astype(np.float32)
    return x.astype(np.float32), label
