"""One call of a filter on a large photo: wall and CPU seconds and peak memory.

Usage::

    python benchmarks/bench_large.py                  # every case below
    python benchmarks/bench_large.py --only wls-12mp

Each case runs in a fresh Python process (so peak memory is the call's own): the
compiled kernels are loaded with a call on a small crop first, then one call on
the large image is timed. Images are ``bench_filters.test_image`` (the astronaut
mirrored and tiled, float32 RGB) at the stated size. Prints a Markdown table;
peak memory is the process's peak resident set during the call (Linux only).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CASES = {
    "wls-12mp": ("wls_filter", 3000, 4000, "float32", {}),
    "bilateral-24mp": ("bilateral_filter", 4243, 5657, "float32", {}),
    "bilateral-24mp-uint8": ("bilateral_filter", 4243, 5657, "uint8", {}),
    "guided-24mp": ("guided_filter", 4243, 5657, "float32", {}),
}


def _reset_peak_memory() -> None:
    """Reset the process's peak RSS (Linux >= 4.0), so it measures what follows."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _memory_kb(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in kB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def run_case(name: str) -> dict:
    import numpy as np

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_filters import test_image

    from skinsmooth_core import filters

    function_name, height, width, dtype, kwargs = CASES[name]
    function = getattr(filters, function_name)
    image = test_image(height, width)
    if dtype == "uint8":
        image = np.rint(image * 255).astype(np.uint8)
    function(np.ascontiguousarray(image[:64, :64]), **kwargs)  # load or compile the kernels
    _reset_peak_memory()
    before = _memory_kb("VmRSS")
    wall, cpu = time.perf_counter(), time.process_time()
    function(image, **kwargs)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = _memory_kb("VmHWM")
    return {
        "case": name,
        "megapixels": height * width / 1e6,
        "wall": wall,
        "cpu": cpu,
        "peak_mb": peak / 1024,
        "input_mb": image.nbytes / 2**20,
        "rss_before_mb": before / 1024,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(CASES), default=list(CASES))
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(args.case)))
        return 0
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n")
    print("| case | MP | wall s | CPU s | peak RSS MB | input MB | RSS before call MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in args.only:
        output = subprocess.run(
            [sys.executable, __file__, "--case", name], capture_output=True, text=True, check=True
        ).stdout
        r = json.loads(output.strip().splitlines()[-1])
        print(
            f"| {r['case']} | {r['megapixels']:.1f} | {r['wall']:.2f} | {r['cpu']:.2f} "
            f"| {r['peak_mb']:.0f} | {r['input_mb']:.0f} | {r['rss_before_mb']:.0f} |"
        )
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
