"""The shipped skin models from scratch, in one call: every training stage, the exports
and the settings that join the two models.

The stages are the runs recorded in ``models/MODEL_CARD.md`` ("Training"): a slim UNet
trained from random weights, three fine-tunes with skin-tinted hard negatives, then
the partner model fine-tuned on synthetic groups from the main model's fp16 export.
Each stage writes its own run folder; a stage whose folder already holds a finished
run is skipped, so an interrupted recipe picks up where it stopped.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from .data import TintedNegatives
from .export import export

__all__ = ["STAGES", "Stage", "reproduce"]

DONE = "done.json"  # written into a stage's folder when its run has finished


@dataclass(frozen=True)
class Stage:
    """One training run of the recipe.

    name: its run folder. resume: the stage whose best checkpoint it starts from
    (``"<stage>:fp16"``: from that checkpoint's fp16 export, as the shipped partner was
    made), or None (random weights).
    minutes: the time budget (the learning rate's cosine decay spans it). epochs: the
    most epochs (where a recorded run was stopped by hand). options: the rest of
    :func:`.train.train`'s arguments.
    """

    name: str
    resume: str | None
    minutes: float
    epochs: int = 1000
    options: dict = field(default_factory=dict)


def _negatives(share, lift=0.0, soft=False):
    return TintedNegatives(share, lift, soft)


# The synthetic groups' people by source in the last partner stage (hands are 3 % of the
# training photos; the pasted hands were the least found).
HANDS_AND_BODIES = {"sfa": 0.5, "fasseg": 0.5, "ibtd": 1.5, "abd": 1.5, "hgr": 4.0}

STAGES = (
    Stage("slim192", None, 88),
    Stage("slim192_ft", "slim192", 16, options={"learning_rate": 3e-4, "seed": 1}),
    Stage(
        "tint_ft", "slim192_ft", 30,
        options={"learning_rate": 4e-4, "seed": 11, "negatives": _negatives(0.35)},
    ),
    Stage(
        "lift_ft", "tint_ft", 65, epochs=7,
        options={"learning_rate": 3e-4, "seed": 23, "negatives": _negatives(0.5, 0.5)},
    ),
    Stage(
        "soft_ft", "lift_ft", 70,
        options={"learning_rate": 3e-4, "seed": 29, "negatives": _negatives(0.5, 0.6, True)},
    ),
    # The partner: fine-tunes of the main model's float export (its BatchNorm folded, frozen).
    Stage(
        "groups_ft", "soft_ft:fp16", 78, epochs=6,
        options={
            "learning_rate": 3e-4, "seed": 43, "negatives": _negatives(0.5, 0.6, True),
            "mosaic": 0.4, "val_groups": 60,
        },
    ),
    Stage(
        "blur_ft", "groups_ft:fp16", 45,
        options={
            "learning_rate": 1.5e-4, "seed": 53, "negatives": _negatives(0.5, 0.6, True),
            "mosaic": 0.4, "blurred": 0.5, "val_groups": 60,
        },
    ),
    # More hands and bodies among the groups' people (session 10).
    Stage(
        "hands_ft", "blur_ft:fp16", 55,
        options={
            "learning_rate": 1.5e-4, "seed": 83, "negatives": _negatives(0.5, 0.6, True),
            "mosaic": 0.5, "blurred": 0.5, "val_groups": 60, "piece_weights": HANDS_AND_BODIES,
        },
    ),
)  # fmt: skip
MAIN_STAGE, PARTNER_STAGE = "soft_ft", "hands_ft"  # whose best checkpoints ship

MAIN, PARTNER = "skin_unet", "skin_unet_groups"
THRESHOLD = 0.55  # on each model's output, chosen on every 8th training photo
SOFT_RANGE = (0.3, 0.6)  # the mean of the two models, stretched to 0..1
GREY_SOFT_RANGE = (0.2, 0.45)  # ... on black-and-white photos, where the models are less sure
MASK_THRESHOLD = 0.5  # on the stretched mean: its midpoint, where the photos are cut
PARTNER_WEIGHT = 0.35


def _run_stage(stage: Stage, data_dir, out_dir: Path, resume, *, time_scale, overrides, log):
    from .train import train

    folder = out_dir / stage.name
    if (folder / DONE).is_file() and (folder / "best.keras").is_file():
        log(f"{stage.name}: finished before, kept")
        return folder / "best.keras"
    options = {**stage.options, **overrides}
    start = time.monotonic()
    log(f"{stage.name}: training from {resume or 'random weights'}, {stage.minutes} min")
    best = train(
        data_dir,
        folder,
        max_epochs=min(stage.epochs, overrides.get("max_epochs", stage.epochs)),
        time_budget_minutes=stage.minutes * time_scale,
        resume=resume,
        log=log,
        **{k: v for k, v in options.items() if k != "max_epochs"},
    )
    minutes = (time.monotonic() - start) / 60
    (folder / DONE).write_text(json.dumps({"minutes": round(minutes, 1)}) + "\n")
    return best


def _export(model, out_dir: Path, name: str, representative, extra_for) -> None:
    import keras

    model = keras.saving.load_model(model, compile=False)  # once for both variants
    for variant in ("int8", "fp16"):
        extra = extra_for(variant)
        threshold = extra.pop("threshold", THRESHOLD)
        export(
            model,
            out_dir,
            name=name,
            size=representative.shape[1],
            representative=representative,
            variants=(variant,),
            threshold=threshold,
            extra=extra,
        )


def reproduce(
    data_dir,
    out_dir,
    *,
    representative,
    time_scale: float = 1.0,
    overrides: dict | None = None,
    log=print,
) -> Path:
    """Train and export both shipped models; returns the folder of the four files.

    Parameters
    ----------
    data_dir : path
        The skin data folder (``manifest.csv``, ``images/``, ``masks/``).
    out_dir : path
        Run folders of the stages, ``<stage>_fp16/`` (the float exports later
        stages start from) and ``models/`` (``skin_unet_{int8,fp16}`` and
        ``skin_unet_groups_{int8,fp16}`` with their JSON files: what ``models/`` of
        the repository holds).
    representative : ndarray
        N x S x S x 3 float32 photos on [0, 1] for int8 calibration; S is the
        exported input size.
    time_scale : float
        Multiplies every stage's time budget (below 1 for a quick trial).
    overrides : dict, optional
        :func:`.train.train` arguments for every stage (e.g. ``limit``, or a smaller
        ``widths`` and ``crop_size`` for a smoke run); ``max_epochs`` caps each stage.

    Returns
    -------
    folder : Path
        ``out_dir / "models"``.
    """
    out_dir = Path(out_dir)
    overrides = dict(overrides or {})
    kwargs = {"time_scale": time_scale, "overrides": overrides, "log": log}
    checkpoints = {}
    for stage in STAGES:
        resume = stage.resume
        if resume is not None:
            name, _, variant = resume.partition(":")
            resume = checkpoints[name]
            if variant:
                folder = out_dir / f"{name}_{variant}"
                export(resume, folder, name=MAIN, variants=(variant,))
                resume = folder / f"{MAIN}_{variant}.tflite"
        checkpoints[stage.name] = _run_stage(stage, data_dir, out_dir, resume, **kwargs)
    main_best, partner_best = checkpoints[MAIN_STAGE], checkpoints[PARTNER_STAGE]

    record = {
        "recipe": "python -m skinsmooth_core.training recipe (skinsmooth_core/training/recipe.py)",
        "stages": [stage.name for stage in STAGES],
        "minutes": [_minutes(out_dir / stage.name) for stage in STAGES],
        "time_scale": time_scale,
        "overrides": {k: repr(v) for k, v in overrides.items()},
    }
    models = out_dir / "models"
    _export(
        partner_best, models, PARTNER, representative,
        lambda variant: {
            "detail": True,  # its tiles too (session 13)
            "role": f"partner of {MAIN}: its passes are averaged with {MAIN}'s "
            f"(weight {PARTNER_WEIGHT}); its threshold only picks its zoomed pass's region",
            "training": record,
        },
    )  # fmt: skip
    _export(
        main_best, models, MAIN, representative,
        lambda variant: {
            "threshold": MASK_THRESHOLD,
            "soft_range": list(SOFT_RANGE),
            "grey_soft_range": list(GREY_SOFT_RANGE),
            "partner": {"file": f"{PARTNER}_{variant}.tflite", "weight": PARTNER_WEIGHT},
            "adapt_colors": True,
            "training": record,
        },
    )  # fmt: skip
    log(f"wrote {models}: copy its files into the repository's models/ to ship them")
    return models


def _minutes(folder: Path):
    done = folder / DONE
    return json.loads(done.read_text())["minutes"] if done.is_file() else None
