"""Which skin the mask finds, by body part: faces, necks and the rest (arms, hands, legs,
bodies), on the val split's real photos.

The wild benchmark scores whole photos; the labels do not say which skin is a neck or an
arm. Here OpenCV's frontal-face Haar cascade (a test extra) finds faces, and only those
over 40 % labelled skin count (a box on a shirt or a wall is not a face). Around each:

- **face**: the detected box, widened by 15 % of its width on each side and 25 % of its
  height above (forehead) and 5 % below (the box ends about at the chin);
- **neck**: the band below that, 70 % of the face's height tall and as wide as the box;
- **rest**: labelled skin outside every face and neck of the photo (arms, hands, legs,
  bodies, ears);
- **no face found**: all the skin of a photo where no face was found (profiles, small or
  turned faces, hands and bodies alone).

Per source and part: labelled skin pixels, the share above the threshold (recall), the
soft mask's mean there, and how many faces were found. Not-skin in the parts is not
scored (a face box holds hair and eyes). `--lights` scores the photos under other light
too (:mod:`skinsmooth_core.training.lights`).

Run from the repository root::

    PYTHONPATH=. python benchmarks/body_parts.py --data ../shared/data/skin \\
        [--sources sfa,fasseg,ibtd,ccp] [--lights daylight,tungsten] [--model M]
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import cv2
import numpy as np

from skinsmooth_core.masks.segmenter import SkinSegmenter
from skinsmooth_core.training.data import load_split
from skinsmooth_core.training.lights import check_lights, relight

PARTS = ("rest", "face", "neck", "no face found")  # the values of part_map
SKIN_IN_FACE = 0.4  # a detection with less labelled skin in its box is not a face
WIDEN, ABOVE, BELOW, NECK = 0.15, 0.25, 0.05, 0.7  # of the face box's width or height


def find_faces(image: np.ndarray, label: np.ndarray, cascade) -> list[tuple[int, int, int, int]]:
    """Boxes (x, y, w, h) of the frontal faces in `image` that are mostly labelled skin."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    side = min(grey.shape)
    found = cascade.detectMultiScale(
        grey, scaleFactor=1.1, minNeighbors=5, minSize=(max(12, side // 40),) * 2
    )
    faces = []
    for x, y, w, h in np.asarray(found).reshape(-1, 4):
        if np.mean(label[y : y + h, x : x + w] == 255) >= SKIN_IN_FACE:
            faces.append((int(x), int(y), int(w), int(h)))
    return faces


def part_map(shape, faces) -> np.ndarray:
    """The index in PARTS of every pixel's part; faces win over necks."""
    height, width = shape
    parts = np.full(shape, 0 if faces else 3, np.uint8)
    for x, y, w, h in faces:
        left, right = max(0, round(x - WIDEN * w)), min(width, round(x + w + WIDEN * w))
        top, bottom = max(0, round(y - ABOVE * h)), min(height, round(y + h + BELOW * h))
        neck = parts[bottom : min(height, round(bottom + NECK * h)), x : x + w]
        neck[neck == 0] = 2
        parts[top:bottom, left:right] = 1
    return parts


def score_photo(prob, label, parts, threshold, totals, prefix) -> None:
    """Add one photo's skin pixels, hits and mask sums per part to `totals`."""
    skin = label == 255
    for index, part in enumerate(PARTS):
        where = skin & (parts == index)
        values = prob[where]
        totals[f"{prefix}{part}"] += [values.size, np.count_nonzero(values > threshold),
                                      float(values.sum())]  # fmt: skip


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--sources", default="sfa,fasseg,ibtd,ccp")
    parser.add_argument("--lights", default="daylight")
    parser.add_argument("--model", default=None, help="default: the shipped int8 model")
    parser.add_argument("--threshold", type=float, default=None, help="default: the JSON's")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    sources = args.sources.split(",")
    lights = check_lights(args.lights)

    segmenter = SkinSegmenter(args.model, num_threads=args.threads)
    threshold = segmenter.threshold if args.threshold is None else args.threshold
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    totals = defaultdict(lambda: np.zeros(3, np.float64))
    faces_found = defaultdict(int)
    photos = [s for s in load_split(args.data, "val") if s.source in sources]
    for sample in photos:
        faces = find_faces(sample.image, sample.mask, cascade)
        faces_found[sample.source] += len(faces)
        parts = part_map(sample.mask.shape, faces)
        for light in lights:
            image = sample.image if light == "daylight" else relight(sample.image, light)
            prob = segmenter.predict(image)
            for prefix in (f"{light} {sample.source} ", f"{light} all "):
                score_photo(prob, sample.mask, parts, threshold, totals, prefix)

    print(f"{segmenter.model_path.name}, threshold {threshold:g}, {len(photos)} val photos")
    print("faces found: " + ", ".join(f"{s} {faces_found[s]}" for s in sources))
    print("| light | source | part | skin pixels | in the mask | mean mask |")
    print("|---|---|---|---|---|---|")
    for light in lights:
        for source in [*sources, "all"]:
            for part in PARTS:
                pixels, hits, total = totals[f"{light} {source} {part}"]
                if pixels:
                    print(f"| {light} | {source} | {part} | {int(pixels)} | {hits / pixels:.3f} "
                          f"| {total / pixels:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
