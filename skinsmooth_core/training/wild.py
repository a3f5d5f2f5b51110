"""A benchmark of the skin mask on photos like users shoot: groups, small people, bodies.

The val split alone hides the weak cases (it is dominated by single large faces), so
this scores, from the shared data folder alone:

- ``groups``: synthetic group photos (:func:`.groups.compose_group`) made only of val
  photos, 2 to 20 whole photos at 10-50 % of their size on a 1280 x 853 canvas;
- the in-the-wild val sources on their own (``ibtd``, ``ccp``, ``abd``, ``hgr``);
- the wild sources' photos again by apparent skin tone (:func:`skin_tone`: light, tan,
  brown);
- optionally all of them under other light (:mod:`.lights`: colour casts, exposure, black
  and white).

Per set: pooled pixel F1, the median and the spread of per-photo F1, and the soft
mask's mean inside skin (4 px in from its border) and on not-skin 8 px or more away
from skin (the pipeline blends with the soft mask, so its values matter). Per size of
skin region (connected regions under 16, 16-48 and over 48 px across, at the photo's
resolution): F1 around the regions of that size and the share of regions found
(more than half their pixels above the threshold).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi
from skimage.color import rgb2lab

from .data import IGNORE, load_split
from .evaluate import pixel_counts
from .groups import compose_group
from .lights import check_lights, relight

SIZE_BINS = ((0, 16), (16, 48), (48, np.inf))
WILD_SOURCES = ("ibtd", "ccp", "abd", "hgr")
# Apparent skin tone: the individual typology angle (ITA, degrees) of the labelled skin's
# median CIELAB L* and b*; the usual classes above 41 (very light, light), 10-41
# (intermediate, tan) and below 10 (brown, dark).
TONE_BINS = (("skin light", 41.0, np.inf), ("skin tan", 10.0, 41.0), ("skin brown", -np.inf, 10.0))


def size_bin_name(low, high) -> str:
    return (
        f"<{high:g}px" if low == 0 else (f">{low:g}px" if np.isinf(high) else f"{low:g}-{high:g}px")
    )


def wild_photos(
    data_dir, *, groups: int = 60, seed: int = 2026, split="val", every=1, height=853, width=1280,
    pieces: list | None = None,
):  # fmt: skip
    """The benchmark's photos: ``(set name, id, image, label)`` tuples, groups first.

    `split` "train" (with `every` > 1 to keep every n-th photo of each wild source) gives a
    set of the same kind to choose settings on, so that val stays for reporting. With a
    list `pieces`, each group's pasted photos (``compose_group(pieces=)``'s list) are
    appended to it before that group is yielded.
    """
    photos = load_split(data_dir, split)
    rng = np.random.default_rng(seed)
    for index in range(groups):
        pasted = []
        image, label, count = compose_group(photos, rng, height=height, width=width, pieces=pasted)
        if pieces is not None:
            pieces.append(pasted)
        yield "groups", f"group{index:03d}-{count}p", image, label
    for sample in [s for s in photos if s.source in WILD_SOURCES][::every]:
        yield sample.source, sample.id, sample.image, sample.mask


def skin_tone(image: np.ndarray, label: np.ndarray) -> str | None:
    """The name of the :data:`TONE_BINS` class of the skin labelled in `image` (255 in
    `label`), or None with under 64 skin pixels. The tone as photographed: light and
    exposure move it as much as the skin does.

    References
    ----------
    .. [1] A. Chardon, I. Cretois and C. Hourseau, "Skin colour typology and suntanning
           pathways", International Journal of Cosmetic Science 13(4), 1991.
    """
    skin = np.asarray(label) == 255
    if skin.sum() < 64:
        return None
    colour = np.asarray(image)[..., :3][skin]
    lab = rgb2lab(colour[None].astype(np.float64) / 255)[0]
    lightness, yellow = np.median(lab[:, 0]), np.median(lab[:, 2])
    angle = np.degrees(np.arctan2(lightness - 50, yellow))
    return next(name for name, low, high in TONE_BINS if low < angle <= high)


@dataclass
class Scores:
    """Counts of one method on one set of photos."""

    counts: list = field(default_factory=list)  # per photo: TP, FP, FN
    regions: int = 0  # photos with 8 or more separate skin regions
    many: list = field(default_factory=list)  # their per-photo F1
    bins: dict = field(default_factory=dict)  # size bin -> [TP, FP, FN, regions, found]
    inside: list = field(default_factory=lambda: [0.0, 0])  # soft-mask sum, pixels
    far: list = field(default_factory=lambda: [0.0, 0])

    def add(self, prob: np.ndarray, label: np.ndarray, threshold: float) -> float:
        counts = pixel_counts(prob, label, threshold)
        self.counts.append(counts)
        tp, fp, fn = counts
        f1 = 2 * tp / max(2 * tp + fp + fn, 1)
        skin, valid = label == 255, label != IGNORE
        regions, count = ndi.label(skin)
        if count >= 8:
            self.many.append(f1)
        if count:
            areas = ndi.sum_labels(np.ones_like(regions), regions, np.arange(1, count + 1))
            found = ndi.mean(prob > threshold, regions, np.arange(1, count + 1))
            across = 2 * np.sqrt(areas / np.pi)
            for low, high in SIZE_BINS:
                chosen = np.flatnonzero((across >= low) & (across < high)) + 1
                entry = self.bins.setdefault(size_bin_name(low, high), np.zeros(5, np.int64))
                if not chosen.size:
                    continue
                own = np.isin(regions, chosen)
                reach = max(4, int(np.median(across[chosen - 1]) / 2))
                zone = ndi.binary_dilation(own, iterations=reach) & valid & (own | ~skin)
                entry[:3] += pixel_counts(prob, np.where(zone, label, IGNORE), threshold)
                entry[3] += chosen.size
                entry[4] += int(np.count_nonzero(found[chosen - 1] > 0.5))
        core = ndi.binary_erosion(skin, iterations=4, border_value=1)
        far = ~ndi.binary_dilation(skin, iterations=8) & valid
        for total, where in ((self.inside, core), (self.far, far)):
            total[0] += float(prob[where].sum())
            total[1] += int(np.count_nonzero(where))
        return f1

    def summary(self) -> dict:
        counts = np.array(self.counts)
        tp, fp, fn = counts.sum(axis=0)
        f1s = 2 * counts[:, 0] / np.maximum(2 * counts[:, 0] + counts[:, 1] + counts[:, 2], 1)
        out = {
            "photos": len(counts),
            "f1": float(2 * tp / max(2 * tp + fp + fn, 1)),
            "precision": float(tp / max(tp + fp, 1)),
            "recall": float(tp / max(tp + fn, 1)),
            "median_f1": float(np.median(f1s)),
            "under_0.4": int(np.count_nonzero(f1s < 0.4)),
            "many_regions": len(self.many),
            "many_median_f1": float(np.median(self.many)) if self.many else float("nan"),
            "many_under_0.4": int(np.count_nonzero(np.array(self.many) < 0.4)),
            "inside_mean": self.inside[0] / max(self.inside[1], 1),
            "far_mean": self.far[0] / max(self.far[1], 1),
        }
        for name, (btp, bfp, bfn, regions, found) in self.bins.items():
            out[f"f1_{name}"] = float(2 * btp / max(2 * btp + bfp + bfn, 1))
            out[f"found_{name}"] = float(found / regions) if regions else float("nan")
            out[f"regions_{name}"] = int(regions)
        return out


def benchmark(
    data_dir, methods: dict, *, groups: int = 60, seed: int = 2026, split="val", every=1,
    lights=("daylight",), log=print,
):  # fmt: skip
    """Score each of `methods` (name -> (predict(image) -> prob, threshold)) on the photos
    of :func:`wild_photos`, under each of `lights` (:data:`.lights.LIGHTS`, the labels
    unchanged). Returns ``{run: {set: summary}}``, a run being the method's name, followed
    by the light's unless `lights` is daylight alone; the set "all" pools every photo, and
    "seconds" holds each run's mean time per photo."""
    lights = check_lights(lights)
    runs = {
        name if lights == ("daylight",) else f"{name} {light}": (name, light)
        for light in lights
        for name in methods
    }
    scores = {run: {} for run in runs}
    seconds = dict.fromkeys(runs, 0.0)
    count = 0
    start = time.monotonic()
    photos = wild_photos(data_dir, groups=groups, seed=seed, split=split, every=every)
    for set_name, _, image, label in photos:
        count += 1
        keys = [set_name, "all"]
        if set_name != "groups" and (tone := skin_tone(image, label)) is not None:
            keys.append(tone)  # as photographed in daylight, under every light
        shown = {light: relight(image, light) for light in lights}
        for run, (name, light) in runs.items():
            predict, threshold = methods[name]
            tic = time.perf_counter()
            prob = predict(shown[light])
            seconds[run] += time.perf_counter() - tic
            for key in keys:
                scores[run].setdefault(key, Scores()).add(prob, label, threshold)
    log(f"scored {count} photos in {time.monotonic() - start:.0f} s")
    results = {}
    for run, by_set in scores.items():
        results[run] = {key: s.summary() for key, s in by_set.items()}
        results[run]["seconds"] = seconds[run] / max(count, 1)
    return results


def format_wild(results: dict) -> str:
    """Markdown tables: per set and per region size, one row per method and set."""
    bins = [size_bin_name(low, high) for low, high in SIZE_BINS]
    lines = [
        "| method | set | photos | F1 | precision | recall | median F1 | F1 < 0.4 "
        "| 8+ regions: photos, median F1, < 0.4 | mask inside skin | mask on far not-skin |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for method, by_set in results.items():
        for key, s in by_set.items():
            if key == "seconds":
                continue
            lines.append(
                f"| {method} | {key} | {s['photos']} | {s['f1']:.3f} | {s['precision']:.3f} "
                f"| {s['recall']:.3f} | {s['median_f1']:.3f} "
                f"| {s['under_0.4']} | {s['many_regions']}, {s['many_median_f1']:.3f}, "
                f"{s['many_under_0.4']} | {s['inside_mean']:.3f} | {s['far_mean']:.4f} |"
            )
    head = " | ".join(f"{b} F1 | {b} found" for b in bins)
    lines += ["", f"| method | set | {head} |", "|---|---|" + "---|---|" * len(bins)]
    for method, by_set in results.items():
        for key, s in by_set.items():
            if key == "seconds":
                continue
            cells = " | ".join(
                f"{s.get(f'f1_{b}', float('nan')):.3f} | {s.get(f'found_{b}', float('nan')):.2f} "
                f"({s.get(f'regions_{b}', 0)})"
                for b in bins
            )
            lines.append(f"| {method} | {key} | {cells} |")
    lines += ["", "| method | seconds per photo |", "|---|---|"]
    lines += [f"| {m} | {r['seconds']:.3f} |" for m, r in results.items()]
    return "\n".join(lines)


def default_methods(model_path=None, num_threads=None, names=("unet", "color")) -> dict:
    """The shipped predictor as it runs, and the colour rules."""
    from ..masks.color import detect_skin_color
    from ..masks.segmenter import SkinSegmenter

    variants = {  # predict's options of each learned variant
        "unet": {},
        "unet-single": {"detail": False},  # no tiles
        "unet-no-adapt": {"adapt": False},  # no colour adaptation
    }
    methods = {}
    if any(name in variants for name in names):
        segmenter = SkinSegmenter(model_path, num_threads=num_threads)
        for name, options in variants.items():
            if name in names:
                methods[name] = (
                    functools.partial(segmenter.predict, **options),
                    segmenter.threshold,
                )
    if "color" in names:
        methods["color"] = (detect_skin_color, 0.5)
    return methods


def save_examples(data_dir, folder, count: int = 4, seed: int = 2026) -> list[Path]:
    """Write the first `count` group photos and labels (to look at, never to commit)."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, (_, name, image, label) in enumerate(wild_photos(data_dir, groups=count, seed=seed)):
        if index >= count:
            break
        Image.fromarray(image).save(folder / f"{name}.jpg", quality=92)
        Image.fromarray(label).save(folder / f"{name}.png")
        paths.append(folder / f"{name}.jpg")
    return paths
