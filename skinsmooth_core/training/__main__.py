"""Command line: ``python -m skinsmooth_core.training {train,evaluate,wild,export,recipe} ...``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from .lights import LIGHTS, check_lights


def _log(message: str) -> None:
    print(time.strftime("%H:%M:%S"), message, flush=True)


def _write_json(path, data) -> None:
    """Write `data` as indented JSON to `path` (nothing when `path` is None)."""
    if path:
        Path(path).write_text(json.dumps(data, indent=2) + "\n")


def _widths(text: str) -> tuple[int, ...]:
    return tuple(int(w) for w in text.split(","))


def _thresholds(text: str) -> tuple[float, ...]:
    values = tuple(float(t) for t in text.split(","))
    if not all(0.0 < t < 1.0 for t in values):
        raise argparse.ArgumentTypeError(f"thresholds must be in (0, 1), got {text!r}")
    return values


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text!r}")
    return value


def _lights(text: str) -> tuple[str, ...]:
    try:
        return check_lights(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a share from 0 to 1, got {text!r}")
    return value


def _source_weights(text: str) -> dict[str, float]:
    """``"hgr=4,abd=1.5"`` -> ``{"hgr": 4.0, "abd": 1.5}``; sources not named weigh 1."""
    from .data import SOURCE_WEIGHTS

    weights = {}
    for item in text.split(","):
        source, _, value = item.partition("=")
        source = source.strip()
        if source not in SOURCE_WEIGHTS:
            raise argparse.ArgumentTypeError(
                f"unknown source {source!r} in {text!r}; sources: {', '.join(SOURCE_WEIGHTS)}"
            )
        try:
            weight = float(value)
        except ValueError:
            weight = float("nan")
        if not weight >= 0:  # also rejects nan
            raise argparse.ArgumentTypeError(
                f"weight of {source!r} must be a number >= 0 (SOURCE=W,...), got {item!r}"
            )
        weights[source] = weight
    if not any(weights.get(s, 1.0) > 0 for s in SOURCE_WEIGHTS):
        raise argparse.ArgumentTypeError(f"at least one source must weigh more than 0: {text!r}")
    return weights


def _representative(data_dir, size: int, count: int) -> np.ndarray:
    """Letterboxed training photos from every source, for int8 calibration."""
    from .data import load_split
    from .train import letterboxed_labels

    samples = load_split(data_dir, "train", limit=max(1, count // 4))
    rng = np.random.default_rng(0)
    picks = rng.permutation(len(samples))[:count]
    images, _ = letterboxed_labels([samples[i] for i in picks], size)
    return images.astype(np.float32) / 255


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m skinsmooth_core.training")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train the UNet, keep the best val-F1 checkpoint")
    train.add_argument("--data", required=True, help="the skin data folder (manifest.csv)")
    train.add_argument("--out", required=True, help="run folder (checkpoints, log.csv)")
    train.add_argument("--crop-size", type=int, default=192)
    train.add_argument("--batch-size", type=int, default=8)
    train.add_argument("--steps-per-epoch", type=int, default=250)
    train.add_argument("--epochs", type=int, default=1000, help="maximum epochs")
    train.add_argument("--time-budget-minutes", type=float, default=None)
    train.add_argument("--learning-rate", type=float, default=2e-3)
    train.add_argument("--widths", type=_widths, default=(16, 32, 64, 128, 256))
    train.add_argument("--no-separable", action="store_true", help="full convolutions")
    train.add_argument("--limit", type=int, default=None, help="photos per source (smoke runs)")
    train.add_argument(
        "--resume",
        default=None,
        help="start from these weights: a .keras checkpoint, or an exported float .tflite "
        "(e.g. models/skin_unet_fp16.tflite; its BatchNorm stays frozen)",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--tint", type=float, default=0.0, help="share of views with skin-coloured negatives"
    )
    train.add_argument(
        "--lift", type=float, default=0.0, help="share of those also brightened to the skin's level"
    )
    train.add_argument(
        "--soft-blobs", action="store_true", help="feather the tinted blobs' outlines"
    )
    train.add_argument(
        "--vivid", type=float, default=0.0, help="share of those with a stronger chroma than skin"
    )

    train.add_argument(
        "--mosaic", type=_share, default=0.0, help="share of views that are synthetic groups"
    )
    train.add_argument(
        "--blurred",
        type=_share,
        default=0.0,
        help="share of the synthetic groups on an enlarged, out-of-focus background",
    )
    train.add_argument(
        "--piece-weights",
        type=_source_weights,
        default=None,
        help="the synthetic groups' people drawn with these weights per source, "
        "e.g. hgr=4,abd=1.5 (default: every photo alike)",
    )
    train.add_argument(
        "--close-ups",
        type=_share,
        default=0.0,
        help="share of the synthetic groups on a background with much skin (people in the "
        "foreground, cut by the frame)",
    )
    train.add_argument(
        "--casts",
        type=_share,
        default=0.0,
        help="share of views under a strongly coloured light (orange, blue, green, magenta)",
    )
    train.add_argument(
        "--val-groups", type=int, default=0, help="synthetic val groups scored for the checkpoint"
    )

    evaluate = commands.add_parser("evaluate", help="pooled pixel F1 / IoU vs the colour detector")
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--model", default=None, help=".tflite (default: the shipped model)")
    evaluate.add_argument("--split", default="val", choices=["train", "val"])
    evaluate.add_argument("--limit", type=int, default=None)
    evaluate.add_argument("--every", type=_positive, default=1, help="score every n-th photo")
    evaluate.add_argument(
        "--sweep", type=_thresholds, default=(), help="thresholds to compare, e.g. 0.5,0.6"
    )
    evaluate.add_argument("--threads", type=int, default=None)
    evaluate.add_argument("--json", default=None, help="also write the results here")
    evaluate.add_argument(
        "--record", action="store_true", help="store the scores in the JSON beside the model"
    )

    wild = commands.add_parser(
        "wild", help="score on synthetic val groups and the in-the-wild val sources"
    )
    wild.add_argument("--data", required=True)
    wild.add_argument("--model", default=None, help=".tflite (default: the shipped model)")
    wild.add_argument("--groups", type=_positive, default=60, help="synthetic group photos")
    wild.add_argument("--seed", type=int, default=2026)
    wild.add_argument("--split", default="val", choices=["train", "val"])
    wild.add_argument("--every", type=_positive, default=1, help="every n-th wild photo")
    wild.add_argument(
        "--methods", default="unet,color", help="unet, unet-single, unet-no-adapt, color"
    )
    wild.add_argument(
        "--lights",
        type=_lights,
        default=("daylight",),
        help="score under each of these lights, e.g. daylight,tungsten,grey (all: "
        + ",".join(LIGHTS)
        + ")",
    )
    wild.add_argument("--threads", type=int, default=None)
    wild.add_argument("--json", default=None, help="also write the results here")
    wild.add_argument("--examples", default=None, help="write a few group photos to this folder")

    export = commands.add_parser("export", help="write int8 and fp16 .tflite + JSON")
    export.add_argument("--model", required=True, help="a .keras checkpoint")
    export.add_argument("--data", required=True, help="photos for int8 calibration")
    export.add_argument("--out", required=True)
    export.add_argument("--name", default="skin_unet")
    export.add_argument("--size", type=int, default=256)
    export.add_argument("--calibration-images", type=int, default=200)
    export.add_argument("--variants", default="int8,fp16")
    export.add_argument("--threshold", type=float, default=0.5, help="recorded mask threshold")
    export.add_argument("--metrics", default=None, help="evaluate's JSON, kept in the model JSON")
    export.add_argument("--info", default=None, help="JSON of extra fields (training command...)")

    recipe = commands.add_parser(
        "recipe", help="train and export both shipped models from scratch (hours on a CPU)"
    )
    recipe.add_argument("--data", required=True, help="the skin data folder (manifest.csv)")
    recipe.add_argument("--out", required=True, help="run folders; the models land in OUT/models")
    recipe.add_argument(
        "--time-scale", type=float, default=1.0, help="multiplies every stage's time budget"
    )
    recipe.add_argument("--limit", type=int, default=None, help="photos per source (smoke runs)")
    recipe.add_argument("--calibration-images", type=_positive, default=100)

    args = parser.parse_args(argv)
    if args.command == "recipe":
        from .recipe import reproduce

        if not args.time_scale > 0:
            parser.error(f"--time-scale must be above 0, got {args.time_scale}")
        reproduce(
            args.data,
            args.out,
            representative=_representative(args.data, 256, args.calibration_images),
            time_scale=args.time_scale,
            overrides={} if args.limit is None else {"limit": args.limit},
            log=_log,
        )
    elif args.command == "train":
        from .data import TintedNegatives
        from .train import train as run

        run(
            args.data,
            args.out,
            crop_size=args.crop_size,
            batch_size=args.batch_size,
            steps_per_epoch=args.steps_per_epoch,
            max_epochs=args.epochs,
            time_budget_minutes=args.time_budget_minutes,
            learning_rate=args.learning_rate,
            widths=args.widths,
            separable=not args.no_separable,
            limit=args.limit,
            resume=args.resume,
            seed=args.seed,
            negatives=TintedNegatives(args.tint, args.lift, args.soft_blobs, args.vivid),
            mosaic=args.mosaic,
            blurred=args.blurred,
            piece_weights=args.piece_weights,
            close_ups=args.close_ups,
            casts=args.casts,
            val_groups=args.val_groups,
            log=_log,
        )
    elif args.command == "evaluate":
        from .evaluate import evaluate as run
        from .evaluate import format_table

        results = run(
            args.data,
            args.model,
            split=args.split,
            limit=args.limit,
            every=args.every,
            thresholds=args.sweep,
            num_threads=args.threads,
            log=_log,
        )
        print(format_table(results))
        _write_json(args.json, results)
        if args.record:
            info_path = Path(results["model"]).with_suffix(".json")
            info = json.loads(info_path.read_text())
            info.setdefault("metrics", {})[args.split] = {
                method: results[method] for method in ("unet", "color")
            }
            _write_json(info_path, info)
    elif args.command == "wild":
        from .wild import benchmark, default_methods, format_wild, save_examples

        if args.examples:
            save_examples(args.data, args.examples, seed=args.seed)
        methods = default_methods(args.model, args.threads, tuple(args.methods.split(",")))
        results = benchmark(
            args.data,
            methods,
            groups=args.groups,
            seed=args.seed,
            split=args.split,
            every=args.every,
            lights=args.lights,
            log=_log,
        )
        print(format_wild(results))
        _write_json(args.json, results)
    else:
        from .export import export as run

        representative = _representative(args.data, args.size, args.calibration_images)
        metrics = json.loads(Path(args.metrics).read_text()) if args.metrics else None
        extra = json.loads(Path(args.info).read_text()) if args.info else None
        paths = run(
            args.model,
            args.out,
            name=args.name,
            size=args.size,
            representative=representative,
            variants=tuple(args.variants.split(",")),
            metrics=metrics,
            extra=extra,
            threshold=args.threshold,
        )
        for path in paths:
            _log(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
