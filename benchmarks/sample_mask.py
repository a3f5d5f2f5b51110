"""The learned mask on the bundled sample portrait, region by region: what a retoucher
sees first, and where skin-coloured clothes creep in.

Run from the repository root::

    PYTHONPATH=. python benchmarks/sample_mask.py [--model models/skin_unet_fp16.tflite]
        [--save mask.png]

Prints, per region of ``skimage.data.astronaut()``, the mean soft mask and the share of
pixels above the model's threshold. The regions: the face (cheeks, nose, mouth), the top
of the head (light hair), the grey wall, the test's small suit patch at the left edge,
and the whole orange suit (its strongly orange pixels below the face: R > 150,
R - G > 60, G > B, rows 200 and down, columns under 300). Not a test: the suit is a known
weak spot (``models/MODEL_CARD.md``, known limits), tracked here between models.
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image
from skimage import data

from skinsmooth_core.masks.segmenter import SkinSegmenter


def regions(image: np.ndarray) -> dict:
    """Boolean masks of the named regions of the astronaut photo."""
    rgb = image.astype(np.int16)
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    suit = (red > 150) & (red - green > 60) & (green > blue)
    suit[:200] = False
    suit[:, 300:] = False
    boxes = {
        "face": (slice(105, 145), slice(195, 255)),
        "hair": (slice(20, 50), slice(180, 270)),
        "wall": (slice(0, 60), slice(300, 380)),
        "suit patch": (slice(300, 400), slice(60, 120)),
    }
    out = {}
    for name, box in boxes.items():
        region = np.zeros(image.shape[:2], bool)
        region[box] = True
        out[name] = region
    out["orange suit"] = suit
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="default: the shipped int8 model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--save", default=None, help="also write the soft mask as a PNG")
    args = parser.parse_args(argv)

    segmenter = SkinSegmenter(args.model, num_threads=args.threads)
    image = data.astronaut()
    mask = segmenter.predict(image)
    partner = getattr(segmenter, "partner_path", None)  # older versions have none
    print(f"{segmenter.model_path.name} (partner: {partner}), threshold {segmenter.threshold:.4f}")
    print(f"{'region':<12} {'pixels':>7} {'mean':>6} {'above':>6}")
    for name, region in regions(image).items():
        values = mask[region]
        above = np.mean(values > segmenter.threshold)
        print(f"{name:<12} {values.size:>7} {values.mean():6.3f} {above:6.1%}")
    if args.save:
        Image.fromarray(np.rint(mask * 255).astype(np.uint8)).save(args.save)


if __name__ == "__main__":
    main()
