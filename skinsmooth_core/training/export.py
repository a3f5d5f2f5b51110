"""Export a trained UNet to LiteRT (.tflite): full int8 with uint8 in/out, and fp16.

The inference model is rebuilt with a fixed batch of 1 and a fixed square input
before conversion (with a dynamic batch, transposed shapes are resolved at run
time and inference is several times slower). Only builtin ops are allowed. A
JSON file beside each model records its input size, preprocessing and threshold
so the predictor never guesses.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
from pathlib import Path

import numpy as np

from .model import get_unet_256

FORMAT_VERSION = 1
PREPROCESSING = {
    "color": "RGB",
    "layout": "NHWC",
    "resize": "letterbox: longest side to input_size, bilinear, centred, padded with 0",
    "scale": "pixel / 255 (the int8 model takes raw uint8 pixels)",
}


@contextlib.contextmanager
def quiet():
    """Silence the converter, which prints hundreds of lines from C++ to fd 1 and 2."""
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as null:
        try:
            os.dup2(null.fileno(), 1)
            os.dup2(null.fileno(), 2)
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def architecture(model) -> dict:
    """Widths and convolution type of a model built by :func:`get_unet_256`."""
    widths, level = [], 0
    while True:
        try:
            widths.append(model.get_layer(f"down{level}_conv0").filters)
        except ValueError:
            break
        level += 1
    widths.append(model.get_layer("centre_conv0").filters)
    separable = type(model.get_layer("centre_conv0")).__name__ == "SeparableConv2D"
    upsample = model.get_layer("up0").interpolation
    return {"widths": widths, "separable": separable, "interpolation": upsample}


def inference_model(model, size: int = 256):
    """Copy `model`'s weights into a fixed batch-1, `size` x `size` model."""
    arch = architecture(model)
    fixed = get_unet_256(size, batch_size=1, **arch)
    fixed.set_weights(model.get_weights())
    return fixed


def convert(model, variant: str, representative=None, *, verbose: bool = False) -> bytes:
    """Convert a fixed-shape Keras model to .tflite bytes.

    `variant` is "int8" (full integer, uint8 input and output; needs
    `representative`, an N x H x W x 3 float32 array on [0, 1]), "fp16" or "fp32".
    """
    import tensorflow as tf

    if variant not in ("int8", "fp16", "fp32"):
        raise ValueError(f"variant must be 'int8', 'fp16' or 'fp32', got {variant!r}")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if variant == "int8":
        if representative is None or len(representative) == 0:
            raise ValueError("int8 export needs representative images (N x H x W x 3 on [0, 1])")

        def samples():
            for image in representative:
                yield [np.asarray(image, np.float32)[None]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = samples
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    elif variant == "fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    with contextlib.nullcontext() if verbose else quiet():
        return converter.convert()


def export(
    model,
    out_dir,
    *,
    name: str = "skin_unet",
    size: int = 256,
    representative=None,
    variants=("int8", "fp16"),
    threshold: float = 0.5,
    metrics: dict | None = None,
    extra: dict | None = None,
) -> list[Path]:
    """Write ``<name>_<variant>.tflite`` and ``<name>_<variant>.json`` for each variant.

    Parameters
    ----------
    model : keras.Model or path
        A model from :func:`get_unet_256` (any input size) or a ``.keras`` file.
    out_dir : path
    size : int
        Fixed input side of the exported model.
    representative : array, optional
        N x size x size x 3 float32 images on [0, 1] for int8 calibration.
    metrics, extra : dict, optional
        Recorded in the JSON (evaluation results, training command).

    Returns
    -------
    paths : list of Path
        The written .tflite files.
    """
    import keras

    if not isinstance(model, keras.Model):
        model = keras.saving.load_model(model, compile=False)
    fixed = inference_model(model, size)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for variant in variants:
        data = convert(fixed, variant, representative)
        path = out_dir / f"{name}_{variant}.tflite"
        path.write_bytes(data)
        info = {
            "format_version": FORMAT_VERSION,
            "name": name,
            "variant": variant,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "input_size": size,
            "input_dtype": "uint8" if variant == "int8" else "float32",
            "preprocessing": PREPROCESSING,
            "output": "skin probability (sigmoid), 1 x size x size x 1",
            "threshold": threshold,
            "architecture": {**architecture(model), "parameters": int(model.count_params())},
            "file_bytes": len(data),
            "metrics": metrics or {},
            **(extra or {}),
        }
        path.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
        written.append(path)
    return written
