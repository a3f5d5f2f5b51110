"""Smoke test of the training path: a tiny UNet, a few steps, export, LiteRT matches Keras.

Uses a handful of the real labelled photos when the shared data folder is
present (``SKINSMOOTH_SKIN_DATA`` or ``../shared/data/skin``), otherwise builds
the same layout from scikit-image's sample photos, so it runs in CI too.
Needs the ``[train]`` extra (TensorFlow); takes well under a minute.
"""

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

pytest.importorskip("tensorflow")
pytest.importorskip("keras")

from skinsmooth_core.masks.segmenter import SkinSegmenter, letterbox  # noqa: E402
from skinsmooth_core.training.data import load_split  # noqa: E402
from skinsmooth_core.training.export import export, inference_model  # noqa: E402
from skinsmooth_core.training.model import SLIM, get_unet_256  # noqa: E402
from skinsmooth_core.training.train import train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = [os.environ.get("SKINSMOOTH_SKIN_DATA", "")]
CANDIDATES += [parent / "shared/data/skin" for parent in ROOT.parents]
SHARED = next((Path(c) for c in CANDIDATES if c and (Path(c) / "manifest.csv").is_file()), Path())
TINY = {"widths": (4, 8, 16), "separable": True}


def _copy_real(target: Path, per_source: int = 2) -> None:
    with open(SHARED / "manifest.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    kept, seen = [], {}
    for row in rows:
        key = (row["source"], row["split"])
        if seen.get(key, 0) < per_source:
            seen[key] = seen.get(key, 0) + 1
            kept.append(row)
    for row in kept:
        for folder, ext in (("images", "jpg"), ("masks", "png")):
            shutil.copy(SHARED / folder / f"{row['id']}.{ext}", target / folder)
    with open(target / "manifest.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)


def _make_synthetic(target: Path) -> None:
    """The sample portrait with a hand-drawn face ellipse as skin, hair/collar ignored."""
    photo = data.astronaut()
    rows_, cols = np.mgrid[: photo.shape[0], : photo.shape[1]]
    face = ((rows_ - 125) / 75.0) ** 2 + ((cols - 225) / 50.0) ** 2 <= 1
    border = (((rows_ - 125) / 90.0) ** 2 + ((cols - 225) / 62.0) ** 2 <= 1) & ~face
    mask = np.where(face, 255, np.where(border, 128, 0)).astype(np.uint8)
    rows = []
    for index, (split, flip) in enumerate([("train", False), ("train", True), ("val", False)]):
        name = f"astro_{index}"
        image, label = (photo[:, ::-1], mask[:, ::-1]) if flip else (photo, mask)
        Image.fromarray(np.ascontiguousarray(image)).save(target / "images" / f"{name}.jpg")
        Image.fromarray(np.ascontiguousarray(label)).save(target / "masks" / f"{name}.png")
        rows.append({"id": name, "source": "astro", "split": split})
    with open(target / "manifest.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "source", "split"])
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("skin")
    (target / "images").mkdir()
    (target / "masks").mkdir()
    if (SHARED / "manifest.csv").is_file():
        _copy_real(target)
    else:
        _make_synthetic(target)
    return target


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    best = train(
        dataset,
        out,
        crop_size=64,
        batch_size=4,
        steps_per_epoch=4,
        max_epochs=2,
        val_size=64,
        log=lambda message: None,
        **TINY,
    )
    return best, out


def test_unet_builder_article_and_slim_share_topology():
    article = get_unet_256()
    slim = get_unet_256(**SLIM)
    assert article.output_shape == slim.output_shape == (None, 256, 256, 1)
    assert 30e6 < article.count_params() < 36e6  # the article prints about 31 M
    assert slim.count_params() < 0.5e6
    decoder = [layer.name for layer in article.layers if layer.name.startswith("dec0_conv")]
    assert decoder == ["dec0_conv0", "dec0_conv1", "dec0_conv2"]
    with pytest.raises(ValueError, match="divisible"):
        get_unet_256(100)


def test_augmented_batches_keep_labels_aligned(dataset):
    from skinsmooth_core.training.sampler import BatchSampler

    samples = load_split(dataset, "train")
    x, y = BatchSampler(samples, 64, 6, seed=1).batch()
    assert x.shape == (6, 64, 64, 3) and y.shape == (6, 64, 64, 2)
    assert x.dtype == y.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 1
    assert set(np.unique(y)) <= {0.0, 1.0}
    assert np.all(y[..., 0] <= y[..., 1])  # skin is never an ignored pixel


def test_train_export_and_litert_matches_keras(trained, dataset, tmp_path):
    import keras

    best, out = trained
    lines = (out / "log.csv").read_text().splitlines()
    assert len(lines) == 3 and lines[0].startswith("epoch,")
    model = keras.saving.load_model(best, compile=False)

    photos = [s.image for s in load_split(dataset, "val")]
    canvases = np.stack([letterbox(p, 64)[0] for p in photos]).astype(np.float32) / 255
    paths = export(model, tmp_path, name="tiny", size=64, representative=canvases)
    assert [p.name for p in paths] == ["tiny_int8.tflite", "tiny_fp16.tflite"]

    fixed = inference_model(model, 64)
    for path in paths:
        segmenter = SkinSegmenter(path, num_threads=1)
        assert segmenter.input_size == 64
        assert segmenter.info["input_dtype"] == ("uint8" if "int8" in path.name else "float32")
        for canvas in canvases:
            expected = fixed(canvas[None], training=False).numpy()[0, :, :, 0]
            got = segmenter._run(np.rint(canvas * 255).astype(np.uint8))
            error = np.abs(got - expected)
            # Export fidelity, not a rounding tolerance. fp16 rounds weights and biases to
            # binary16 (relative 2**-11) and computes in float32; int8 quantises every
            # activation with its calibrated step and the output with a step of 1/256. Carried
            # through the 13 layers with |weights| (interval propagation), even the fp16
            # rounding alone gives a bound above 1, the whole output range: no useful a priori
            # bound exists. So these are acceptance limits, far above what an export gives
            # (about 1e-5 for fp16; a mean of 0.1 and a 99th percentile of 0.5 output steps
            # for int8) and above float32's CPU-to-CPU differences by more still.
            if "fp16" in path.name:
                assert error.max() < 2e-2
            else:  # about 8 and 26 output steps
                assert error.mean() < 3e-2 and np.quantile(error, 0.99) < 0.1
        mask = segmenter.predict(photos[0])
        assert mask.shape == photos[0].shape[:2] and mask.dtype == np.float32


def test_fine_tuning_starts_from_the_exported_model(trained, dataset, tmp_path):
    """keras_from_tflite rebuilds the float export with its BatchNorm folded and frozen."""
    import keras

    from skinsmooth_core.training.from_tflite import keras_from_tflite

    best, _ = trained
    model = keras.saving.load_model(best, compile=False)
    photos = [s.image for s in load_split(dataset, "val")]
    canvases = np.stack([letterbox(p, 64)[0] for p in photos]).astype(np.float32) / 255
    (fp32,) = export(model, tmp_path, name="tiny", size=64, variants=("fp32",))
    rebuilt = keras_from_tflite(fp32, **TINY)
    batch_norms = [
        layer for layer in rebuilt.layers if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert batch_norms and not any(layer.trainable for layer in batch_norms)
    expected = inference_model(model, 64)(canvases, training=False).numpy()
    got = rebuilt(canvases, training=False).numpy()
    # The same function with the BatchNorm folded into the convolutions: float32 sums in
    # another order (and a folded scale), about 1e-6 here; a misplaced kernel axis or bias
    # changes outputs by more than 0.1. An acceptance limit, as in the export test above.
    assert np.abs(got - expected).max() < 1e-3
    (int8,) = export(model, tmp_path, name="tiny", size=64, representative=canvases,
                     variants=("int8",))  # fmt: skip
    with pytest.raises(ValueError, match="fp16 or fp32"):
        keras_from_tflite(int8, **TINY)


def test_recipe_trains_and_exports_both_models(dataset, tmp_path):
    """The one-command recipe at toy scale: every stage, the partner wiring, resumption."""
    from skinsmooth_core.training.recipe import DONE, STAGES, reproduce

    photos = [s.image for s in load_split(dataset, "train")]
    canvases = np.stack([letterbox(p, 64)[0] for p in photos]).astype(np.float32) / 255
    overrides = {
        **TINY, "crop_size": 64, "batch_size": 4, "steps_per_epoch": 2, "max_epochs": 1,
        "val_size": 64, "val_groups": 2,
    }  # fmt: skip
    messages = []
    models = reproduce(
        dataset, tmp_path, representative=canvases, overrides=overrides, log=messages.append
    )
    stages = STAGES
    for stage in stages:
        lines = (tmp_path / stage.name / "log.csv").read_text().splitlines()
        assert len(lines) == 2  # the header and the one epoch allowed
        assert (tmp_path / stage.name / DONE).is_file()
    # Each fine-tune starts from the stage before it; the partner from the main model's export.
    configs = {s.name: json.loads((tmp_path / s.name / "config.json").read_text()) for s in stages}
    assert configs["slim192"]["resume"] is None
    assert configs["soft_ft"]["resume"] == str(tmp_path / "lift_ft" / "best.keras")
    assert configs["groups_ft"]["resume"] == str(
        tmp_path / "soft_ft_fp16" / "skin_unet_fp16.tflite"
    )
    assert configs["blur_ft"]["resume"] == str(
        tmp_path / "groups_ft_fp16" / "skin_unet_fp16.tflite"
    )
    assert configs["hands_ft"]["resume"] == str(tmp_path / "blur_ft_fp16" / "skin_unet_fp16.tflite")
    assert configs["hands_ft"]["piece_weights"]["hgr"] == 4.0
    assert configs["blur_ft"]["piece_weights"] is None
    assert configs["groups_ft"]["mosaic"] == 0.4 and configs["groups_ft"]["val_groups"] == 2
    assert configs["blur_ft"]["blurred"] == 0.5 and configs["groups_ft"]["blurred"] == 0
    assert configs["soft_ft"]["negatives"] == {"share": 0.5, "lift": 0.6, "soft": True, "vivid": 0}

    for variant in ("int8", "fp16"):
        segmenter = SkinSegmenter(models / f"skin_unet_{variant}.tflite", num_threads=1)
        assert segmenter.partner_path == models / f"skin_unet_groups_{variant}.tflite"
        assert segmenter.partner_weight == 0.35 and segmenter.soft_range == (0.3, 0.6)
        assert segmenter.threshold == 0.5 and segmenter.adapt_colors is True
        assert segmenter.grey_soft_range == (0.2, 0.45)
        assert segmenter._partner.detail is True
        mask = segmenter.predict(photos[0])
        assert mask.shape == photos[0].shape[:2] and mask.dtype == np.float32

    # Run again: every finished stage is kept, not trained anew.
    messages.clear()
    reproduce(dataset, tmp_path, representative=canvases, overrides=overrides, log=messages.append)
    kept = [m for m in messages if m.endswith("finished before, kept")]
    assert len(kept) == len(stages)
