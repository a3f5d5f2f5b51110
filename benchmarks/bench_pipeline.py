"""Whole-pipeline benchmark: smooth_skin against an OpenCV beauty filter on a 12 MP photo.

Each method runs in its own subprocess (so peak memory is its own): one
warm-up call, then the best and median of ``--repeat`` timed calls (wall
clock, and the process CPU time summed over threads, which is less sensitive
to other load on the machine), and the peak resident memory during the calls
(Linux ``VmHWM`` after resetting it through ``/proc/self/clear_refs``) next to
the memory held before them (Python, libraries, the input photo).

The OpenCV filter is the usual GitHub "beauty" recipe: a YCrCb skin rule
(133 <= Cr <= 173, 77 <= Cb <= 127), ``cv2.bilateralFilter(d=15)``, and the
high-pass blend ``src + 2 * GaussianBlur(bilateral - src + 128) - 256`` mixed
with the original, applied on the skin pixels.

Usage::

    PYTHONPATH=. python benchmarks/bench_pipeline.py            # 12 MP, colour mask (+ auto)
    PYTHONPATH=. python benchmarks/bench_pipeline.py --megapixels 24 --methods ours-color
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

METHODS = ("ours-color", "ours-auto", "opencv-beauty")


def make_photo(megapixels: float):
    """The astronaut portrait upscaled to `megapixels`, with a little sensor-like grain."""
    import numpy as np
    from PIL import Image
    from skimage import data

    side = int(round((megapixels * 1e6) ** 0.5))
    photo = Image.fromarray(data.astronaut()).resize((side, side), Image.BICUBIC)
    photo = np.asarray(photo, dtype=np.int16)
    grain = np.random.default_rng(0).integers(-3, 4, photo.shape, dtype=np.int16)
    return np.clip(photo + grain, 0, 255).astype(np.uint8)


def opencv_beauty(image):
    """YCrCb skin rule + bilateral (d=15) + high-pass blend, on the skin pixels (RGB uint8)."""
    import cv2
    import numpy as np

    ycrcb = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb)
    skin = cv2.inRange(ycrcb, (0, 133, 77), (255, 173, 127))
    smooth = cv2.bilateralFilter(image, 15, 35, 15)
    high_pass = cv2.subtract(smooth, image)
    high_pass = cv2.add(high_pass, (10, 10, 10, 255))
    high_pass = cv2.GaussianBlur(high_pass, (0, 0), 1.0)
    detail = cv2.add(image, cv2.add(high_pass, high_pass))
    detail = cv2.subtract(detail, (20, 20, 20, 255))
    blended = cv2.addWeighted(image, 0.5, detail, 0.5, 0.0)
    out = image.copy()
    np.copyto(out, blended, where=skin[:, :, None].astype(bool))
    return out


def _reset_peak_memory() -> float:
    """Reset the peak resident memory of this process (Linux); return the current one in MB."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass
    return _status_mb("VmRSS")


def _peak_memory_mb() -> float:
    peak = _status_mb("VmHWM")
    if peak == 0.0:  # not Linux: the peak since the start, including the set-up
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak


def _status_mb(key: str) -> float:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_one(method: str, megapixels: float, repeat: int) -> dict:
    """Time one method in this process and report its peak memory."""
    import numpy as np

    photo = make_photo(megapixels)
    if method == "opencv-beauty":
        import cv2

        def call():
            return opencv_beauty(photo)

        threads = cv2.getNumThreads()
    else:
        import warnings

        from skinsmooth_core import smooth_skin
        from skinsmooth_core._parallel import worker_count

        mask = method.split("-", 1)[1]
        if mask == "auto":
            from skinsmooth_core.masks import SkinMaskFallbackWarning

            warnings.simplefilter("error", SkinMaskFallbackWarning)

        def call():
            return smooth_skin(photo, mask)

        threads = worker_count()
    try:
        out = call()
    except Exception as exc:  # noqa: BLE001 - report, e.g. no learned model installed
        return {"method": method, "error": f"{type(exc).__name__}: {exc}"}
    del out
    before = _reset_peak_memory()
    times, cpu_times = [], []
    for _ in range(repeat):
        start, cpu_start = time.perf_counter(), time.process_time()
        out = call()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    peak = _peak_memory_mb()
    changed = float(np.mean(np.abs(out.astype(np.int16) - photo)))
    return {
        "method": method,
        "shape": list(photo.shape),
        "best_s": min(times),
        "median_s": sorted(times)[len(times) // 2],
        "cpu_s": min(cpu_times),
        "peak_rss_mb": peak,
        "rss_before_mb": before,
        "threads": threads,
        "mean_change": changed,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(args.child, args.megapixels, args.repeat)))
        return 0

    results = []
    for method in args.methods:
        command = [sys.executable, __file__, "--child", method, "--megapixels",
                   str(args.megapixels), "--repeat", str(args.repeat)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))

    print(f"load average after: {os.getloadavg()[0]:.2f}; cpus: {os.cpu_count()}; "
          f"photo {results[0].get('shape')}")  # fmt: skip
    print(f"{'method':<15} {'best s':>7} {'median s':>9} {'CPU s':>6} {'peak RSS MB':>12} "
          f"{'RSS before MB':>14} {'threads':>8} {'mean |change|':>14}")  # fmt: skip
    for r in results:
        if "error" in r:
            print(f"{r['method']:<15} skipped: {r['error']}")
            continue
        print(f"{r['method']:<15} {r['best_s']:7.3f} {r['median_s']:9.3f} {r['cpu_s']:6.2f} "
              f"{r['peak_rss_mb']:12.0f} "
              f"{r['rss_before_mb']:14.0f} {r['threads']:8d} {r['mean_change']:14.2f}")  # fmt: skip
    timed = {r["method"]: r for r in results if "error" not in r}
    if "opencv-beauty" in timed:
        for name in ("ours-color", "ours-auto"):
            if name in timed:
                ratio = timed["opencv-beauty"]["best_s"] / timed[name]["best_s"]
                cpu = timed["opencv-beauty"]["cpu_s"] / timed[name]["cpu_s"]
                print(f"speed-up of {name} over opencv-beauty: {ratio:.1f}x wall, {cpu:.1f}x CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
