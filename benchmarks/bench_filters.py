"""Time each filter of skinsmooth_core.filters against OpenCV's nearest equivalent.

Usage::

    python benchmarks/bench_filters.py                 # all rows, best of 2 runs each
    python benchmarks/bench_filters.py --repeat 3 --only guided bilateral

Builds one 12 MP RGB test image (the scikit-image astronaut, mirrored and tiled
to 4000 x 3000), times every row of ``ROWS`` on it (wall clock, best of
``--repeat`` runs, ours and OpenCV in the same process, one after the other)
and prints a Markdown table: filter, our seconds, megapixels per second,
OpenCV's seconds, the ratio OpenCV / ours (> 1: we are faster), the same for
process CPU time summed over threads (less sensitive to other load on the
machine), an accuracy note and the target. The machine's load average is
printed too: timings on a shared machine are noisy, run it more than once.

To add a filter, append a ``Row`` to ``ROWS`` (see the existing ones).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from skimage import data

from skinsmooth_core.filters import (
    bilateral_filter,
    guided_filter,
    local_mean_filter,
    smart_blur,
    surface_blur,
    wls_filter,
)


@dataclass
class Row:
    """One benchmark line."""

    name: str
    ours: Callable[[np.ndarray], object]  # gets the float32 [0, 1] RGB test image
    opencv: Callable[[np.ndarray], object] | None = None  # same input; None if no equivalent
    opencv_label: str = ""
    target: str = ""
    accuracy: Callable[[np.ndarray], str] | None = None  # e.g. PSNR against an exact mode
    megapixels: float | None = None  # image size the row runs on; None: the test image


def test_image(height: int = 3000, width: int = 4000) -> np.ndarray:
    """The astronaut mirrored and tiled to height x width, float32 RGB on [0, 1]."""
    tile = data.astronaut()
    reps = (-(-height // tile.shape[0]), -(-width // tile.shape[1]))
    pad = ((0, (reps[0] - 1) * tile.shape[0]), (0, (reps[1] - 1) * tile.shape[1]), (0, 0))
    big = np.pad(tile, pad, mode="symmetric")[:height, :width]
    return (big / np.float32(255)).astype(np.float32)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - b) ** 2)))


def _crop(image: np.ndarray, size: int = 512) -> np.ndarray:
    return np.ascontiguousarray(image[:size, :size])


def _opencv_lee(image: np.ndarray, radius: int = 5, sigma: float = 0.05) -> np.ndarray:
    """Lee filter from OpenCV box filters (the nearest OpenCV equivalent)."""
    size = (2 * radius + 1, 2 * radius + 1)
    border = cv2.BORDER_REFLECT
    mean = cv2.boxFilter(image, -1, size, borderType=border)
    mean_sq = cv2.boxFilter(cv2.multiply(image, image), -1, size, borderType=border)
    var = cv2.max(cv2.subtract(mean_sq, cv2.multiply(mean, mean)), 0)
    gain = cv2.divide(var, cv2.add(var, sigma * sigma))
    return cv2.add(mean, cv2.multiply(gain, cv2.subtract(image, mean)))


def _guided_accuracy(image: np.ndarray) -> str:
    crop = _crop(image)
    exact = guided_filter(crop, radius=8, eps=1e-2)
    return f"{psnr(guided_filter(crop, radius=8, eps=1e-2, subsample=4), exact):.1f} dB vs exact"


def _bilateral_accuracy(image: np.ndarray) -> str:
    crop = _crop(image)
    exact = bilateral_filter(crop, 3.0, 0.1, mode="exact")
    return f"{psnr(bilateral_filter(crop, 3.0, 0.1, mode='separable'), exact):.1f} dB vs exact"


def _wls_iterative_accuracy(image: np.ndarray) -> str:
    image = image.astype(np.float64)
    error = np.abs(wls_filter(image) - wls_filter(image, solver="direct")).max()
    return f"max error {error:.1e} vs direct"


def _fast_global_smoother(image: np.ndarray) -> np.ndarray:
    """OpenCV's fast approximation of WLS (Min et al. 2014), lambda and sigma of its docs."""
    guide = (image * 255).astype(np.uint8)
    return cv2.ximgproc.fastGlobalSmootherFilter(guide, image, 100.0, 5.0)


def _guided_cv(image):
    return cv2.ximgproc.guidedFilter(image, image, 8, 1e-2)


ROWS: list[Row] = [
    Row(
        "guided r=8 eps=0.01 (exact)",
        lambda im: guided_filter(im, radius=8, eps=1e-2),
        _guided_cv,
        "ximgproc.guidedFilter",
        ">= 2x OpenCV",
    ),
    Row(
        "guided r=8 eps=0.01 subsample=4",
        lambda im: guided_filter(im, radius=8, eps=1e-2, subsample=4),
        _guided_cv,
        "ximgproc.guidedFilter (exact)",
        ">= 10x OpenCV",
        _guided_accuracy,
    ),
    Row(
        "local_mean r=5 sigma=0.05",
        lambda im: local_mean_filter(im, radius=5, sigma=0.05),
        _opencv_lee,
        "Lee from cv2.boxFilter",
        ">= 50 MP/s",
    ),
    Row(
        "bilateral s=3 c=0.1 (auto: separable)",
        lambda im: bilateral_filter(im, 3.0, 0.1),
        lambda im: cv2.bilateralFilter(im, 15, 0.1, 3.0),
        "bilateralFilter d=15",
        "<= OpenCV time, >= 35 dB",
        _bilateral_accuracy,
    ),
    Row(  # like for like: OpenCV's disc radius equal to ours, ceil(2 * sigma_spatial) = 6;
        # OpenCV's default border (reflect-101): passing BORDER_REFLECT makes it ~40% slower
        "bilateral s=3 c=0.1 (auto: separable), same radius",
        lambda im: bilateral_filter(im, 3.0, 0.1),
        lambda im: cv2.bilateralFilter(im, 13, 0.1, 3.0),
        "bilateralFilter d=13",
        "(same window as ours)",
    ),
    Row(
        "surface_blur r=5 t=15/255 (exact)",
        lambda im: surface_blur(im, radius=5, threshold=15 / 255),
        lambda im: cv2.bilateralFilter(im, 15, 15 / 255, 5.0),
        "bilateralFilter d=15",
        "<= 3 s",
    ),
    Row(
        "smart_blur r=5 t=25/255 (exact)",
        lambda im: smart_blur(im, radius=5, threshold=25 / 255),
        lambda im: cv2.bilateralFilter(im, 15, 25 / 255, 5.0),
        "bilateralFilter d=15",
        "<= 3 s",
    ),
    Row(
        "wls lam=1 alpha=1.2, 1 MP (auto: iterative, tol=1e-4)",
        lambda im: wls_filter(im, lam=1.0, alpha=1.2),
        _fast_global_smoother,
        "ximgproc.fastGlobalSmootherFilter (approx.)",
        "exact, <= 3 s",
        _wls_iterative_accuracy,
        megapixels=1.0,
    ),
    Row(
        "wls lam=1 alpha=1.2, 1 MP (direct)",
        lambda im: wls_filter(im, lam=1.0, alpha=1.2, solver="direct"),
        None,
        "",
        "exact, <= 3 s",
        megapixels=1.0,
    ),
]


def best_time(
    func: Callable[[np.ndarray], object], image: np.ndarray, repeat: int
) -> tuple[float, float]:
    """Best wall-clock seconds and best process CPU seconds (all threads) over `repeat` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        func(image)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2, help="runs per timing (best is kept)")
    parser.add_argument("--only", nargs="*", help="run the rows whose name contains any of these")
    parser.add_argument("--size", default="4000x3000", help="test image WIDTHxHEIGHT")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    image = test_image(height, width)
    rows = [r for r in ROWS if not args.only or any(key in r.name for key in args.only)]
    print(
        f"image {width} x {height} RGB float32, {os.cpu_count()} CPUs, "
        f"OpenCV {cv2.__version__} ({cv2.getNumThreads()} threads), numpy {np.__version__}, "
        f"load average {os.getloadavg()[0]:.1f}, best of {args.repeat}"
    )
    print()
    print(
        "| filter | ours s | MP/s | OpenCV | OpenCV s | ratio | ours CPU s | OpenCV CPU s "
        "| CPU ratio | accuracy | target |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---|---|")
    for row in rows:
        row_image = image
        if row.megapixels is not None:  # a smaller crop with the same aspect
            side = np.sqrt(row.megapixels * 1e6 / (width * height))
            row_image = np.ascontiguousarray(image[: int(height * side), : int(width * side)])
        megapixels = row_image.shape[0] * row_image.shape[1] / 1e6
        ours, ours_cpu = best_time(row.ours, row_image, args.repeat)
        theirs = ["-"] * 4
        if row.opencv is not None:
            wall, cpu = best_time(row.opencv, row_image, args.repeat)
            theirs = [f"{wall:.2f}", f"{wall / ours:.2f}x", f"{cpu:.2f}", f"{cpu / ours_cpu:.2f}x"]
        accuracy = row.accuracy(row_image) if row.accuracy else ""
        print(
            f"| {row.name} | {ours:.2f} | {megapixels / ours:.1f} | {row.opencv_label or '-'} | "
            f"{theirs[0]} | {theirs[1]} | {ours_cpu:.2f} | {theirs[2]} | {theirs[3]} | "
            f"{accuracy} | {row.target} |",
            flush=True,
        )
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
