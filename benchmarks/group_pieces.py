"""What the wild benchmark's group canvases measure: the pasted people, by source and
size, against the background photo they sit on.

The synthetic groups of ``python -m skinsmooth_core.training wild`` paste whole val
photos (a portrait, a street photo, a hand) at 10-50 % on a background cut from another
val photo and enlarged to the canvas. Most of a canvas's skin pixels can be on that
background, so its pooled F1 says little about the small people. This rebuilds the same
canvases (:func:`~skinsmooth_core.training.wild.wild_photos`) and reports, at the mask's threshold:

- per source of the pasted photo and per size of the piece (its longer side on the
  canvas): visible skin pixels, the share in the mask (recall) and the share of pieces
  with over half their skin in the mask;
- the background photo's skin (recall) and not-skin (share in the mask), and the
  pasted photos' own not-skin.

Run from the repository root::

    PYTHONPATH=. python benchmarks/group_pieces.py --data ../shared/data/skin \\
        [--groups 60] [--model models/skin_unet_fp16.tflite] [--threshold 0.5]
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from skinsmooth_core.masks.segmenter import SkinSegmenter
from skinsmooth_core.training.wild import wild_photos

SIZES = ((0, 100), (100, 200), (200, np.inf))  # the piece's longer side on the canvas, px


def size_name(side: int) -> str:
    for low, high in SIZES:
        if low <= side < high:
            return f"{low}-{high:g} px" if np.isfinite(high) else f">= {low} px"
    raise ValueError(side)


def score_canvas(prob, label, pieces, threshold, totals):
    """Add one canvas's counts to `totals` (key -> [pixels, in mask, pieces, found])."""
    owner = np.full(label.shape, -1, np.int32)
    for index, (_, rows, cols) in enumerate(pieces):
        owner[rows, cols] = index  # later pieces hide earlier ones
    inside = prob > threshold
    for index, (sample, rows, cols) in enumerate(pieces):
        skin = (owner == index) & (label == 255)
        pixels = int(np.count_nonzero(skin))
        if not pixels:
            continue
        hits = int(np.count_nonzero(inside[skin]))
        side = max(rows.stop - rows.start, cols.stop - cols.start)
        size = size_name(side)
        for key in (sample.source, f"{sample.source}, {size}", f"all, {size}"):
            totals[key] += [pixels, hits, 1, hits > pixels / 2]
    for key, where in (
        ("background skin", (owner < 0) & (label == 255)),
        ("background not-skin", (owner < 0) & (label == 0)),
        ("pasted not-skin", (owner >= 0) & (label == 0)),
    ):
        totals[key] += [np.count_nonzero(where), np.count_nonzero(inside[where]), 0, 0]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--groups", type=int, default=60)
    parser.add_argument("--model", default=None, help="default: the shipped int8 model")
    parser.add_argument("--threshold", type=float, default=None, help="default: the JSON's")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    segmenter = SkinSegmenter(args.model, num_threads=args.threads)
    threshold = segmenter.threshold if args.threshold is None else args.threshold
    totals = defaultdict(lambda: np.zeros(4, np.int64))
    pieces = []
    for set_name, _, image, label in wild_photos(args.data, groups=args.groups, pieces=pieces):
        if set_name != "groups":
            break  # the groups come first
        score_canvas(segmenter.predict(image), label, pieces[-1], threshold, totals)

    print(f"{segmenter.model_path.name}, threshold {threshold:g}, {args.groups} canvases")
    print("| part | skin pixels | in the mask | pieces | over half found |")
    print("|---|---|---|---|---|")
    for key in sorted(k for k in totals if not k.startswith(("background", "pasted"))):
        pixels, hits, count, found = totals[key]
        print(f"| {key} | {pixels} | {hits / pixels:.3f} | {count} | {found / count:.2f} |")
    for key in ("background skin", "background not-skin", "pasted not-skin"):
        pixels, hits, _, _ = totals[key]
        print(f"| {key} | {pixels} | {hits / max(pixels, 1):.3f} | | |")


if __name__ == "__main__":
    main()
