"""Blemish benchmark: synthetic spots on labelled val photos, our presets against an OpenCV peer.

Every photo of the val split of ``../shared/data/skin`` (or ``--per-source`` of each source) gets
``--spots`` synthetic blemishes on its labelled skin: elliptical, of a radius drawn from
``--radius`` (a fraction of the size of the largest skin region, sqrt of its area), with a
Gaussian, flat-topped (raised cosine) or hard-edged profile, darker, redder or both by a random
amount. Each retouch then gets three numbers, pooled over the photos:

- **removed**: the share of the blemish error gone, ``1 - sum w |O - P| / sum w |B - P|`` with
  P the clean photo, B the blemished one, O the retouch and w the spots' opacity (all channels);
  1 = spots gone and the skin under them as it was, 0 = nothing changed, < 0 = worse;
- **texture**: fine texture kept, the RMS of the high-pass luma (``x - gauss(x, 1.5)``) of O over
  that of B, on the skin away from the spots (1 = all pores kept, < 1 = smoothed);
- **non-skin**: the mean absolute change of the non-skin pixels, in 8-bit levels.

Also broken down by source and by spot radius (the weak cases, not only the mean). Methods:
``smooth_skin`` presets with the true mask and with its own mask (``PRESET/true``,
``PRESET/own``; ``PRESET+moles/...`` with ``moles=True``), ``strength=1, blemish=1``, and
the OpenCV beauty filter of ``bench_pipeline.py`` (YCrCb rule + bilateral + high-pass). The same
photos and spots for every method (seeded).

Usage::

    PYTHONPATH=. python benchmarks/bench_retouch.py                    # 8 val photos per source
    PYTHONPATH=. python benchmarks/bench_retouch.py --per-source 20 --crops docs/retouch
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from skinsmooth_core._pixelwise import LUMA_WEIGHTS

sys.path.insert(0, str(Path(__file__).resolve().parent))

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "skin"


def load_photos(data_dir: Path, per_source: int, sources):
    """(id, source, RGB uint8, skin mask uint8 0/128/255) of the val split."""
    from PIL import Image

    from skinsmooth_core.training.data import read_manifest

    photos, count = [], {}
    for row in read_manifest(data_dir):
        if row["split"] != "val" or (sources and row["source"] not in sources):
            continue
        if count.get(row["source"], 0) >= per_source:
            continue
        count[row["source"]] = count.get(row["source"], 0) + 1
        image = np.asarray(Image.open(data_dir / "images" / f"{row['id']}.jpg").convert("RGB"))
        mask = np.asarray(Image.open(data_dir / "masks" / f"{row['id']}.png").convert("L"))
        photos.append((row["id"], row["source"], image, mask))
    return photos


def region_size(skin: np.ndarray) -> float:
    """sqrt of the area of the largest connected skin region, in pixels."""
    labels, count = ndi.label(skin)
    if count == 0:
        return 0.0
    return float(np.sqrt(np.bincount(labels.ravel())[1:].max()))


def add_spots(image, mask, count, radius_range, rng):
    """The blemished photo (float64, [0, 1]), the spots' opacity, the radius of the spot at
    each pixel, and the skin region's size."""
    skin = mask == 255
    size = region_size(skin)
    clean = image / 255.0
    height, width = skin.shape
    opacity = np.zeros((height, width))
    tint = np.zeros((height, width, 3))
    radius_map = np.zeros((height, width))
    yy, xx = np.mgrid[0:height, 0:width]
    for _ in range(count):
        radius = max(0.8, rng.uniform(*radius_range) * size)
        inside = ndi.binary_erosion(skin, iterations=int(radius) + 2)
        candidates = np.argwhere(inside)
        if len(candidates) == 0:
            break
        cy, cx = candidates[rng.integers(len(candidates))]
        aspect, angle = rng.uniform(0.6, 1.0), rng.uniform(0, np.pi)
        dy, dx = yy - cy, xx - cx
        u = (dx * np.cos(angle) + dy * np.sin(angle)) / radius
        v = (-dx * np.sin(angle) + dy * np.cos(angle)) / (radius * aspect)
        d = np.sqrt(u * u + v * v)
        profile = rng.choice(["gauss", "cosine", "hard"])
        if profile == "gauss":
            alpha = np.exp(-2.0 * d * d)
        elif profile == "cosine":
            alpha = np.where(d < 1, 0.5 + 0.5 * np.cos(np.pi * np.clip(d, 0, 1)), 0.0)
        else:
            alpha = (d < 1).astype(float)
        kind = rng.choice(["dark", "red", "both"])
        depth = rng.uniform(0.06, 0.2)
        absorb = {  # fraction of each channel absorbed, before `depth`
            "dark": np.array([1.0, 1.0, 1.0]),
            "red": np.array([0.1, 1.0, 0.8]),
            "both": np.array([0.5, 1.2, 1.0]),
        }[kind]
        new = alpha > opacity
        opacity = np.where(new, alpha, opacity)
        tint[new] = depth * absorb
        radius_map[new] = radius
    blemished = clean * (1.0 - opacity[:, :, None] * tint)
    return blemished, opacity, radius_map, size


def high_pass(image):
    grey = image @ np.array(LUMA_WEIGHTS)
    return grey - ndi.gaussian_filter(grey, 1.5)


def score(clean, blemished, out, opacity, mask):
    """(removed numerator, denominator, texture out, texture in, non-skin sum, count)."""
    weight = opacity[:, :, None]
    error_in = (weight * np.abs(blemished - clean)).sum()
    error_out = (weight * np.abs(out - clean)).sum()
    skin = ndi.binary_erosion(mask == 255, iterations=3) & (ndi.maximum_filter(opacity, 7) < 0.02)
    hp_in, hp_out = high_pass(blemished)[skin], high_pass(out)[skin]
    non_skin = mask == 0
    change = np.abs(out - blemished)[non_skin].sum() * 255.0 / 3.0
    return np.array(
        [error_out, error_in, (hp_out**2).sum(), (hp_in**2).sum(), change, non_skin.sum()]
    )


def methods(names):
    from bench_pipeline import opencv_beauty

    from skinsmooth_core import smooth_skin
    from skinsmooth_core.pipeline import preset_options

    table = {}
    for name in names:
        if name == "opencv-beauty":
            table[name] = lambda image, mask: opencv_beauty(image)
            continue
        preset, _, source = name.partition("/")
        preset, moles, _ = preset.partition("+moles")
        options = (
            {"strength": 1.0, "blemish": 1.0}
            if preset == "full"
            else ({} if preset == "default" else preset_options(preset))
        )
        if moles:
            options["moles"] = True

        def run(image, mask, options=options, source=source):
            given = (mask == 255).astype(np.float32) if source == "true" else "auto"
            return smooth_skin(image, mask=given, **options)

        table[name] = run
    return table


DEFAULT_METHODS = (
    "default/true",
    "default/own",
    "natural/true",
    "strong/true",
    "full/true",
    "opencv-beauty",
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--per-source", type=int, default=8)
    parser.add_argument("--sources", nargs="*", default=["sfa", "fasseg", "ibtd", "ccp", "abd"])
    parser.add_argument("--spots", type=int, default=12)
    parser.add_argument("--radius", type=float, nargs=2, default=(0.006, 0.02))
    parser.add_argument("--methods", nargs="*", default=list(DEFAULT_METHODS))
    parser.add_argument(
        "--crops", type=Path, help="write before/after crops (the bundled sample portrait)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    photos = load_photos(args.data, args.per_source, args.sources)
    rng = np.random.default_rng(args.seed)
    cases = []
    for ident, source, image, mask in photos:
        blemished, opacity, radius, size = add_spots(image, mask, args.spots, args.radius, rng)
        cases.append((ident, source, image / 255.0, blemished, opacity, mask, radius, size))
    print(
        f"{len(cases)} val photos ({', '.join(args.sources)}), {args.spots} spots each, "
        f"radius {args.radius[0]:g}-{args.radius[1]:g} of the skin region's size"
    )
    bins = [("r < 1.5 px", 0, 1.5), ("1.5-3 px", 1.5, 3), ("r >= 3 px", 3, 1e9)]
    rows = []
    for name, run in methods(args.methods).items():
        totals, per_source = np.zeros(6), {}
        per_size = {label: np.zeros(2) for label, _, _ in bins}
        start = time.perf_counter()
        for _ident, source, clean, blemished, opacity, mask, radius, _ in cases:
            image8 = np.clip(np.rint(blemished * 255), 0, 255).astype(np.uint8)
            out = run(image8, mask).astype(np.float64) / 255.0
            s = score(clean, image8 / 255.0, out, opacity, mask)
            totals += s
            per_source[source] = per_source.get(source, np.zeros(6)) + s
            for label, low, high in bins:  # the error of the spots of each size
                weight = (opacity * ((radius >= low) & (radius < high)))[:, :, None]
                per_size[label] += [
                    (weight * np.abs(out - clean)).sum(),
                    (weight * np.abs(image8 / 255.0 - clean)).sum(),
                ]
        seconds = time.perf_counter() - start
        rows.append((name, totals, per_source, per_size, seconds))
    report(rows, bins)
    if args.crops is not None:
        sample_crops(args.crops, methods(args.methods), args.spots, args.radius, args.seed)


def sample_crops(folder: Path, table, count, radius_range, seed):
    """Before | after crops on the bundled sample portrait (public domain), never on the
    research-use training photos: the same spot model, its colour-rule skin as the mask."""
    from skimage import data

    from skinsmooth_core import skin_mask

    image = data.astronaut()
    mask = np.where(skin_mask(image, "color") > 0.5, 255, 0).astype(np.uint8)
    mask[180:] = 0  # the face and neck above the collar (the colour rule takes some collar)
    rng = np.random.default_rng(seed)
    blemished, opacity, _, _ = add_spots(image, mask, count, radius_range, rng)
    image8 = np.clip(np.rint(blemished * 255), 0, 255).astype(np.uint8)
    for name, run in table.items():
        save_crop(folder, name, image8, run(image8, mask) / 255.0, opacity)


def _columns(s):
    removed = 1 - s[0] / max(s[1], 1e-12)
    texture = np.sqrt(s[2] / max(s[3], 1e-12))
    return removed, texture, s[4] / max(s[5], 1)


def report(rows, bins):
    print(f"\n{'method':16} {'removed':>8} {'texture':>8} {'non-skin':>9} {'seconds':>8}")
    for name, totals, _, _, seconds in rows:
        removed, texture, change = _columns(totals)
        print(f"{name:16} {removed:8.2f} {texture:8.2f} {change:9.2f} {seconds:8.1f}")
    sources = sorted(rows[0][2])
    print("\nremoved by source: " + " ".join(f"{s:>7}" for s in sources))
    for name, _, per_source, _, _ in rows:
        values = " ".join(f"{_columns(per_source[s])[0]:7.2f}" for s in sources)
        print(f"{name:16}   {values}")
    print("\nremoved by spot radius: " + " | ".join(b[0] for b in bins))
    for name, _, _, per_size, _ in rows:
        values = []
        for label, _, _ in bins:
            out, before = per_size[label]
            values.append(f"{1 - out / before:6.2f}" if before else "     -")
        print(f"{name:16}   " + "   ".join(values))


def save_crop(folder: Path, name: str, before, after, opacity):
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    cy, cx = np.unravel_index(np.argmax(ndi.uniform_filter(opacity, 61)), opacity.shape)
    top, left = max(0, cy - 80), max(0, cx - 80)
    crop = lambda x: x[top : top + 160, left : left + 160]  # noqa: E731
    after8 = np.clip(np.rint(after * 255), 0, 255).astype(np.uint8)
    pair = np.concatenate(
        [crop(before), np.full((crop(before).shape[0], 4, 3), 255, np.uint8), crop(after8)], axis=1
    )
    Image.fromarray(pair).resize((pair.shape[1] * 2, pair.shape[0] * 2), Image.NEAREST).save(
        folder / f"{name.replace('/', '-')}.png"
    )


if __name__ == "__main__":
    main()
