"""The learned skin mask: a small UNet run with LiteRT (``ai-edge-litert``).

The model sees the whole photo letterboxed to its fixed input (256 x 256 for
the shipped model); its mask is mapped back to the photo's own resolution and
its edges are snapped to the photo's edges by a guided filter, so hair strands
and eyelashes are not smeared into the mask.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
import threading
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from .._image import check_image, check_int, from_float, split_alpha, to_float
from .._parallel import run_all
from .._resample import area_downsample
from .._resources import resource_dir
from ._color_adapt import adapt_to_colors, grey_share

__all__ = ["DEFAULT_MODEL", "SegmenterUnavailable", "SkinSegmenter", "default_segmenter"]

DEFAULT_MODEL = "skin_unet_int8.tflite"
_INSTALL_HINT = "install the runtime with `pip install ai-edge-litert`"


class SegmenterUnavailable(RuntimeError):
    """The learned skin mask cannot run: its runtime (ai-edge-litert) or model file is missing."""


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError as exc:
            raise SegmenterUnavailable(
                "the learned skin mask needs a LiteRT runtime: neither ai_edge_litert nor "
                f"tflite_runtime could be imported; {_INSTALL_HINT}"
            ) from exc
    return Interpreter


_RUNTIME_BANNER = b"INFO: Created TensorFlow Lite XNNPACK delegate"
_stderr_lock = threading.Lock()  # fd 2 is process-wide: one redirection at a time


@contextlib.contextmanager
def _without_runtime_banner():
    """Drop the line LiteRT's native code prints on standard error (fd 2) when it
    loads a model; anything else written there meanwhile is passed on."""
    with _stderr_lock:
        try:
            capture = tempfile.TemporaryFile()
            saved = os.dup(2)
        except OSError:  # no standard error or temporary file: leave fd 2 alone
            yield
            return
        with capture:
            os.dup2(capture.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                capture.seek(0)
                lines = capture.read().splitlines(True)
                kept = [line for line in lines if not line.startswith(_RUNTIME_BANNER)]
                if kept:
                    os.write(2, b"".join(kept))


def letterbox(rgb: np.ndarray, size: int):
    """Fit an H x W x 3 uint8 image into `size` x `size`, keeping its aspect, padding with 0.

    Returns the canvas and the box ``(top, left, height, width)`` the photo occupies.
    """
    height, width = rgb.shape[:2]
    scale = size / max(height, width)
    new_h = min(size, max(1, round(height * scale)))
    new_w = min(size, max(1, round(width * scale)))
    resized = np.asarray(Image.fromarray(rgb).resize((new_w, new_h), Image.BILINEAR))
    top, left = (size - new_h) // 2, (size - new_w) // 2
    canvas = np.zeros((size, size, 3), np.uint8)
    canvas[top : top + new_h, left : left + new_w] = resized
    return canvas, (top, left, new_h, new_w)


_WORK_INPUTS = 3  # the reduced copy every pass reads: at most this many model inputs across
_DETAIL_FROM = 1.5  # tiles only when the photo is at least this many model inputs across
_DETAIL_WEIGHT = 0.5  # the tiles' share in the mean with the whole-photo pass
_TILE_OVERLAP = 0.25  # of a tile's side, shared with its neighbour
_TILES_ALONE_MAX = 0.02  # of the photo: a larger region that only the tiles see is not skin
# a black-and-white photo: this share of its pixels grey (colour photos: 0.87 at most)
GREY_PHOTO = 0.95
_FEATHER = 5  # pixels of the reduced photo over which the tiles' share fades out there


def _fuse(whole: np.ndarray, tiles: np.ndarray) -> np.ndarray:
    """The mean of the whole-photo pass and the tiles, without the tiles' large false skin.

    The tiles see small people the whole photo misses, but without the whole photo's
    context they also see faint skin in walls and clothes: neither pass alone decides.
    (Raising the whole pass to the tiles' sure answers instead found more small people
    but let in more of the tiles' false skin: lower F1 on the wild benchmark.)
    Small people are small: where the tiles alone (above 0.5, the whole pass under
    0.3) see one connected region larger than ``_TILES_ALONE_MAX`` of the photo, a
    shirt or a wall seen close up, the whole pass stands alone, feathered over a few
    pixels so that no seam shows.
    """
    mean = (1 - _DETAIL_WEIGHT) * whole + _DETAIL_WEIGHT * tiles
    labels, count = ndi.label((tiles > 0.5) & (whole < 0.3))
    if count == 0:
        return mean
    large = np.bincount(labels.ravel()) > _TILES_ALONE_MAX * whole.size
    large[0] = False
    if not large.any():
        return mean
    # Grown by the feather's reach first, so the whole region keeps the whole pass.
    off = ndi.maximum_filter(large[labels].astype(np.float32), size=_FEATHER)
    keep = ndi.uniform_filter(off, size=_FEATHER)
    return mean + keep * (whole - mean)


def _shrink(rgb: np.ndarray, side: int) -> np.ndarray:
    """`rgb` reduced so its longer side is at most `side`: block means over whole blocks
    (compiled, in bands), then bilinear with antialiasing for the rest."""
    height, width = rgb.shape[:2]
    if max(height, width) <= side:
        return rgb
    factor = max(height, width) // side
    if factor >= 2:
        rgb = area_downsample(rgb, factor, 1.0)
        rgb = np.clip(rgb + np.float32(0.5), 0, 255).astype(np.uint8)
        height, width = rgb.shape[:2]
        if max(height, width) <= side:
            return rgb
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.BILINEAR))


def _tile_boxes(height: int, width: int):
    """Overlapping tiles, 2 along the shorter side and about square."""
    short = min(height, width)
    along = max(2, round(2 * max(height, width) / short))
    counts = (2, along) if height <= width else (along, 2)
    spans = []
    for length, count in zip((height, width), counts, strict=True):
        step = length / (count - (count - 1) * _TILE_OVERLAP)
        starts = [round(i * step * (1 - _TILE_OVERLAP)) for i in range(count)]
        spans.append([slice(s, min(length, round(s + step))) for s in starts])
    return [(rows, cols) for rows in spans[0] for cols in spans[1]]


def _edge_ramp(span: slice, length: int) -> np.ndarray:
    """Blend weights along one side of a tile: rising over the overlap from each edge
    that lies inside the photo, 1 at the photo's own borders."""
    size = span.stop - span.start
    reach = max(1.0, _TILE_OVERLAP * size)
    position = np.arange(size, dtype=np.float32) + 0.5
    ramp = np.ones(size, np.float32)
    if span.start > 0:
        ramp = np.minimum(ramp, position / reach)
    if span.stop < length:
        ramp = np.minimum(ramp, (size - position) / reach)
    return np.maximum(ramp, 1e-3)


def _resize_float(values: np.ndarray, height: int, width: int) -> np.ndarray:
    if values.shape == (height, width):
        return values.astype(np.float32, copy=False)
    image = Image.fromarray(np.ascontiguousarray(values, dtype=np.float32), mode="F")
    return np.asarray(image.resize((width, height), Image.BILINEAR), dtype=np.float32)


class SkinSegmenter:
    """Skin segmentation with the shipped UNet (or another exported model).

    Parameters
    ----------
    model_path : path, optional
        A ``.tflite`` file written by ``python -m skinsmooth_core.training export``.
        Default: the model shipped with the package (``models/skin_unet_int8.tflite``).
        A JSON file of the same name beside it records input size, threshold and
        ``soft_range``: the model outputs stretched to [0, 1] (default: none), so
        that sure skin gets the full effect of a blend that uses the soft mask, and
        ``grey_soft_range``, the stretch of black-and-white photos (default: the same).
        It may also name a ``partner`` model in the same folder,
        ``{"file": "<name>.tflite", "weight": w}`` with 0 < w < 1: both models
        run and the mask is their weighted mean (the partner's share `w`),
        stretched and thresholded with this JSON's settings.
    num_threads : int, optional
        CPU threads of the inference, >= 1. Default: ``min(4, os.cpu_count())``.
        With a partner model that runs the same passes (both on tiles or neither)
        and 2 or more threads, the two models run side by side, each on its half
        of them (the larger half for the main model): their inferences keep both
        halves busy while the other runs its numpy steps. The mask is the same
        either way.

    Attributes
    ----------
    partner_path : Path or None
        The partner model's file, if the JSON names one.
    partner_weight : float
        Its share of the mean (0 without a partner).

    Raises
    ------
    SegmenterUnavailable
        If no LiteRT runtime is installed (``pip install ai-edge-litert``), or the
        model file is missing or cannot be loaded.
    ValueError
        If `num_threads` is not a positive integer.

    Notes
    -----
    Load it once and reuse it (:func:`default_segmenter` keeps one per
    process); :meth:`predict` is safe to call from several threads.

    The shipped model's partner (``skin_unet_groups``) was fine-tuned on
    synthetic group photos: it finds small people the main model misses, and
    the main model keeps out the faint false skin the partner sees in walls and
    clothes (``models/MODEL_CARD.md``, "Photos in the wild"). The partner runs
    on the whole photo, its mirror image, its own zoomed pass and, as its JSON's
    ``detail`` says, its own tiles; its JSON's threshold only picks the region
    of that zoomed pass.

    References
    ----------
    .. [1] O. Ronneberger, P. Fischer and T. Brox, "U-Net: Convolutional
           networks for biomedical image segmentation", MICCAI 2015.
    .. [2] K. He, J. Sun and X. Tang, "Guided Image Filtering", IEEE TPAMI
           35(6):1397-1409, 2013.

    Examples
    --------
    >>> from skimage import data
    >>> segmenter = SkinSegmenter(num_threads=2)
    >>> mask = segmenter.predict(data.astronaut())
    >>> mask.shape, mask.dtype
    ((512, 512), dtype('float32'))
    """

    def __init__(self, model_path=None, num_threads=None):
        if num_threads is None:
            num_threads = min(4, os.cpu_count() or 1)
        self.num_threads = check_int(num_threads, "num_threads", minimum=1)
        if model_path is None:
            try:
                model_path = resource_dir("models") / DEFAULT_MODEL
            except FileNotFoundError as exc:
                raise SegmenterUnavailable(f"the shipped skin model is missing: {exc}") from exc
        self._load(Path(model_path))
        self._partner, self.partner_weight = self._load_partner()

    def _load(self, model_path: Path, threads: int | None = None):
        """Read the model file, its JSON and the settings the JSON records, and make an
        interpreter with `threads` (default: all, or the main model's half of them when
        the JSON names a partner: the one the side-by-side runs use, see predict)."""
        self.model_path = model_path
        if not self.model_path.is_file():
            raise SegmenterUnavailable(
                f"skin model file not found: {self.model_path}; pass model_path= an exported "
                ".tflite file, or reinstall skinsmooth, which ships the default model"
            )
        info_path = self.model_path.with_suffix(".json")
        self.info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        self._lock = threading.Lock()
        self._interpreters = {}  # thread count -> the model's interpreter with them
        if threads is None:
            threads = self._halves()[0] if "partner" in self.info else self.num_threads
        interpreter, _ = self._interpreter(threads)
        self._input = interpreter.get_input_details()[0]
        self._output = interpreter.get_output_details()[0]
        shape = tuple(self._input["shape"])
        if len(shape) != 4 or shape[0] != 1 or shape[1] != shape[2] or shape[3] != 3:
            raise SegmenterUnavailable(
                f"{self.model_path} takes input of shape {shape}; expected 1 x S x S x 3"
            )
        self.input_size = int(shape[1])
        self.threshold = float(self.info.get("threshold", 0.5))
        # The model's outputs from `low` up to `high` are stretched to [0, 1] (clipped), so
        # sure skin gets the full effect in a soft blend; the threshold is the stretched one.
        self.soft_range = tuple(float(v) for v in self.info.get("soft_range", (0.0, 1.0)))
        # Black-and-white photos (GREY_PHOTO of their pixels grey): the models, which lean on
        # colour, are less sure of their skin, so their outputs are stretched from lower.
        grey_range = self.info.get("grey_soft_range")
        self.grey_soft_range = (
            self.soft_range if grey_range is None else tuple(float(v) for v in grey_range)
        )
        # Whether predict runs the tiles by default: the model's own choice (see predict).
        self.detail = bool(self.info.get("detail", True))
        # Whether predict adapts the mask to the photo's colours by default (see predict).
        self.adapt_colors = bool(self.info.get("adapt_colors", False))
        for key, (low, high) in (
            ("soft_range", self.soft_range),
            ("grey_soft_range", self.grey_soft_range),
        ):
            if not 0.0 <= low < high <= 1.0:
                raise SegmenterUnavailable(
                    f"{info_path} gives {key} {[low, high]}; expected 0 <= low < high <= 1"
                )

    def _interpreter(self, threads: int):
        """The model's interpreter with `threads` CPU threads, made on first use (the
        runs one after the other of a segmenter with a partner use another one)."""
        with self._lock:
            if threads not in self._interpreters:
                try:
                    with _without_runtime_banner():
                        interpreter = _interpreter_class()(
                            model_path=str(self.model_path), num_threads=threads
                        )
                        interpreter.allocate_tensors()
                except Exception as exc:  # the runtimes raise ValueError or RuntimeError
                    raise SegmenterUnavailable(
                        f"could not load the skin model {self.model_path} ({exc}); if the "
                        f"runtime is tflite-runtime with numpy 2, {_INSTALL_HINT}"
                    ) from exc
                self._interpreters[threads] = interpreter, threading.Lock()
            return self._interpreters[threads]

    def _halves(self):
        """The threads of the main model and of the partner when they run side by side."""
        return -(-self.num_threads // 2), max(1, self.num_threads // 2)

    def _load_partner(self):
        """The partner model the JSON names, if any, and its share of the mean."""
        spec = self.info.get("partner")
        if spec is None:
            return None, 0.0
        weight = spec.get("weight") if isinstance(spec, dict) else None
        name = spec.get("file") if isinstance(spec, dict) else None
        if not isinstance(name, str) or not isinstance(weight, int | float) or not 0 < weight < 1:
            raise SegmenterUnavailable(
                f"{self.model_path.with_suffix('.json')} gives partner {spec!r}; expected "
                '{"file": "<model>.tflite" in the same folder, "weight": a number in (0, 1)}'
            )
        partner = object.__new__(SkinSegmenter)
        partner.num_threads = self.num_threads
        partner._load(self.model_path.parent / name, self._halves()[1])
        if "partner" in partner.info:
            raise SegmenterUnavailable(
                f"the partner model {partner.model_path} names a partner of its own; "
                "only one level is supported"
            )
        return partner, float(weight)

    def __repr__(self):
        return f"SkinSegmenter(model_path={str(self.model_path)!r}, num_threads={self.num_threads})"

    @property
    def partner_path(self) -> Path | None:
        """The partner model's file (see the class notes), or None."""
        return None if self._partner is None else self._partner.model_path

    def _run(self, canvas: np.ndarray, threads: int | None = None) -> np.ndarray:
        """Model output for one S x S x 3 uint8 canvas, as float probabilities S x S, from
        the interpreter with `threads` (default: all of the segmenter's)."""
        dtype = self._input["dtype"]
        if dtype == np.float32:
            x = canvas.astype(np.float32) * np.float32(1 / 255)
        else:
            scale, zero = self._input["quantization"]
            x = np.rint(canvas.astype(np.float32) / (255 * scale) + zero)
            info = np.iinfo(dtype)
            x = np.clip(x, info.min, info.max).astype(dtype)
        interpreter, lock = self._interpreter(threads or self.num_threads)
        with lock:
            interpreter.set_tensor(self._input["index"], x[None])
            interpreter.invoke()
            y = interpreter.get_tensor(self._output["index"])[0, :, :, 0]
        if y.dtype != np.float32:
            scale, zero = self._output["quantization"]
            y = (y.astype(np.float32) - zero) * np.float32(scale)
        return np.clip(y, 0.0, 1.0)

    @staticmethod
    def _rgb8(image: np.ndarray) -> np.ndarray:
        colour, _ = split_alpha(image)
        if colour.dtype != np.uint8:
            colour = from_float(to_float(colour), np.uint8)
        if colour.shape[2] == 1:
            colour = np.repeat(colour, 3, axis=2)
        return np.ascontiguousarray(colour)

    def predict(
        self,
        image,
        *,
        refine: bool = True,
        zoom: bool = True,
        flip: bool = True,
        detail: bool | None = None,
        adapt: bool | None = None,
    ) -> np.ndarray:
        """Skin probability of every pixel of `image`.

        Parameters
        ----------
        image : ndarray, shape (H, W) or (H, W, C), C = 1, 3 or 4
            Any size and aspect ratio; grey, RGB or RGBA (alpha ignored);
            uint8, uint16, float32 or float64 (floats on [0, 1]).
        refine : bool, optional
            Snap the up-sampled mask to the photo's edges with a guided filter
            (default). False returns the plain bilinear up-sampling.
        zoom : bool, optional
            When the people found fill only a small part of the photo (a
            full-body shot, a small group), run another pass on the region
            around them at a higher resolution (default).
        flip : bool, optional
            Average the model's output over the whole photo with its output on
            the mirror image (default; about half a point of F1 more).
        detail : bool, optional
            Also run the model on overlapping tiles of the photo (2 along its
            shorter side), which sees people twice as large, and blend the
            tiles and the whole-photo pass with weights that fade out towards
            each tile's inner edges, so there are no seams (the partner model,
            if any, runs its tiles as its own JSON says). Default: the model's JSON ``detail``
            (true if absent). It helps the shipped model,
            trained on whole photos, find small people in groups; a model
            trained on synthetic groups may do better without it (see
            ``models/MODEL_CARD.md``, "Photos in the wild").
        adapt : bool, optional
            Move each pixel's log-odds by how much its colour is that of the skin the
            models are sure of rather than the rest of this photo (a colour histogram of
            each, learned from the mask itself), so that skin the models are unsure of,
            such as a close-up cut by the frame or a hand, follows the colour of the faces
            found. Default: the model's JSON ``adapt_colors`` (false if absent).

        Returns
        -------
        mask : ndarray of float32, shape (H, W)
            Values in [0, 1]; ``mask > segmenter.threshold`` is the binary mask.

        Raises
        ------
        ValueError
            If `image` is not a valid image.
        """
        image = check_image(image)
        rgb = self._rgb8(image)
        # Every pass reads one reduced copy of the photo (at most 3 model inputs across).
        work = _shrink(rgb, _WORK_INPUTS * self.input_size)
        if self._partner is None:
            mask, finest = self._passes(rgb, work, flip=flip, zoom=zoom, detail=detail)
        else:
            (mask, finest), (other, other_finest) = self._both_passes(
                rgb, work, self._partner, flip=flip, zoom=zoom, detail=detail
            )
            mask = (1 - self.partner_weight) * mask + self.partner_weight * other
            finest = min(finest, other_finest)
        return self._finish(mask, rgb, work, finest, refine=refine, adapt=adapt)

    def _finish(self, mask, rgb, work, finest, *, refine=True, soft_range=None, adapt=None):
        """The mean mask of `work` stretched by `soft_range` (default: the JSON's, its
        ``grey_soft_range`` for a black-and-white photo), adapted to `work`'s colours
        (default: as the JSON says) and mapped back to `rgb`'s size (refined by its edges,
        or plain bilinear)."""
        height, width = rgb.shape[:2]
        if soft_range is None:
            grey = self.grey_soft_range != self.soft_range and grey_share(work) >= GREY_PHOTO
            soft_range = self.grey_soft_range if grey else self.soft_range
        low, high = soft_range
        if (low, high) != (0.0, 1.0):
            mask = np.clip((mask - np.float32(low)) * np.float32(1 / (high - low)), 0.0, 1.0)
        if self.adapt_colors if adapt is None else adapt:
            mask = adapt_to_colors(mask, work)
        factor = max(height, width) / max(work.shape[:2]) * finest
        if refine and factor > 1.5 and min(height, width) >= 8:
            mask = self._refine(mask, rgb, factor)
        else:
            mask = _resize_float(mask, height, width)
        # In place where it can (a new 12 MP array costs more than the clip): every step above
        # made a new array, Pillow's resize a read-only one.
        mask = np.asarray(mask, dtype=np.float32)
        out = mask if mask.flags.writeable else None
        return np.clip(mask, np.float32(0), np.float32(1), out=out)

    def _both_passes(self, rgb, work, partner, *, flip=True, zoom=True, detail=None):
        """:meth:`_passes` of this model and of `partner`: side by side, each on its half
        of the threads, when they run the same passes (both on tiles or neither) and there
        are 2 or more threads; else one after the other on all of them."""
        own = functools.partial(self._passes, rgb, work, flip=flip, zoom=zoom, detail=detail)
        theirs = functools.partial(partner._passes, rgb, work, flip=flip, zoom=zoom)
        if self.num_threads > 1 and partner.detail == (self.detail if detail is None else detail):
            halves = self._halves()
            return run_all(
                [functools.partial(own, threads=halves[0]),
                 functools.partial(theirs, threads=halves[1])]
            )  # fmt: skip
        return [own(), theirs()]

    def _passes(self, rgb, work, *, flip=True, zoom=True, detail=None, threads=None):
        """This model's mask of `work` (the reduced copy of `rgb`) before the stretch:
        the whole photo, the tiles and the zoomed region (inferences on `threads`, see
        :meth:`_run`). Returns it and the finest scale seen, in work pixels per model
        pixel."""
        size = self.input_size
        mask = self._predict_region(work, flip, threads=threads)
        finest = max(work.shape[:2]) / size
        if detail is None:
            detail = self.detail
        if detail and max(work.shape[:2]) >= _DETAIL_FROM * size:
            tiles, finest = self._predict_tiles(work, threads)
            mask = _fuse(mask, tiles)
        if zoom:
            region = self._zoom_region(mask, finest)
            if region is not None:
                rows, cols = region
                scale = rgb.shape[0] / work.shape[0]
                full = (
                    slice(int(rows.start * scale), int(np.ceil(rows.stop * scale))),
                    slice(int(cols.start * scale), int(np.ceil(cols.stop * scale))),
                )
                shape = (rows.stop - rows.start, cols.stop - cols.start)
                mask[rows, cols] = self._predict_region(rgb[full], flip, shape, threads)
        return mask, finest

    def _predict_region(self, rgb: np.ndarray, flip: bool, shape=None, threads=None):
        """The model's mask of a whole letterboxed photo, bilinearly resized to `shape`
        (default: the photo's)."""
        canvas, (top, left, box_h, box_w) = letterbox(rgb, self.input_size)
        low = self._run(canvas, threads)
        if flip:
            mirror = self._run(np.ascontiguousarray(canvas[:, ::-1]), threads)
            low = 0.5 * (low + mirror[:, ::-1])
        low = low[top : top + box_h, left : left + box_w]
        return _resize_float(low, *(shape or rgb.shape[:2])).copy()

    def _predict_tiles(self, rgb: np.ndarray, threads=None):
        """The model's mask from overlapping tiles, each seen at the model's input size,
        blended with weights that ramp up from each tile's inner edges. Returns the
        mask and the tiles' size in pixels per model pixel."""
        height, width = rgb.shape[:2]
        total = np.zeros((height, width), np.float32)
        weight = np.zeros((height, width), np.float32)
        finest = 0.0
        for rows, cols in _tile_boxes(height, width):
            tile = rgb[rows, cols]
            finest = max(finest, max(tile.shape[:2]) / self.input_size)
            prob = self._predict_region(tile, False, threads=threads)
            ramp = np.outer(_edge_ramp(rows, height), _edge_ramp(cols, width))
            total[rows, cols] += ramp * prob
            weight[rows, cols] += ramp
        return total / np.maximum(weight, 1e-6), finest

    def _zoom_region(self, mask: np.ndarray, finest: float):
        """Slices of the area around the skin found, if a pass over it alone sees it at a
        higher resolution than the passes so far (`finest` pixels per model pixel)."""
        low, high = self.soft_range
        skin = mask > low + self.threshold * (high - low)  # the threshold on model outputs
        rows = np.flatnonzero(skin.any(axis=1))
        cols = np.flatnonzero(skin.any(axis=0))
        if rows.size == 0:
            return None
        longest = max(mask.shape)
        side = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
        margin = 0.25 * side + 0.03 * longest
        zoomed = side + 2 * margin
        if zoomed > 0.6 * longest or zoomed / self.input_size > 0.75 * finest:
            return None
        r0, r1 = int(max(0, rows[0] - margin)), int(min(mask.shape[0], rows[-1] + 1 + margin))
        c0, c1 = int(max(0, cols[0] - margin)), int(min(mask.shape[1], cols[-1] + 1 + margin))
        return slice(r0, r1), slice(c0, c1)

    @staticmethod
    def _refine(mask: np.ndarray, rgb: np.ndarray, factor: float) -> np.ndarray:
        """`mask` (any size) at `rgb`'s size, snapped to its edges by a guided filter
        whose coefficients are fitted at about the model's resolution (`factor` photo
        pixels per model pixel), from the mask at that size: no full-size float copy of
        the mask or the photo."""
        from ..filters import guided_upsample

        height, width = rgb.shape[:2]
        # Window of about two model pixels; coefficients fitted at about model resolution.
        radius = int(min(max(2, round(2 * factor)), min(height, width) // 2))
        subsample = int(max(1, min(round(factor), radius // 2)))
        low = _resize_float(mask, -(-height // subsample), -(-width // subsample))
        return guided_upsample(low, rgb, radius=radius, eps=1e-3, factor=subsample)


@functools.lru_cache(maxsize=1)
def default_segmenter() -> SkinSegmenter:
    """The process-wide :class:`SkinSegmenter` with the shipped model, loaded on first use.

    Raises
    ------
    SegmenterUnavailable
        If the runtime or the model is missing (nothing is cached then; a later
        call tries again).
    """
    return SkinSegmenter()
