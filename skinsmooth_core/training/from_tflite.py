"""Rebuild a trainable Keras UNet from an exported float model (``*_fp16.tflite``).

The shipped models keep no Keras checkpoint beside them, so fine-tuning the shipped
model (``train --resume models/skin_unet_fp16.tflite``) starts from its .tflite. The
converter folded each BatchNorm into the convolution before it; the rebuilt model
holds the folded weights and BatchNorm layers set to the identity plus the folded
bias, frozen (they run in inference mode), so it computes what the .tflite does.
"""

from __future__ import annotations

import numpy as np

from .model import get_unet_256

_CONVOLUTIONS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def _folded_convolutions(path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(op name, kernel, bias) of every convolution of the .tflite, in graph order."""
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(
        model_path=str(path),
        experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]
    if source["dtype"] != np.float32:
        raise ValueError(f"{path} takes {source['dtype']} input; pass the fp16 or fp32 model")
    interpreter.set_tensor(source["index"], np.zeros(source["shape"], np.float32))
    interpreter.invoke()  # the dequantized fp16 weights exist only after a run
    found = []
    for op in interpreter._get_ops_details():
        if op["op_name"] in _CONVOLUTIONS:
            _, kernel, bias = op["inputs"][:3]
            found.append(
                (
                    op["op_name"],
                    interpreter.get_tensor(kernel).astype(np.float32),
                    interpreter.get_tensor(bias).astype(np.float32),
                )
            )
    return found


def keras_from_tflite(path, *, widths=(16, 32, 64, 128, 256), separable: bool = True):
    """A Keras UNet (:func:`~.model.get_unet_256`, any input size) computing what the
    float .tflite at `path` computes, its BatchNorm layers frozen."""
    from keras import layers

    model = get_unet_256(None, widths=widths, separable=separable)
    convolutions = iter(_folded_convolutions(path))
    pending_bias = None
    for layer in model.layers:
        if isinstance(layer, layers.SeparableConv2D):
            name, depthwise, _ = next(convolutions)
            name2, pointwise, bias = next(convolutions)
            if (name, name2) != ("DEPTHWISE_CONV_2D", "CONV_2D"):
                raise ValueError(f"{path}: {layer.name} does not match {name} + {name2}")
            # tflite: depthwise (1, kh, kw, C), pointwise (out, 1, 1, C)
            layer.set_weights(
                [np.transpose(depthwise, (1, 2, 3, 0)), np.transpose(pointwise, (1, 2, 3, 0))]
            )
            pending_bias = bias
        elif isinstance(layer, layers.Conv2D):
            name, kernel, bias = next(convolutions)
            if name != "CONV_2D":
                raise ValueError(f"{path}: {layer.name} does not match {name}")
            weights = [np.transpose(kernel, (1, 2, 3, 0))]  # (out, kh, kw, in) -> (kh, kw, in, out)
            if layer.use_bias:
                weights.append(bias)
            else:
                pending_bias = bias
            layer.set_weights(weights)
        elif isinstance(layer, layers.BatchNormalization):
            width = pending_bias.shape[0]
            variance = np.full(width, 1.0 - layer.epsilon, np.float32)
            layer.set_weights([np.ones(width), pending_bias, np.zeros(width), variance])
            layer.trainable = False
            pending_bias = None
    if next(convolutions, None) is not None:
        raise ValueError(f"{path} holds more convolutions than the UNet with widths {widths}")
    return model
