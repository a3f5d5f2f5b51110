"""Evaluate the exported model as shipped (via :class:`SkinSegmenter`) against the colour rules.

Scores per photo at its own resolution, skipping the 128 (ignore) pixels:
pooled pixel F1 (all pixels of all photos counted together), pooled IoU and
mean per-photo IoU, overall and per source.
"""

from __future__ import annotations

import time

import numpy as np

from .data import IGNORE, read_manifest


def pixel_counts(prob: np.ndarray, mask: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Counts TP, FP, FN of `prob` > threshold vs a 0/255/128 mask."""
    valid = mask != IGNORE
    truth = (mask == 255) & valid
    pred = (prob > threshold) & valid
    counts = [truth & pred, pred & ~truth, truth & ~pred]
    return np.array([np.count_nonzero(c) for c in counts], dtype=np.int64)


def summarize(counts: list[np.ndarray]) -> dict:
    """Pooled F1, precision, recall, IoU and the mean per-photo IoU of per-photo counts."""
    counts = np.array(counts)
    tp, fp, fn = counts.sum(axis=0)
    unions = counts.sum(axis=1)
    ious = counts[unions > 0, 0] / unions[unions > 0]
    return {
        "images": len(counts),
        "f1": float(2 * tp / max(2 * tp + fp + fn, 1)),
        "precision": float(tp / max(tp + fp, 1)),
        "recall": float(tp / max(tp + fn, 1)),
        "iou": float(tp / max(tp + fp + fn, 1)),
        "mean_iou": float(ious.mean()) if len(ious) else float("nan"),
    }


def evaluate(
    data_dir,
    model_path=None,
    *,
    split="val",
    limit=None,
    every=1,
    thresholds=(),
    num_threads=None,
    log=print,
):
    """Score the learned mask and the colour detector on a split of the shared data.

    Returns a dict ``{"unet": {source: scores}, "color": {...}, ...}`` where the
    source ``"all"`` pools every photo; scores hold f1, precision, recall, iou
    (pooled) and mean_iou (mean over photos). `every` keeps every n-th photo of
    the split; `thresholds` adds ``"sweep": {threshold: pooled UNet scores}`` to
    choose the model's threshold (on training photos, not on val).
    """
    from pathlib import Path

    from PIL import Image

    from ..masks.color import detect_skin_color
    from ..masks.segmenter import SkinSegmenter

    segmenter = SkinSegmenter(model_path, num_threads=num_threads)
    data_dir = Path(data_dir)
    rows = [r for r in read_manifest(data_dir) if r["split"] == split]
    if limit is not None:
        seen: dict = {}
        kept = []
        for row in rows:
            seen[row["source"]] = seen.get(row["source"], 0) + 1
            if seen[row["source"]] <= limit:
                kept.append(row)
        rows = kept
    rows = rows[::every]
    counts = {"unet": {}, "color": {}}
    swept = {float(t): [] for t in thresholds}
    seconds = {"unet": 0.0, "color": 0.0}
    start = time.monotonic()
    for row in rows:
        image = np.asarray(Image.open(data_dir / "images" / f"{row['id']}.jpg").convert("RGB"))
        mask = np.asarray(Image.open(data_dir / "masks" / f"{row['id']}.png").convert("L"))
        for method, predict in (("unet", segmenter.predict), ("color", detect_skin_color)):
            tic = time.perf_counter()
            prob = predict(image)
            seconds[method] += time.perf_counter() - tic
            threshold = segmenter.threshold if method == "unet" else 0.5
            counts[method].setdefault(row["source"], []).append(pixel_counts(prob, mask, threshold))
            if method == "unet":
                for t, photo_counts in swept.items():
                    photo_counts.append(pixel_counts(prob, mask, t))
    log(f"scored {len(rows)} {split} photos in {time.monotonic() - start:.0f} s")
    results = {
        "split": split,
        "model": str(segmenter.model_path),
        "threshold": segmenter.threshold,
        "seconds_per_photo": {m: s / max(len(rows), 1) for m, s in seconds.items()},
    }
    for method, by_source in counts.items():
        scores = {"all": summarize([c for cs in by_source.values() for c in cs])}
        scores.update({s: summarize(cs) for s, cs in sorted(by_source.items())})
        results[method] = scores
    if swept:
        results["sweep"] = {str(t): summarize(c) for t, c in swept.items()}
    return results


def format_table(results: dict) -> str:
    """A Markdown table of F1 / IoU per source for the UNet and the colour detector."""
    lines = [
        "| source | photos | UNet F1 | UNet IoU | UNet mean IoU | colour F1 | colour IoU "
        "| colour mean IoU |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for source, unet in results["unet"].items():
        color = results["color"][source]
        lines.append(
            f"| {source} | {unet['images']} | {unet['f1']:.3f} | {unet['iou']:.3f} "
            f"| {unet['mean_iou']:.3f} | {color['f1']:.3f} | {color['iou']:.3f} "
            f"| {color['mean_iou']:.3f} |"
        )
    if "sweep" in results:
        lines += ["", "| threshold | UNet F1 | precision | recall |", "|---|---|---|---|"]
        lines += [
            f"| {t} | {v['f1']:.4f} | {v['precision']:.4f} | {v['recall']:.4f} |"
            for t, v in results["sweep"].items()
        ]
    return "\n".join(lines)
