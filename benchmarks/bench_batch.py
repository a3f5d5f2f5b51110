"""A batch of 12 MP photos through ``--jobs 2`` and ``--dask local:2`` on this machine.

Both runs are the ``skinsmooth`` command itself, in a subprocess, with the default
options (learned skin mask) and ``--report``: photos per second from the wall time, the
mean time a worker spent per photo (reading, retouching, writing: the report's
``seconds``), and the scheduler's overhead per photo, measured three ways:

- the difference of wall time per photo between ``--dask local:2`` and ``--jobs 2``,
  with and without the start and stop of the LocalCluster (timed on its own);
- the round trip of a no-op task (submit, run on a worker, result back), one at a time,
  and the cost per task of 200 no-op tasks submitted at once;
- the peak memory of one Dask worker process retouching a 45 MP photo.

The CPU seconds per photo (user + system, of the command and all its processes) are less
sensitive than wall times to other work on the machine. A third run shows what Dask's
default ``MALLOC_TRIM_THRESHOLD_=65536`` in its workers costs (``--dask local`` turns it
off; see docs/cluster.md).

The photos are the astronaut portrait upscaled to 3464 x 3464 (12.0 MP) with +-3 levels
of grain, each shifted a little, written as JPEG (quality 95).

Usage::

    PYTHONPATH=. python benchmarks/bench_batch.py               # 50 photos
    PYTHONPATH=. python benchmarks/bench_batch.py --count 10    # fewer
    PYTHONPATH=. python benchmarks/bench_batch.py --no-45mp     # skip the memory case
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_photo(megapixels: float, seed: int = 0):
    """The astronaut upscaled to `megapixels` (square), with +-3 levels of grain."""
    import numpy as np
    from PIL import Image
    from skimage import data

    side = int(round((megapixels * 1e6) ** 0.5))
    photo = Image.fromarray(data.astronaut()).resize((side, side), Image.BICUBIC)
    photo = np.asarray(photo, dtype=np.int16)
    grain = np.random.default_rng(seed).integers(-3, 4, photo.shape, dtype=np.int16)
    return np.clip(photo + grain, 0, 255).astype(np.uint8)


def write_photos(folder: str, count: int, megapixels: float) -> list[str]:
    import numpy as np

    from skinsmooth_core.io import write_image

    base = make_photo(megapixels)
    paths = []
    for i in range(count):
        path = os.path.join(folder, f"photo{i:03d}.jpg")
        write_image(path, np.roll(base, 23 * i, axis=1), quality=95)
        paths.append(path)
    return paths


def run_command(
    inputs: str, output: str, report: str, *extra: str, env: dict | None = None
) -> tuple[float, float]:
    """Wall seconds of one ``skinsmooth`` run, and the CPU seconds (user + system) of the
    command and all its processes (its workers are its children, reaped before it ends)."""
    command = [sys.executable, "-m", "skinsmooth_core", inputs, "-o", output, "--quiet"]
    command += ["--report", report, *extra]
    path = ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")
    env = {**os.environ, "PYTHONPATH": path, **(env or {})}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def report_seconds(report: str) -> list[float]:
    with open(report, newline="") as file:
        rows = list(csv.DictReader(file))
    assert all(row["status"] == "done" for row in rows), rows
    return [float(row["seconds"]) for row in rows]


def _noop(*_):
    return None


def _status_mb(field: str) -> float:
    """A memory line of /proc/self/status in MB: "VmHWM:" (peak RSS) or "VmRSS:" (now)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as file:  # resets VmHWM to the current RSS
        file.write("5")


def cluster_costs(workers: int) -> dict:
    """Start/stop of a LocalCluster, and no-op task round trips on it."""
    from distributed import Client, LocalCluster

    started = time.perf_counter()
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = Client(cluster)
    client.wait_for_workers(workers)
    start = time.perf_counter() - started
    client.submit(_noop, 0, pure=False).result()  # warm
    trips = []
    for i in range(50):
        t = time.perf_counter()
        client.submit(_noop, i, pure=False).result()
        trips.append(time.perf_counter() - t)
    t = time.perf_counter()
    client.gather(client.map(_noop, range(200), pure=False))
    per_task = (time.perf_counter() - t) / 200
    t = time.perf_counter()
    client.close()
    cluster.close()
    stop = time.perf_counter() - t
    return {
        "start": start,
        "stop": stop,
        "round_trip": statistics.median(trips),
        "per_task": per_task,
    }


def worker_memory_45mp(folder: str) -> tuple[float, float, float]:
    """(worker RSS before, peak RSS while retouching one 45 MP photo, seconds) in one
    Dask worker process, with the default options."""
    from distributed import Client, LocalCluster

    from skinsmooth_core.batch import retouch_batch
    from skinsmooth_core.io import write_image

    source = os.path.join(folder, "big45.jpg")
    write_image(source, make_photo(45.0, seed=1), quality=95)
    with (
        LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        # load the model and kernels first (a small photo), then reset the peak
        small = os.path.join(folder, "warm.jpg")
        write_image(small, make_photo(1.0, seed=2), quality=95)
        retouch_batch([small], os.path.join(folder, "warm-out"), client)
        before = list(client.run(_status_mb, "VmRSS:").values())[0]
        client.run(_reset_peak)
        [outcome] = retouch_batch([source], os.path.join(folder, "big-out"), client)
        assert outcome.status == "done", outcome.error
        peak = list(client.run(_status_mb, "VmHWM:").values())[0]
    return before, peak, outcome.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=50, help="photos (50)")
    parser.add_argument("--megapixels", type=float, default=12.0, help="photo size (12)")
    parser.add_argument("--workers", type=int, default=2, help="--jobs N and local:N (2)")
    parser.add_argument("--no-45mp", action="store_true", help="skip the 45 MP memory case")
    parser.add_argument(
        "--no-trim", action="store_true", help="skip the run with Dask's MALLOC_TRIM_THRESHOLD_"
    )
    args = parser.parse_args()
    sys.path.insert(0, ROOT)
    n, workers = args.count, args.workers
    print(
        f"# {n} photos of {args.megapixels:g} MP, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f} at the start",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        inputs = os.path.join(tmp, "in")
        os.mkdir(inputs)
        t = time.perf_counter()
        write_photos(inputs, n, args.megapixels)
        print(f"# wrote the photos in {time.perf_counter() - t:.1f} s", flush=True)
        results = {}
        runs = [
            (f"--jobs {workers}", ["--jobs", str(workers)], {}),
            (f"--dask local:{workers}", ["--dask", f"local:{workers}"], {}),
        ]
        if not args.no_trim:
            trim = {"MALLOC_TRIM_THRESHOLD_": "65536"}  # what Dask's nannies set by default
            name = f"--dask local:{workers}, MALLOC_TRIM_THRESHOLD_=65536"
            runs.append((name, ["--dask", f"local:{workers}"], trim))
        for key, (name, extra, env) in enumerate(runs):
            report = os.path.join(tmp, f"{key}.csv")
            output = os.path.join(tmp, f"out{key}")
            wall, cpu = run_command(inputs, output, report, *extra, env=env)
            results[name] = (wall, cpu, report_seconds(report))
            print(f"# {name}: {wall:.1f} s", flush=True)
        costs = cluster_costs(workers)
        memory = None if args.no_45mp else worker_memory_45mp(tmp)
        load = os.getloadavg()[0]

    print()
    print(
        "| run | wall (s) | photos/s | wall per photo (s) | worker time per photo (s) "
        "| CPU s per photo |"
    )
    print("|---|---|---|---|---|---|")
    for name, (wall, cpu, seconds) in results.items():
        print(
            f"| `{name}` | {wall:.1f} | {n / wall:.2f} | {wall / n:.2f} | "
            f"{statistics.mean(seconds):.2f} | {cpu / n:.2f} |"
        )
    (jobs_wall, jobs_cpu, _), (dask_wall, dask_cpu, _) = list(results.values())[:2]
    print()
    print(f"- LocalCluster of {workers}: start {costs['start']:.2f} s, stop {costs['stop']:.2f} s")
    print(
        f"- scheduler overhead per photo, --dask minus --jobs: "
        f"{(dask_wall - jobs_wall) / n * 1000:+.0f} ms with the cluster's start and stop, "
        f"{(dask_wall - costs['start'] - costs['stop'] - jobs_wall) / n * 1000:+.0f} ms without"
    )
    print(
        f"- CPU time per photo, --dask minus --jobs: {(dask_cpu - jobs_cpu) / n * 1000:+.0f} ms "
        "(the scheduler, nannies and cluster start included)"
    )
    print(
        f"- no-op task: round trip {costs['round_trip'] * 1000:.1f} ms (median of 50), "
        f"{costs['per_task'] * 1000:.2f} ms per task for 200 submitted at once"
    )
    if memory is not None:
        before, peak, seconds = memory
        print(
            f"- one worker process, 45 MP JPEG (default options): {before:.0f} MB before, "
            f"peak {peak:.0f} MB while retouching ({seconds:.1f} s)"
        )
    print(f"- load average at the end: {load:.1f}")


if __name__ == "__main__":
    main()
