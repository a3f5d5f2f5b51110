"""Train the skin UNet: masked BCE + Dice, Adam with a time-based cosine schedule, checkpoints."""

from __future__ import annotations

import csv
import json
import math
import queue
import threading
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PIL import Image

from ..masks.segmenter import letterbox
from .data import IGNORE, TintedNegatives, load_split
from .evaluate import pixel_counts, summarize
from .from_tflite import keras_from_tflite
from .groups import group_samples
from .model import SLIM, get_unet_256
from .sampler import BatchSampler


def masked_bce_dice(y_true, y_pred):
    """Binary cross-entropy plus soft Dice over the pixels whose weight (channel 1) is 1."""
    from keras import ops

    target, weight = y_true[..., 0:1], y_true[..., 1:2]
    p = ops.clip(y_pred, 1e-6, 1 - 1e-6)
    bce = -(target * ops.log(p) + (1 - target) * ops.log(1 - p))
    bce = ops.sum(weight * bce) / (ops.sum(weight) + 1.0)
    inter = ops.sum(weight * target * p)
    denom = ops.sum(weight * target) + ops.sum(weight * p)
    return bce + 1 - (2 * inter + 1) / (denom + 1)


def letterboxed_labels(samples, size: int):
    """Inputs and labels of whole photos letterboxed exactly as the predictor does it."""
    images, labels = [], []
    for sample in samples:
        canvas, (top, left, h, w) = letterbox(sample.image, size)
        mask = np.full((size, size), IGNORE, np.uint8)
        small = Image.fromarray(sample.mask).resize((w, h), Image.NEAREST)
        mask[top : top + h, left : left + w] = np.asarray(small)
        mask = np.where(mask == IGNORE, IGNORE, np.where(mask == 255, 255, 0))
        # Padding is part of the input the model sees, and it is not skin.
        outside = np.ones((size, size), bool)
        outside[top : top + h, left : left + w] = False
        mask[outside] = 0
        images.append(canvas)
        labels.append(mask.astype(np.uint8))
    return np.stack(images), np.stack(labels)


def _prefetch(sampler: BatchSampler, depth: int = 6):
    """Endless generator of batches built in a background thread."""
    buffer: queue.Queue = queue.Queue(depth)

    def work():
        while True:
            buffer.put(sampler.batch())

    threading.Thread(target=work, daemon=True).start()
    while True:
        yield buffer.get()


def train(
    data_dir,
    out_dir,
    *,
    crop_size: int = 192,
    batch_size: int = 8,
    steps_per_epoch: int = 250,
    max_epochs: int = 1000,
    time_budget_minutes: float | None = None,
    learning_rate: float = 2e-3,
    widths=SLIM["widths"],
    separable: bool = SLIM["separable"],
    val_size: int = 256,
    limit: int | None = None,
    resume=None,
    seed: int = 0,
    negatives: TintedNegatives | None = None,
    mosaic: float = 0.0,
    blurred: float = 0.0,
    piece_weights: dict | None = None,
    close_ups: float = 0.0,
    casts: float = 0.0,
    val_groups: int = 0,
    log=print,
):
    """Train and keep the checkpoint with the best pooled pixel F1 on the val split.

    Writes ``best.keras``, ``last.keras``, ``log.csv`` and ``config.json`` to `out_dir`.
    Training stops cleanly after `max_epochs` or before `time_budget_minutes` runs out.
    `negatives`: the skin-tinted hard negatives (:class:`TintedNegatives`).
    `mosaic`: share of the views that are synthetic groups (:mod:`.groups`); `blurred`:
    share of those on an enlarged, soft background (:func:`.groups.mosaic_view`);
    `piece_weights`: the groups' people drawn with these weights per source (default:
    every photo alike), e.g. ``{"hgr": 4}`` for more hands; `close_ups`: share of the
    groups on a background with much skin (foreground people cut by the frame); `casts`:
    share of the views under a strongly coloured light (:func:`.data.strong_cast`).
    `val_groups`: that many synthetic groups made from val photos are scored as
    the source "groups"; the best checkpoint is then the one with the best mean
    of the pooled val F1 and the groups' F1, so crowds count as much as portraits.
    Returns the path of ``best.keras``.
    """
    import keras

    negatives = negatives or TintedNegatives()

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "data_dir": str(data_dir),
        "crop_size": crop_size,
        "batch_size": batch_size,
        "steps_per_epoch": steps_per_epoch,
        "max_epochs": max_epochs,
        "time_budget_minutes": time_budget_minutes,
        "negatives": asdict(negatives),
        "mosaic": mosaic,
        "blurred": blurred,
        "piece_weights": piece_weights,
        "close_ups": close_ups,
        "casts": casts,
        "val_groups": val_groups,
        "learning_rate": learning_rate,
        "widths": list(widths),
        "separable": separable,
        "val_size": val_size,
        "limit": limit,
        "resume": None if resume is None else str(resume),
        "seed": seed,
    }
    (out_dir / "config.json").write_text(json.dumps(config, indent=2))
    start = time.monotonic()
    keras.utils.set_random_seed(seed)
    train_samples = load_split(data_dir, "train", limit=limit)
    val_samples = load_split(data_dir, "val", limit=limit)
    val_x, val_mask = letterboxed_labels(
        val_samples + group_samples(val_samples, val_groups), val_size
    )
    val_x = val_x.astype(np.float32) / 255
    val_sources = np.array([s.source for s in val_samples] + ["groups"] * val_groups)
    seconds = time.monotonic() - start
    log(f"loaded {len(train_samples)} train / {len(val_samples)} val in {seconds:.0f} s")

    if resume is not None and str(resume).endswith(".tflite"):
        model = keras_from_tflite(resume, widths=widths, separable=separable)
    else:
        model = get_unet_256(None, widths=widths, separable=separable)
        if resume is not None:
            model.load_weights(resume)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=masked_bce_dice)
    log(f"model {model.name}: {model.count_params():,} parameters")
    batches = _prefetch(
        BatchSampler(
            train_samples,
            crop_size,
            batch_size,
            seed=seed,
            negatives=negatives,
            mosaic=mosaic,
            blurred=blurred,
            piece_weights=piece_weights,
            close_ups=close_ups,
            casts=casts,
        )
    )
    budget = None if time_budget_minutes is None else 60 * time_budget_minutes

    columns = ["epoch", "minutes", "lr", "loss", "val_loss", "val_f1", "val_iou"]
    columns += [f"f1_{s}" for s in sorted(set(val_sources))]
    log_path = out_dir / "log.csv"
    with open(log_path, "w", newline="") as handle:
        csv.writer(handle).writerow(columns)
    best_score, epoch_seconds = -1.0, 0.0
    train_start = time.monotonic()
    for epoch in range(1, max_epochs + 1):
        elapsed = time.monotonic() - train_start
        if budget is not None and elapsed + 1.1 * epoch_seconds > budget:
            log(f"time budget reached after {epoch - 1} epochs")
            break
        progress = min(elapsed / budget, 1.0) if budget else (epoch - 1) / max_epochs
        lr = learning_rate * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress)))
        model.optimizer.learning_rate.assign(lr)
        epoch_start = time.monotonic()
        history = model.fit(batches, steps_per_epoch=steps_per_epoch, epochs=1, verbose=0)
        prob = model.predict(val_x, batch_size=8, verbose=0)[..., 0]
        val_label = np.stack([val_mask == 255, val_mask != IGNORE], axis=-1).astype(np.float32)
        val_loss = float(masked_bce_dice(val_label, prob[..., None]))
        scores = {}
        for source in [None, *sorted(set(val_sources))]:
            keep = val_sources != "groups" if source is None else val_sources == source
            pairs = zip(prob[keep], val_mask[keep], strict=True)
            summary = summarize([pixel_counts(p, m) for p, m in pairs])
            scores[source] = summary["f1"], summary["iou"]
        epoch_seconds = time.monotonic() - epoch_start
        f1, iou = scores[None]
        score = f1 if "groups" not in scores else 0.5 * (f1 + scores["groups"][0])
        row = [epoch, (time.monotonic() - start) / 60, lr, history.history["loss"][-1], val_loss]
        row += [f1, iou] + [scores[s][0] for s in sorted(set(val_sources))]
        with open(log_path, "a", newline="") as handle:
            csv.writer(handle).writerow([f"{v:.5g}" if isinstance(v, float) else v for v in row])
        model.save(out_dir / "last.keras")
        marker = ""
        if score > best_score:
            best_score = score
            model.save(out_dir / "best.keras")
            marker = " *"
        per_source = " ".join(f"{s}={scores[s][0]:.3f}" for s in sorted(set(val_sources)))
        log(
            f"epoch {epoch} ({epoch_seconds:.0f} s) lr={lr:.2e} loss={row[3]:.4f} "
            f"val_loss={val_loss:.4f} val_f1={f1:.4f} iou={iou:.4f} {per_source}{marker}"
        )
    log(f"done in {(time.monotonic() - start) / 60:.1f} min, best score {best_score:.4f}")
    return out_dir / "best.keras"
