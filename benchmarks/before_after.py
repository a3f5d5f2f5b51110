"""Make docs/before_after.jpg: the astronaut before and after, and a 4x crop showing pores kept.

Usage: ``PYTHONPATH=. python benchmarks/before_after.py [--mask color] [--out FILE.jpg]``
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from PIL import Image, ImageDraw
from skimage import data

from skinsmooth_core import smooth_skin
from skinsmooth_core.masks import SkinMaskFallbackWarning

CROP = (slice(104, 144), slice(176, 236))  # left cheek, nose and a lower eyelid: freckles, pores


def label(image: np.ndarray, text: str) -> np.ndarray:
    picture = Image.fromarray(image)
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 0, 8 + 6 * len(text), 14), fill=(0, 0, 0))
    draw.text((4, 2), text, fill=(255, 255, 255))
    return np.asarray(picture)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mask", default="auto")
    parser.add_argument("--out", default="docs/before_after.jpg")
    args = parser.parse_args(argv)
    portrait = data.astronaut()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        after = smooth_skin(portrait, args.mask)
        plastic = smooth_skin(portrait, args.mask, texture=0.0)
    fell_back = any(issubclass(w.category, SkinMaskFallbackWarning) for w in caught)
    used = "colour" if args.mask == "color" or fell_back else "learned"
    if args.mask == "none":
        used = "no"
    title = f"after (defaults, {used} mask)"
    top = np.concatenate([label(portrait, "before"), label(after, title)], axis=1)

    def zoom(image):
        crop = image[CROP]
        return np.repeat(np.repeat(crop, 4, axis=0), 4, axis=1)

    crops = [zoom(portrait), zoom(after), zoom(plastic)]
    names = ["before, 4x", "after: pores kept", "texture=0: plastic"]
    bottom = np.concatenate([label(c, n) for c, n in zip(crops, names, strict=True)], axis=1)
    pad = np.full((bottom.shape[0], top.shape[1] - bottom.shape[1], 3), 255, np.uint8)
    figure = np.concatenate([top, np.concatenate([bottom, pad], axis=1)], axis=0)
    Image.fromarray(figure).save(args.out, quality=90)
    print(f"wrote {args.out} ({figure.shape[1]} x {figure.shape[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
