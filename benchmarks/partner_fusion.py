"""Ways to combine the main model's mask with its partner's, scored on the wild benchmark.

The predictor (``SkinSegmenter.predict``) takes the weighted mean of the two models'
passes, then stretches, thresholds and refines it. This runs both models once per photo
and scores several combinations of the same passes, so a new partner model, weight or
stretch can be chosen on the training photos (keep val for reporting).

Run from the repository root::

    PYTHONPATH=. python benchmarks/partner_fusion.py --data ../shared/data/skin \\
        [--split train --every 4 --groups 40] [--model <main>.tflite] \\
        [--partner <other>.tflite] [--weights 0.4,0.5,0.6] \\
        [--soft-ranges 0.35,0.7/0.3,0.65] [--raw-threshold 0.55 | --stretched-threshold 0.5]
        [--gates] [--small-regions 0.0005,0.002] [--lights grey]

``--partner`` replaces the partner the model's JSON names (e.g. a new fine-tune; its JSON's
``detail`` decides whether it runs on tiles, as in ``predict``: export it with the shipped
partner's ``--info``, which says no, to compare like with like; the header says which),
``--small-regions`` adds the larger of the two models in separate regions up to those
shares of the photo (session 10: more small regions found, lower pooled F1),
``--lights`` scores the photos under other light (``training.lights``; session 12 chose the
black-and-white stretch with ``--lights grey``), ``--gates`` adds the rules that were tried
against the ccp loss (session 8 and 10, see ``models/HISTORY.md``), around the first of
``--weights``. Uses the predictor's private
passes, so it runs the same arithmetic as ``predict``.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scipy import ndimage as ndi

from skinsmooth_core._image import check_image
from skinsmooth_core.masks.segmenter import _WORK_INPUTS, SkinSegmenter, _shrink
from skinsmooth_core.training.wild import benchmark, format_wild


class Passes:
    """Both models' passes of the last photo seen (the benchmark asks once per method)."""

    def __init__(self, segmenter: SkinSegmenter, partner: SkinSegmenter):
        self.segmenter, self.partner = segmenter, partner
        self._image, self._value = None, None

    def __call__(self, image):
        if self._image is not image:  # identity, with the reference held: never id()
            rgb = self.segmenter._rgb8(check_image(image))
            work = _shrink(rgb, _WORK_INPUTS * self.segmenter.input_size)
            (main, main_finest), (other, other_finest) = self.segmenter._both_passes(
                rgb, work, self.partner
            )  # as predict runs them
            self._image = image
            self._value = rgb, work, main, other, min(main_finest, other_finest)
        return self._value


def weighted(weight):
    return lambda main, other: (1 - weight) * main + weight * other


def main_where_large_disagreement(share, weight=0.5):
    """The main model alone where the partner alone sees skin over a large area."""

    def combine(main, other):
        alone = (other > 0.5) & (main < 0.3)
        labels, count = ndi.label(alone)
        if count:
            areas = ndi.sum_labels(np.ones_like(labels), labels, np.arange(1, count + 1))
            large = np.isin(labels, np.flatnonzero(areas > share * main.size) + 1)
            alone = ndi.binary_dilation(large, iterations=3)
        return np.where(alone, main, (1 - weight) * main + weight * other)

    return combine


def by_region_count(least, low_weight, weight=0.5, min_area=20):
    """A smaller partner share on photos where the main model finds few separate regions."""

    def combine(main, other):
        labels, count = ndi.label(main > 0.5)
        if count:
            areas = ndi.sum_labels(np.ones_like(labels), labels, np.arange(1, count + 1))
            count = int(np.count_nonzero(areas >= min_area))
        share = weight if count >= least else low_weight
        return (1 - share) * main + share * other

    return combine


def larger_in_small_regions(share, weight=0.35, raw=0.45):
    """The larger of the two models in small separate regions either model sees (small
    people: the partner finds hands, the main model the smallest faces), the weighted
    mean elsewhere."""

    def combine(main, other):
        mean = (1 - weight) * main + weight * other
        labels, count = ndi.label((main > raw) | (other > raw))
        if not count:
            return mean
        small = np.bincount(labels.ravel()) <= share * main.size
        small[0] = False
        return np.where(small[labels], np.maximum(main, other), mean)

    return combine


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", default=None, help="default: the shipped int8 model")
    parser.add_argument("--partner", default=None, help="default: the one its JSON names")
    parser.add_argument("--split", choices=["train", "val"], default="train")
    parser.add_argument("--every", type=int, default=4)
    parser.add_argument("--groups", type=int, default=40)
    parser.add_argument("--weights", default="0,0.5")
    parser.add_argument(
        "--soft-ranges", default=None, help="low,high[/low,high...]; default: the JSON's"
    )
    parser.add_argument(
        "--raw-threshold",
        type=float,
        default=None,
        help="on the mean before the stretch (default: the JSON's threshold, unstretched)",
    )
    parser.add_argument(
        "--stretched-threshold",
        type=float,
        default=None,
        help="score at this value of the stretched mask instead (the issue's held-out set: 0.5)",
    )
    parser.add_argument("--gates", action="store_true")
    parser.add_argument(
        "--small-regions",
        default=None,
        help="shares of the photo, e.g. 0.001,0.003: also score the larger of the two "
        "models in separate regions up to that size (the first weight elsewhere)",
    )
    parser.add_argument(
        "--lights", default="daylight", help="e.g. grey: the photos under other light"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    segmenter = SkinSegmenter(args.model, num_threads=args.threads)
    partner = segmenter._partner
    if args.partner:
        partner = SkinSegmenter(args.partner, num_threads=args.threads)
    if partner is None:
        parser.error(f"{segmenter.model_path} names no partner: pass --partner")
    low, high = segmenter.soft_range
    raw = args.raw_threshold or low + segmenter.threshold * (high - low)
    ranges = [segmenter.soft_range]
    if args.soft_ranges:
        ranges = [tuple(float(v) for v in r.split(",")) for r in args.soft_ranges.split("/")]
    passes = Passes(segmenter, partner)

    def method(combine, soft_range):
        def predict(image):
            rgb, work, main_mask, other, finest = passes(image)
            return segmenter._finish(
                combine(main_mask, other), rgb, work, finest, soft_range=soft_range
            )

        low, high = soft_range
        if args.stretched_threshold is not None:
            return predict, args.stretched_threshold
        return predict, (raw - low) / (high - low)

    methods = {}
    for soft_range in ranges:
        suffix = "" if len(ranges) == 1 else f", {soft_range[0]:g}..{soft_range[1]:g}"
        for w in (float(w) for w in args.weights.split(",")):
            methods[f"weight {w:g}{suffix}"] = method(weighted(w), soft_range)
    first = float(args.weights.split(",")[0])  # the gates' weight elsewhere
    if args.gates:
        for share in (0.003, 0.01, 0.03):
            methods[f"main where large disagreement > {share:.1%}"] = method(
                main_where_large_disagreement(share, first), ranges[0]
            )
        for least in (2, 3, 5):
            methods[f"weight {first / 2:g} under {least} regions"] = method(
                by_region_count(least, first / 2, first), ranges[0]
            )
    if args.small_regions:
        for share in (float(v) for v in args.small_regions.split(",")):
            methods[f"larger in regions <= {share:.2%}"] = method(
                larger_in_small_regions(share, first, raw), ranges[0]
            )
    # A partner's JSON decides whether it runs on tiles ("detail"; absent: yes). The shipped
    # partner's says no; an export without --info says nothing, so its tiles would run.
    print(
        f"main {segmenter.model_path}, partner {partner.model_path} (tiles: "
        f"{'on' if partner.detail else 'off'}), threshold {raw:.4f} on the mean before the stretch"
    )
    results = benchmark(
        args.data,
        methods,
        groups=args.groups,
        split=args.split,
        every=args.every,
        lights=args.lights,
    )
    print(format_wild(results))
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=1)


if __name__ == "__main__":
    main()
