"""The Dask side of :mod:`skinsmooth_core.batch` (imports ``distributed``)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterator

import dask
import numpy as np
from distributed import Client, KilledWorker, LocalCluster, as_completed
from distributed.diagnostics.plugin import WorkerPlugin

from . import ClusterError
from ._jobs import Outcome, Settings, Task, process, with_absent

PLUGIN = "skinsmooth"
NANNY_ENVIRON = "distributed.nanny.pre-spawn-environ"


class SkinModel(WorkerPlugin):
    """Load the skin model once in each worker process, and in each one that joins later.

    ``default_segmenter()`` is cached for the life of the process, so every task on the
    worker reuses it. A model that cannot load is reported by each photo instead.

    Parameters
    ----------
    mask : str
        The batch's mask option: the model is loaded for "auto" and "unet" only.
    """

    name = PLUGIN

    def __init__(self, mask: str):
        self.mask = mask

    def setup(self, worker) -> None:  # noqa: D102 - WorkerPlugin API
        if self.mask in ("auto", "unet"):
            try:
                from ..masks.segmenter import default_segmenter

                default_segmenter()
            except Exception:  # noqa: BLE001 - each photo reports it (or falls back)
                pass
        try:  # import the pipeline and load its compiled kernels before the first photo
            from ..pipeline import smooth_skin

            smooth_skin(np.full((32, 32, 3), 0.5, np.float32), mask="none")
        except Exception:  # noqa: BLE001 - each photo reports what is wrong
            pass


class IgnoreInterrupt(WorkerPlugin):
    """Ctrl-C is for the command, not for the workers of its own LocalCluster: a worker
    that the nanny restarts mid-batch ignores SIGINT like the first ones did."""

    name = f"{PLUGIN}-ignore-interrupt"

    def setup(self, worker) -> None:  # noqa: D102 - WorkerPlugin API
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_on_dask(
    client: Client,
    indexed: list[tuple[int, Task]],
    settings: Settings,
    take: Callable[[int, Outcome], object],
) -> None:
    """Run ``process(task, settings)`` for each task on the cluster; call
    ``take(index, outcome)`` as each finishes. On any exception (Ctrl-C included) the
    tasks not finished are cancelled before it is passed on."""
    if not indexed:
        return
    try:
        client.register_plugin(SkinModel(settings.mask), name=PLUGIN)
    except Exception as exc:  # noqa: BLE001 - e.g. a worker without skinsmooth installed
        raise ClusterError(
            "the Dask workers cannot run skinsmooth (install the same skinsmooth version "
            f"on every worker): {type(exc).__name__}: {exc}"
        ) from None
    batch = uuid.uuid4().hex[:8]
    keys = [f"skinsmooth-{batch}-{index}" for index, _ in indexed]
    tasks = [with_absent(task) for _, task in indexed]  # Dask reruns a task whose worker died
    futures = client.map(process, tasks, settings=settings, key=keys, pure=False)
    which = {future.key: item for future, item in zip(futures, indexed, strict=True)}
    pending = set(which)
    try:
        for future in as_completed(futures):
            index, task = which[future.key]
            outcome = _outcome(future, task)
            pending.discard(future.key)
            take(index, outcome)
    finally:
        if pending:
            client.cancel([future for future in futures if future.key in pending])


def _outcome(future, task: Task) -> Outcome:
    try:
        return future.result()
    except KilledWorker:
        error = (
            f"{task.source}: the worker process died retouching it, on several workers "
            "(killed, e.g. out of memory: give the workers more memory, or use a smaller "
            "--max-megapixels)"
        )
    except Exception as exc:  # noqa: BLE001 - cancelled, lost scheduler, unpicklable result
        error = f"{task.source}: the Dask task failed: {type(exc).__name__}: {exc}"
    return Outcome(task.source, target=task.target, error=error)


@contextlib.contextmanager
def local_client(workers: int, *, quiet_interrupt: bool = False) -> Iterator[Client]:
    """A LocalCluster of `workers` processes, one thread each, and its client."""
    # Signal handlers can only be set from the main thread.
    signals = quiet_interrupt and threading.current_thread() is threading.main_thread()
    restore = None
    if signals:
        # the worker processes start with SIGINT ignored (inherited through exec)
        restore = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        # Dask sets MALLOC_TRIM_THRESHOLD_ in its workers, which turns off glibc's adaptive
        # mmap threshold: every large temporary array is then mapped and zeroed afresh
        # (about 40 times the page faults and 40-60 % more time per 12 MP photo, measured
        # in docs/cluster.md). Our workers keep glibc's default.
        with dask.config.set({NANNY_ENVIRON + ".MALLOC_TRIM_THRESHOLD_": None}):
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # a free port: several batches may run at once
                silence_logs=logging.ERROR,
            )
    finally:
        if restore is not None:
            signal.signal(signal.SIGINT, restore)
    quiet = None
    if signals and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        quiet = signal.signal(signal.SIGINT, _interrupt_quietly)
    try:
        client = Client(cluster)
        try:
            if quiet_interrupt:
                client.register_plugin(IgnoreInterrupt())
            yield client
        finally:
            client.close()
    finally:
        cluster.close()
        if quiet is not None:
            signal.signal(signal.SIGINT, quiet)


# Where a cluster torn down mid-batch logs its in-flight callbacks' errors (tornado's
# "Exception in callback", distributed's closed comms), none of them the user's concern.
_SHUTDOWN_LOGGERS = ("tornado.application", "tornado.general", "asyncio", "distributed")


def _interrupt_quietly(signum, frame):
    """Ctrl-C as usual (KeyboardInterrupt), but the command then says "interrupted" and
    nothing else: the cluster's shutdown noise is no longer logged (the command exits)."""
    for name in _SHUTDOWN_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    raise KeyboardInterrupt


@contextlib.contextmanager
def remote_client(address: str, *, timeout: float) -> Iterator[Client]:
    """A client of a running scheduler: an address, or a scheduler file (``.json``)."""
    try:
        if address.endswith(".json") and os.path.isfile(address):
            client = Client(scheduler_file=address, timeout=timeout)
        else:
            client = Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {reason}") from None
    try:
        yield client
    finally:
        client.close()
