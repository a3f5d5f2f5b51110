"""The skin-segmentation UNet: the article's architecture and the slim shipped variant.

One builder serves both. The article's network (widths 32..1024, about 31 M
parameters) is ``get_unet_256()``; the shipped model is ``get_unet_256(**SLIM)``:
widths 16..256 with depthwise-separable convolutions after the first block,
about 0.4 M parameters, the same topology otherwise.
"""

from __future__ import annotations

ARTICLE_WIDTHS = (32, 64, 128, 256, 512, 1024)
SLIM = {"widths": (16, 32, 64, 128, 256), "separable": True}


def _conv_block(x, width, count, separable, name):
    from keras import layers

    for index in range(count):
        conv = layers.SeparableConv2D if separable else layers.Conv2D
        x = conv(width, 3, padding="same", use_bias=False, name=f"{name}_conv{index}")(x)
        x = layers.BatchNormalization(name=f"{name}_bn{index}")(x)
        x = layers.Activation("relu", name=f"{name}_relu{index}")(x)
    return x


def get_unet_256(
    input_size: int | None = 256,
    *,
    widths=ARTICLE_WIDTHS,
    separable: bool = False,
    batch_size: int | None = None,
    interpolation: str = "nearest",
):
    """Build the skin-segmentation UNet as a Keras model.

    Encoder: per level two [Conv 3x3 -> BatchNorm -> ReLU] then MaxPool 2x2;
    centre: two convolutions at the last width; decoder: UpSampling 2x,
    concatenation with the encoder level, three [Conv -> BN -> ReLU]; a final
    1x1 convolution with a sigmoid gives the skin probability.

    Parameters
    ----------
    input_size : int or None
        Side of the square input; None builds a fully convolutional model for
        any size divisible by ``2 ** (len(widths) - 1)``.
    widths : sequence of int
        Channel widths per level, the last one is the centre. The default is the
        article's (32, 64, 128, 256, 512, 1024); ``SLIM["widths"]`` is 16..256.
    separable : bool
        Use depthwise-separable convolutions everywhere after the first encoder
        block (the first block sees raw RGB, where a full convolution is cheap).
    batch_size : int or None
        Fixed batch size of the input (1 for the exported inference model).
    interpolation : {"nearest", "bilinear"}
        Up-sampling interpolation of the decoder.

    Returns
    -------
    model : keras.Model
        Input float32 RGB on [0, 1], N x H x W x 3; output N x H x W x 1 in [0, 1].

    References
    ----------
    .. [1] O. Ronneberger, P. Fischer, T. Brox, "U-Net: Convolutional Networks for
           Biomedical Image Segmentation", MICCAI 2015.
    .. [2] F. Chollet, "Xception: Deep Learning with Depthwise Separable
           Convolutions", CVPR 2017.

    Example
    -------
    >>> from skinsmooth_core.training.model import SLIM, get_unet_256
    >>> model = get_unet_256(**SLIM)
    >>> model.output_shape
    (None, 256, 256, 1)
    """
    import keras
    from keras import layers

    widths = tuple(int(w) for w in widths)
    if len(widths) < 2 or min(widths) < 1:
        raise ValueError(f"widths must hold at least 2 positive ints, got {widths}")
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
    levels = len(widths) - 1
    if input_size is not None and input_size % 2**levels:
        raise ValueError(f"input_size must be divisible by {2**levels}, got {input_size}")

    inputs = keras.Input((input_size, input_size, 3), batch_size=batch_size, name="image")
    x = inputs
    skips = []
    for level, width in enumerate(widths[:-1]):
        x = _conv_block(x, width, 2, separable and level > 0, f"down{level}")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"pool{level}")(x)
    x = _conv_block(x, widths[-1], 2, separable, "centre")
    for level in reversed(range(levels)):
        x = layers.UpSampling2D(2, interpolation=interpolation, name=f"up{level}")(x)
        x = layers.Concatenate(name=f"concat{level}")([skips[level], x])
        x = _conv_block(x, widths[level], 3, separable, f"dec{level}")
    outputs = layers.Conv2D(1, 1, activation="sigmoid", name="mask")(x)
    name = "unet_slim" if separable else "unet"
    return keras.Model(inputs, outputs, name=name)
