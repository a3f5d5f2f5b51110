"""The ``skinsmooth`` command (also ``python -m skinsmooth_core``).

Retouch portraits from the shell::

    skinsmooth portrait.jpg -o portrait-retouched.jpg
    skinsmooth shoot/ -o retouched/ --preset natural --jobs 2
    skinsmooth --demo demo.jpg --compare
    skinsmooth install-plugin krita

A single photo prints one line per file written ("wrote PATH", on stdout, like
``cp -v``); a batch stays quiet apart from its progress bar and a summary line.
A bad file gets one line on stderr naming it and the reason; the batch goes
on, and the exit status is 1 when any file failed (2 for a command-line
mistake), after a summary line. ``--quiet`` silences everything but errors.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import traceback
from collections import Counter
from collections.abc import Sequence

from .. import __version__
from ..batch._jobs import (
    DEMO,
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
from ..io import DEFAULT_PIXEL_LIMIT, WRITE_FORMATS
from ._progress import Progress

__all__ = ["build_parser", "main"]

PROG = "skinsmooth"
FORMATS = {
    "jpeg": ".jpg",
    "jpg": ".jpg",
    "png": ".png",
    "tiff": ".tif",
    "tif": ".tif",
    "webp": ".webp",
}
DEMO_OUTPUT = "skinsmooth-demo.jpg"
_EXTS = tuple(WRITE_FORMATS)


def _scale(text: str):
    if text == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be 'auto' or a number, got {text!r}") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def _add_retouch_options(group) -> None:
    """The retouch's options, from skinsmooth_core.pipeline.options (defaults in brackets)."""
    from ..pipeline import options

    preset = options.PRESET
    group.add_argument("--preset", choices=preset.values, help=preset.help)
    for amount in options.AMOUNTS:
        help_text = f"{amount.help}, {amount.minimum:g}-{amount.maximum:g} ({amount.default})"
        group.add_argument(f"--{amount.name}", type=float, help=help_text)
    for switch in options.SWITCHES:
        group.add_argument(
            f"--{switch.flag}",
            dest=switch.name,
            action=argparse.BooleanOptionalAction,
            help=f"{switch.help} ({'on' if switch.default else 'off'})",
        )
    scale = options.SCALE
    group.add_argument(
        "--scale", type=_scale, help=f"{scale.help}: 'auto' or a number > 0 ({scale.default})"
    )
    method = options.METHOD
    group.add_argument("--method", choices=method.values, help=f"{method.help} ({method.default})")
    mask = options.MASK
    labels = ", ".join(f"{entry.value}: {entry.label}" for entry in mask.entries)
    group.add_argument(
        "--mask", choices=mask.values, default=mask.default, help=f"{mask.help} ({labels})"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``skinsmooth`` (without the install-plugin subcommand)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Retouch skin in portraits: smooth skin, keep pores, hair, eyes and "
        "background. Reads and writes JPEG, PNG, TIFF and WebP at full bit depth.",
        epilog="Other command: 'skinsmooth install-plugin {krita,gimp} --help' installs the "
        "Krita or GIMP plug-in. Options left out keep the preset's (or the library's) value.",
    )
    parser.add_argument("inputs", nargs="*", metavar="IN", help="image files, folders or globs")
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="output file, or folder (required with several inputs or a folder; created if "
        "missing); output files keep the input's name",
    )
    parser.add_argument(
        "--format",
        choices=sorted(FORMATS),
        help="output format for folder outputs (default: the input's)",
    )
    _add_retouch_options(parser.add_argument_group("retouching (see smooth_skin)"))
    files = parser.add_argument_group("files")
    files.add_argument(
        "--save-mask", action="store_true", help="also write the skin mask as OUTNAME-mask.png"
    )
    files.add_argument(
        "--compare", action="store_true", help="also write before|after as OUTNAME-compare.EXT"
    )
    files.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality 1-100 (95)")
    files.add_argument("--overwrite", action="store_true", help="replace existing files")
    files.add_argument(
        "--skip-existing",
        action="store_true",
        help="leave inputs whose outputs exist and are newer alone (resumes an interrupted batch)",
    )
    files.add_argument(
        "--report",
        metavar="FILE",
        help="write a CSV row per input: input, output, status, error, seconds, megapixels, "
        "scale, skin_share",
    )
    files.add_argument(
        "--max-megapixels",
        type=float,
        default=DEFAULT_PIXEL_LIMIT / 1e6,
        help="refuse larger images, checked before decoding (200)",
    )
    run = parser.add_argument_group("running")
    run.add_argument("--jobs", type=_positive_int, default=1, metavar="N", help="processes (1)")
    run.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run the batch on a Dask scheduler (tcp://host:8786, or a scheduler .json file), "
        "or 'local[:N]' for N worker processes here; the workers read and write the files "
        "(a shared file system); needs skinsmooth[cluster]",
    )
    run.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on batches (default: when stderr is a terminal)",
    )
    run.add_argument(
        "--demo",
        nargs="?",
        const=DEMO_OUTPUT,
        metavar="OUT",
        help=f"retouch the bundled sample portrait into OUT (default {DEMO_OUTPUT})",
    )
    run.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only errors (no 'wrote FILE' lines, no summary)",
    )
    run.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    run.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return the exit status (0 ok, 1 a file failed, 2 usage error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["install-plugin"]:
        return _install_plugin(argv[1:])
    try:
        parser = build_parser()
    except ImportError as exc:  # a broken installation, not a usage error
        _error(f"the retouching pipeline cannot be imported ({exc})")
        return 1
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed usage and the error (or --help)
        return int(exc.code or 0)
    debug = args.debug
    try:
        return _run(args)
    except UsageError as exc:
        _error(str(exc))
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug: one line unless --debug
        if debug:
            traceback.print_exc()
        _error(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)")
        return 1


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def _install_plugin(argv: list[str]) -> int:
    try:
        from ..plugin_install.install import main as install_main
    except ImportError as exc:
        _error(f"the plug-in installer is not available in this installation ({exc})")
        return 2
    try:
        return int(install_main(argv) or 0)
    except SystemExit as exc:  # an installer that lets argparse exit
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)


def _smooth_options(args) -> dict:
    from ..pipeline import options, preset_options

    chosen = preset_options(args.preset) if args.preset else {}
    for name in options.OPTIONS:
        value = getattr(args, name)
        if value is not None:
            chosen[name] = value
    return chosen


def _run(args) -> int:
    if args.demo is not None:
        if args.inputs:
            raise UsageError("--demo takes no input files")
        sources, batch = [DEMO], False
        output = args.demo
    else:
        if not args.inputs:
            raise UsageError("no input; give image files, folders or globs, or --demo")
        if not args.output:
            raise UsageError("-o/--output is required (a file, or a folder for several inputs)")
        sources, batch = expand_inputs(args.inputs)
        output = args.output
    if not 1 <= args.quality <= 100:
        raise UsageError(f"--quality must be from 1 to 100, got {args.quality}")
    if not (math.isfinite(args.max_megapixels) and args.max_megapixels > 0):
        raise UsageError(f"--max-megapixels must be a number > 0, got {args.max_megapixels:g}")
    if args.dask is not None:
        _check_dask(args.dask, args.jobs)
    if args.report is not None and os.path.splitext(args.report)[1].lower() in _EXTS:
        raise UsageError(f"--report writes a CSV file, not the image file {args.report}")
    folder = batch or os.path.isdir(output) or output.endswith(("/", os.sep))
    if batch and not os.path.isdir(output) and os.path.splitext(output)[1].lower() in _EXTS:
        raise UsageError(f"with several inputs, -o must be a folder, not the file {output}")
    fmt = FORMATS[args.format] if args.format else None
    if fmt and not folder and os.path.splitext(output)[1].lower() not in _same_format(fmt):
        raise UsageError(f"--format {args.format} does not match the output file {output}")
    tasks = plan(
        sources, output, folder=folder, fmt=fmt, save_mask=args.save_mask, compare=args.compare
    )
    settings = Settings(
        smooth=_smooth_options(args),
        mask=args.mask,
        quality=args.quality,
        overwrite=args.overwrite,
        pixel_limit=round(args.max_megapixels * 1e6),
        debug=args.debug,
    )
    check_settings(settings.smooth, settings.mask)
    if folder:
        try:
            os.makedirs(output, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"{output}: cannot create the output folder: {exc.strerror}") from None
    todo, up_to_date_tasks = tasks, []
    if args.skip_existing:
        todo = []
        for task in tasks:
            (up_to_date_tasks if up_to_date(task) else todo).append(task)
    with contextlib.ExitStack() as stack:
        client = _connect(args.dask, todo, stack) if args.dask is not None and todo else None
        sheet = _open_report(args.report) if args.report is not None else None
        show = args.progress if args.progress is not None else sys.stderr.isatty()
        progress = Progress(len(tasks), enabled=show and len(tasks) > 1 and not args.quiet)
        announce = len(tasks) == 1 and not args.quiet  # a batch: progress bar and summary only
        tally = _Tally(progress, announce=announce, sheet=sheet)
        try:
            for task in up_to_date_tasks:
                tally(skipped(task))
            if args.skip_existing:
                remove_leftovers(tasks)  # what an interrupted run was writing
            if client is not None:
                _execute_dask(todo, settings, client, tally)
            elif todo:
                _execute(todo, settings, args.jobs, tally)
        except BaseException:
            if sheet is not None:
                sheet.cancelled(tally.unfinished(tasks))
            raise
        finally:
            progress.close()
            if sheet is not None:
                sheet.close()
    failed, skips = tally.failed, tally.skipped
    done = len(tasks) - failed - skips
    if (len(tasks) > 1 and not args.quiet) or failed:
        counts = f"{done} done, {skips} skipped, {failed} failed" if skips else ""
        print(f"{PROG}: {counts or f'{done} done, {failed} failed'}", file=sys.stderr)
    return 1 if failed else 0


def _check_dask(value: str, jobs: int) -> None:
    """--dask: its form, --jobs, then whether Dask is installed (before any work)."""
    from ..batch import ClusterError, parse_cluster, require_distributed

    if jobs != 1:
        raise UsageError(
            "--jobs and --dask cannot be combined (with --dask local:N, N is the number of "
            "worker processes)"
        )
    try:
        parse_cluster(value)
        require_distributed()
    except (ValueError, ClusterError) as exc:
        raise UsageError(f"--dask: {exc}") from None


def _open_report(path: str):
    from ..batch import Report

    try:
        return Report(path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the report: {exc.strerror or exc}") from None


def _connect(cluster: str, tasks: list[Task], stack: contextlib.ExitStack):
    """The Dask client of --dask, closed (and a local cluster stopped) with `stack`."""
    from ..batch import ClusterError, connect, parse_cluster

    if parse_cluster(cluster)[0] == "local":
        # runs once the local cluster is closed (Ctrl-C included): no worker of ours is
        # writing any more, so the temporary files of those killed mid-write can go
        stack.callback(remove_leftovers, tasks)
    try:
        return stack.enter_context(connect(cluster, quiet_interrupt=True))
    except ClusterError as exc:
        raise UsageError(str(exc)) from None


def _execute_dask(tasks: list[Task], settings: Settings, client, tally) -> None:
    """Run the tasks on a Dask cluster (skinsmooth_core.batch.retouch_batch)."""
    from ..batch import ClusterError, retouch_batch

    try:
        retouch_batch(tasks, client=client, settings=settings, on_outcome=tally)
    except ClusterError as exc:
        raise UsageError(str(exc)) from None


def _same_format(ext: str) -> tuple[str, ...]:
    groups = ((".jpg", ".jpeg", ".jpe"), (".tif", ".tiff"), (".png",), (".webp",))
    return next(group for group in groups if ext in group)


class _Tally:
    """Reports each outcome as it comes and counts them: warnings (each once), "wrote"
    lines when announcing, errors, the progress bar, the CSV report."""

    def __init__(self, progress: Progress, *, announce: bool = False, sheet=None):
        self.progress, self.announce, self.sheet = progress, announce, sheet
        self.failed = self.skipped = 0
        self.warned: set[str] = set()
        self.finished: Counter = Counter()

    def __call__(self, outcome: Outcome) -> None:
        progress = self.progress
        for message in outcome.warnings:
            if message not in self.warned:
                self.warned.add(message)
                progress.print(f"{PROG}: warning: {message}")
        if self.announce:
            for path in outcome.written:
                print(f"wrote {path}", flush=True)
            if outcome.skipped:
                print(f"skipped {outcome.target} (newer than its input)", flush=True)
        if outcome.error:
            self.failed += 1
            progress.print(outcome.error)
        elif outcome.skipped:
            self.skipped += 1
        if self.sheet is not None:
            self.sheet.add(outcome)
        self.finished[outcome.source] += 1
        progress.advance(os.path.basename(outcome.source))

    def unfinished(self, tasks: list[Task]) -> list[Task]:
        """The tasks without an outcome yet (for "cancelled" report rows)."""
        left, rest = Counter(self.finished), []
        for task in tasks:
            if left[task.source]:
                left[task.source] -= 1
            else:
                rest.append(task)
        return rest


def _execute(tasks: list[Task], settings: Settings, jobs: int, tally: _Tally) -> None:
    """Run the tasks (in `jobs` processes when > 1), giving each outcome to `tally`."""
    if jobs == 1 or len(tasks) == 1:
        for task in tasks:
            tally(process(task, settings))
        return
    from ..batch.pool import run_pool

    def retrying(task: Task) -> None:
        tally.progress.print(
            f"{PROG}: warning: a worker process died while {task.source} was in it; "
            "retrying that file alone"
        )

    run_pool(tasks, settings, min(jobs, len(tasks)), tally, on_retry=retrying)
