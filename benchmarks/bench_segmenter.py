"""Time the skin segmenter: raw model inference per 256 x 256 and the full predict()
(with and without the main model's tiles of the detail pass; a partner model, if the
model's JSON names one, runs its tiles as its own JSON says) on 0.26, 4 and 12 MP.

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_segmenter.py --threads 2 \
        [--model models/skin_unet_fp16.tflite]

Prints the median of repeated runs (timings on a shared machine are noisy).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from PIL import Image
from skimage import data

from skinsmooth_core.masks.segmenter import SkinSegmenter


def median_ms(function, repeats: int) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="default: the shipped int8 model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)

    segmenter = SkinSegmenter(args.model, num_threads=args.threads)
    size = segmenter.input_size
    photo = data.astronaut()
    canvas = np.asarray(Image.fromarray(photo).resize((size, size), Image.BILINEAR))
    print(f"model {segmenter.model_path} ({segmenter.model_path.stat().st_size / 1e6:.2f} MB)")
    if segmenter.partner_path is not None:
        print(f"partner {segmenter.partner_path} (weight {segmenter.partner_weight:g})")
    print(f"threads {args.threads}")
    inference = median_ms(lambda: segmenter._run(canvas), args.repeats)
    print(f"inference {size}x{size}: {inference:.1f} ms")
    # A 12 MP photo: 3 x 4 copies of the portrait, 12 people at 1000 px each.
    group = np.tile(np.asarray(Image.fromarray(photo).resize((1000, 1000))), (3, 4, 1))
    for name, image in (("512x512", photo), ("2048x2048", _square(photo, 2048)), ("12 MP", group)):
        repeats = max(3, args.repeats * 256 // max(image.shape[:2]))
        for detail in (False, True):
            ms = median_ms(lambda i=image, d=detail: segmenter.predict(i, detail=d), repeats)
            what = "with the tiles" if detail else "whole photo only"
            if segmenter.partner_path is not None:
                tiles = "its tiles" if segmenter._partner.detail else "no tiles"
                what += f"; the partner: whole photo, {tiles}"
            print(f"predict {name} ({what}): {ms:.1f} ms")


def _square(photo, side):
    return np.asarray(Image.fromarray(photo).resize((side, side), Image.BILINEAR))


if __name__ == "__main__":
    main()
