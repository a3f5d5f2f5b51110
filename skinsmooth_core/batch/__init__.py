"""Batches of photos: in this process, in local worker processes (:mod:`.pool`, what
``skinsmooth --jobs N`` runs) or on a Dask cluster; resumable; with a CSV report.

:func:`retouch_batch` retouches files, folders or globs into a folder with the options
and presets of the ``skinsmooth`` command (it is what ``skinsmooth --dask`` runs). With a
``distributed.Client`` it runs on that Dask cluster: each task names its input and output
files, and the workers read and write them themselves (so the files must be on a file
system every worker and this process share, at the same paths); no image passes through
the scheduler, only file names and a one-line outcome per photo. Each worker process
loads the skin model once. A worker that dies mid-batch loses nothing: Dask runs its
tasks again on another worker, and outputs are written as a set, atomically
(:func:`skinsmooth_core.io.write_images`), so a killed write leaves no half file.

Dask is an optional dependency: ``pip install 'skinsmooth[cluster]'``.

Examples
--------
>>> from skinsmooth_core.batch import connect, retouch_batch
>>> with connect("local:2") as client:  # doctest: +SKIP
...     outcomes = retouch_batch(["shoot/"], "retouched/", client, preset="natural",
...                              skip_existing=True, report="retouched/report.csv")
>>> sum(o.status == "failed" for o in outcomes)  # doctest: +SKIP
0
"""

from __future__ import annotations

import contextlib
import csv
import os
from collections.abc import Callable, Iterable, Iterator

from ..io import DEFAULT_PIXEL_LIMIT
from ._jobs import (
    Outcome,
    Settings,
    Task,
    UsageError,
    check_settings,
    expand_inputs,
    plan,
    process,
    remove_leftovers,
    skipped,
    up_to_date,
)

__all__ = [
    "CLUSTER_HINT",
    "REPORT_COLUMNS",
    "ClusterError",
    "Outcome",
    "Report",
    "Settings",
    "Task",
    "connect",
    "parse_cluster",
    "retouch_batch",
]

CLUSTER_HINT = "pip install 'skinsmooth[cluster]'"
REPORT_COLUMNS = (
    "input",
    "output",
    "status",
    "error",
    "seconds",
    "megapixels",
    "scale",
    "skin_share",
)


class ClusterError(RuntimeError):
    """The Dask cluster cannot be used: not installed, unreachable, or its workers
    cannot run skinsmooth."""


def retouch_batch(
    inputs: Iterable,
    output=None,
    client=None,
    *,
    settings: Settings | None = None,
    preset: str | None = None,
    mask: str = "auto",
    save_mask: bool = False,
    compare: bool = False,
    fmt: str | None = None,
    quality: int = 95,
    overwrite: bool = False,
    max_megapixels: float = DEFAULT_PIXEL_LIMIT / 1e6,
    skip_existing: bool = False,
    report=None,
    on_outcome: Callable[[Outcome], object] | None = None,
    **smooth_options,
) -> list[Outcome]:
    """Retouch many photos, here or on a Dask cluster; return one outcome per photo.

    Parameters
    ----------
    inputs : iterable of str or path, or of Task
        Image files, folders (their JPEG, PNG, TIFF and WebP files) and globs, as on
        the command line; or :class:`Task` objects naming each input and its outputs
        (then `output`, `save_mask`, `compare` and `fmt` are not used).
    output : str or path, optional
        The output folder (created if missing); the outputs keep the inputs' names.
        Required unless `inputs` are tasks.
    client : distributed.Client, optional
        Run on this Dask cluster (see :func:`connect`). None (default): one photo
        after the other in this process.
    settings : Settings, optional
        All the options at once (as the command builds them); then `preset`, `mask`,
        `quality`, `overwrite`, `max_megapixels` and `smooth_options` must be left out.
    preset : str, optional
        A named preset (:data:`skinsmooth_core.pipeline.PRESETS`); `smooth_options`
        override it.
    mask : {"auto", "unet", "color", "none"}, optional
        The skin mask, as for :func:`~skinsmooth_core.pipeline.smooth_skin`.
    save_mask, compare : bool, optional
        Also write ``NAME-mask.png`` and the before/after ``NAME-compare.EXT``.
    fmt : str, optional
        Output extension (e.g. ``".jpg"``); default: the input's.
    quality : int, optional
        JPEG and WebP quality, 1-100.
    overwrite : bool, optional
        Replace existing output files (inputs are never replaced otherwise).
    max_megapixels : float, optional
        Refuse larger images, checked before decoding.
    skip_existing : bool, optional
        Leave alone the photos whose outputs all exist and are at least as new as their
        input (status "skipped"): an interrupted batch run again resumes where it
        stopped. Temporary files that an interrupted run left (``.NAME.*.part``) are
        removed first.
    report : str or path, optional
        Write a CSV file with a row per photo, as each finishes (:data:`REPORT_COLUMNS`).
    on_outcome : callable, optional
        Called with each :class:`Outcome` as it comes (in the order the photos finish).
    **smooth_options
        ``strength``, ``texture``, ``blemish``, ``scale``, ``method``.

    Returns
    -------
    list of Outcome
        In the order of the inputs: ``status`` is "done", "skipped" or "failed" (with a
        one-line ``error``); ``seconds``, ``megapixels``, ``scale`` and ``skin`` (the
        share of skin) for the photos retouched.

    Raises
    ------
    ValueError
        For an invalid option or output plan, before any photo is read.
    ClusterError
        When the workers of `client` cannot run skinsmooth.
    KeyboardInterrupt
        Passed on, after the tasks not yet finished were cancelled; the outputs written
        so far stay (each one whole).

    Notes
    -----
    A bad photo is one failed outcome; the batch goes on. On a cluster, a photo whose
    workers die repeatedly (e.g. killed for memory) fails by name after Dask's
    ``distributed.scheduler.allowed-failures`` retries.
    """
    tasks = _tasks(inputs, output, fmt=fmt, save_mask=save_mask, compare=compare)
    if settings is None:
        settings = _settings(preset, mask, quality, overwrite, max_megapixels, smooth_options)
    elif preset is not None or smooth_options or (mask, quality, overwrite) != ("auto", 95, False):
        raise ValueError("give either settings or the separate options, not both")
    _check_settings(settings)
    results: list[Outcome | None] = [None] * len(tasks)
    sheet = Report(report) if report is not None else None

    def take(index: int, outcome: Outcome) -> None:
        results[index] = outcome
        if sheet is not None:
            sheet.add(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    try:
        todo = []
        for index, task in enumerate(tasks):
            if skip_existing and up_to_date(task):
                take(index, skipped(task))
            else:
                todo.append(index)
        if skip_existing:
            remove_leftovers(tasks)  # what an interrupted run was writing
        if client is None:
            for index in todo:
                take(index, process(tasks[index], settings))
        else:
            from ._dask import run_on_dask

            run_on_dask(client, [(i, tasks[i]) for i in todo], settings, take)
            remove_leftovers(tasks[i] for i in todo)  # of workers that died mid-write
    except BaseException:
        if sheet is not None:
            sheet.cancelled(task for task, done in zip(tasks, results, strict=True) if done is None)
        raise
    finally:
        if sheet is not None:
            sheet.close()
    return results


def _tasks(inputs, output, *, fmt, save_mask, compare) -> list[Task]:
    inputs = list(inputs)
    if inputs and all(isinstance(item, Task) for item in inputs):
        return inputs
    if any(isinstance(item, Task) for item in inputs):
        raise ValueError("inputs must be all paths or all Task objects")
    if output is None:
        raise ValueError("output (a folder) is required when inputs are paths")
    if not inputs:
        return []
    sources, _ = expand_inputs([os.fspath(item) for item in inputs])
    output = os.fspath(output)
    tasks = plan(sources, output, folder=True, fmt=fmt, save_mask=save_mask, compare=compare)
    os.makedirs(output, exist_ok=True)
    return tasks


def _settings(preset, mask, quality, overwrite, max_megapixels, smooth_options) -> Settings:
    options = {}
    if preset is not None:
        from ..pipeline import preset_options

        options.update(preset_options(preset))
    options.update(smooth_options)
    if not 0 < max_megapixels < float("inf"):
        raise ValueError(f"max_megapixels must be a number > 0, got {max_megapixels!r}")
    if not (isinstance(quality, int) and 1 <= quality <= 100):
        raise ValueError(f"quality must be an integer from 1 to 100, got {quality!r}")
    return Settings(
        smooth=options,
        mask=mask,
        quality=quality,
        overwrite=overwrite,
        pixel_limit=round(max_megapixels * 1e6),
    )


def _check_settings(settings: Settings) -> None:
    try:
        check_settings(settings.smooth, settings.mask)
    except UsageError as exc:
        raise ValueError(str(exc)) from None


class Report:
    """A CSV report with a row per photo, written as the photos finish.

    Columns (:data:`REPORT_COLUMNS`): ``input``, ``output``, ``status`` ("done",
    "skipped", "failed", or "cancelled" for the photos not finished when a batch was
    interrupted), ``error`` (one line), ``seconds`` (reading, retouching and writing),
    ``megapixels``, ``scale`` (the scale used) and ``skin_share`` (the share of the
    photo that is skin, 0-1). Each row is flushed as it is written, so a batch that
    dies still leaves the rows of what it finished.

    Parameters
    ----------
    path : str or path
        The CSV file, replaced if it exists.

    Raises
    ------
    OSError
        When the file cannot be created.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self._file = open(self.path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._csv = csv.writer(self._file)
        self._csv.writerow(REPORT_COLUMNS)
        self._file.flush()

    def add(self, outcome: Outcome) -> None:
        """Write the row of one outcome."""
        self._row(outcome.source, outcome.target, outcome.status, outcome)

    def cancelled(self, tasks: Iterable[Task]) -> None:
        """Write a "cancelled" row for each task that did not finish."""
        for task in tasks:
            self._row(task.source, task.target, "cancelled", None)

    def _row(self, source, target, status, outcome) -> None:
        if self._file.closed:
            return
        values = [source, target or "", status]
        if outcome is None:
            values += [""] * 5
        else:
            values.append(outcome.error or "")
            values += [
                _number(outcome.seconds, 3),
                _number(outcome.megapixels, 3),
                _number(outcome.scale, 3),
                _number(outcome.skin, 4),
            ]
        self._csv.writerow(values)
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        if not self._file.closed:
            self._file.close()


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def parse_cluster(text: str) -> tuple[str, int | str]:
    """Read a ``--dask`` value: ``("local", workers)`` or ``("address", address)``.

    ``local`` or ``local:N`` is a cluster of N worker processes on this machine (default:
    one per two CPUs); ``tcp://host:8786`` (or any address Dask accepts) a running
    scheduler; a ``.json`` file a scheduler file (``dask scheduler --scheduler-file``).

    Raises
    ------
    ValueError
        For ``local:N`` with N not a whole number >= 1, or an empty value.

    Examples
    --------
    >>> parse_cluster("local:3"), parse_cluster("tcp://10.0.0.5:8786")
    (('local', 3), ('address', 'tcp://10.0.0.5:8786'))
    """
    text = text.strip()
    if text == "local" or text.startswith("local:"):
        count = text.partition(":")[2]
        if not count:
            return "local", max(1, (os.cpu_count() or 2) // 2)
        try:
            workers = int(count)
        except ValueError:
            workers = 0
        if workers < 1:
            raise ValueError(f"local:N needs a whole number N >= 1, got {text!r}")
        return "local", workers
    if not text:
        raise ValueError("give a scheduler address (tcp://host:8786) or local[:N]")
    return "address", text


def require_distributed() -> None:
    """Raise :class:`ClusterError` with what to install when Dask is missing."""
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        raise ClusterError(
            f"Dask's distributed scheduler is not installed ({exc}); install it with: "
            f"{CLUSTER_HINT}"
        ) from None


@contextlib.contextmanager
def connect(cluster: str, *, timeout: float = 10.0, quiet_interrupt: bool = False) -> Iterator:
    """A ``distributed.Client`` for a ``--dask`` value (see :func:`parse_cluster`).

    ``local[:N]`` starts a ``LocalCluster`` of N worker processes with one thread each
    (the kernels use a thread pool of their own) and closes it on exit; an address or
    scheduler file connects to a running scheduler, and only the client is closed.

    Parameters
    ----------
    cluster : str
        ``local``, ``local:N``, a scheduler address or a scheduler file.
    timeout : float, optional
        Seconds to wait for a remote scheduler.
    quiet_interrupt : bool, optional
        The local workers ignore Ctrl-C (SIGINT), which a terminal sends to every process
        of the command: this process cancels the batch and stops them itself.

    Yields
    ------
    distributed.Client

    Raises
    ------
    ClusterError
        When Dask is not installed or the scheduler cannot be reached.
    ValueError
        For a malformed `cluster`.
    """
    kind, value = parse_cluster(cluster)
    require_distributed()
    from ._dask import local_client, remote_client

    if kind == "local":
        manager = local_client(value, quiet_interrupt=quiet_interrupt)
    else:
        manager = remote_client(value, timeout=timeout)
    with manager as client:
        yield client
