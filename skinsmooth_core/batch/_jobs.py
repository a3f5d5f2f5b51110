"""The work of the command: which files go where, and retouching one of them.

Everything here runs in the main process or, with ``--jobs N``, in worker
processes; :func:`process` returns its outcome instead of printing, so the
main process reports in order and counts failures.
"""

from __future__ import annotations

import glob
import os
import time
import traceback
import warnings
from dataclasses import dataclass, field, replace

import numpy as np

from .._image import from_float
from ..io import (
    WRITE_FORMATS,
    ImageFileError,
    ImageMeta,
    check_targets,
    read_image,
    remove_partial,
    write_images,
)

INPUT_EXTENSIONS = tuple(WRITE_FORMATS)  # .jpg .jpeg .jpe .png .tif .tiff .webp
DEMO = "<sample portrait>"
_GLOB_CHARS = set("*?[")


class UsageError(ValueError):
    """A mistake on the command line (exit status 2)."""


@dataclass
class Task:
    """One image to retouch: its source (a path, or DEMO) and its output files."""

    source: str
    target: str
    mask_target: str | None = None
    compare_target: str | None = None
    # The outputs that did not exist when the batch started (see `with_absent`), or None.
    absent: tuple[str, ...] | None = None


@dataclass
class Settings:
    """What every task shares: the smooth_skin keywords and the file options."""

    smooth: dict = field(default_factory=dict)
    mask: str = "auto"
    quality: int = 95
    overwrite: bool = False
    pixel_limit: int | None = None
    debug: bool = False


@dataclass
class Outcome:
    """What became of one task: its error (one line) or the files written, and for the
    report how long it took, the photo's size, the scale used and the share of skin."""

    source: str
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    target: str | None = None
    skipped: bool = False
    seconds: float | None = None
    megapixels: float | None = None
    scale: float | None = None
    skin: float | None = None

    @property
    def status(self) -> str:
        """ "failed", "skipped" (its outputs were up to date) or "done"."""
        return "failed" if self.error else "skipped" if self.skipped else "done"


def check_settings(smooth: dict, mask: str) -> None:
    """Validate the retouch's options once, before any file (a UsageError naming the
    option), and that the learned mask is there when it is required."""
    from ..pipeline.options import MASK, check_options

    try:
        check_options(smooth)
        MASK.check(mask)
        if mask == "unet":
            from ..masks.segmenter import default_segmenter

            default_segmenter()
    except (ValueError, ImportError, RuntimeError) as exc:
        raise UsageError(" ".join(str(exc).split())) from None


def expand_inputs(patterns: list[str]) -> tuple[list[str], bool]:
    """Expand folders (their image files, sorted) and globs; return (files, is_batch).

    A path that neither exists nor matches is kept, so it fails later with
    "no such file" like any other bad file.
    """
    files, batch = [], len(patterns) > 1
    for pattern in patterns:
        if os.path.isdir(pattern):
            batch = True
            found = [
                os.path.join(pattern, name)
                for name in sorted(os.listdir(pattern))
                if name.lower().endswith(INPUT_EXTENSIONS) and not name.startswith(".")
            ]
            if not found:
                raise UsageError(f"{pattern}: folder has no JPEG, PNG, TIFF or WebP file")
            files += found
        elif not os.path.exists(pattern) and _GLOB_CHARS & set(pattern):
            batch = True
            found = sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
            if not found:
                raise UsageError(f"{pattern}: no file matches")
            files += found
        else:
            files.append(pattern)
    return files, batch or len(files) > 1


def plan(
    sources: list[str],
    output: str,
    *,
    folder: bool,
    fmt: str | None,
    save_mask: bool,
    compare: bool,
) -> list[Task]:
    """Map every source to its output file(s); `folder` says whether `output` is a folder."""
    tasks, seen = [], {}
    for source in sources:
        stem, ext = os.path.splitext(os.path.basename(source))
        if source == DEMO:
            stem, ext = "astronaut", ".png"
        if folder:
            target = os.path.join(output, stem + (fmt or ext))
        else:
            target = output
        base, target_ext = os.path.splitext(target)
        if target_ext.lower() not in WRITE_FORMATS:
            raise UsageError(
                f"{target}: unknown output extension {target_ext or '(none)'!r}; "
                f"use one of {', '.join(WRITE_FORMATS)} or --format"
            )
        task = Task(
            source,
            target,
            mask_target=base + "-mask.png" if save_mask else None,
            compare_target=base + "-compare" + target_ext if compare else None,
        )
        for path in filter(None, (task.target, task.mask_target, task.compare_target)):
            key = os.path.normcase(os.path.abspath(path))
            if key in seen:
                raise UsageError(f"{seen[key]} and {source} would both be written to {path}")
            seen[key] = source
        tasks.append(task)
    return tasks


def targets_of(task: Task) -> list[str]:
    """The files a task writes: the image, then its mask and before/after if asked."""
    return [path for path in (task.target, task.mask_target, task.compare_target) if path]


def up_to_date(task: Task) -> bool:
    """Whether every output of `task` exists and is at least as new as its input (for
    ``--skip-existing``). An output that is the input file itself is not up to date."""
    try:
        source = None if task.source == DEMO else os.stat(task.source)
        for path in targets_of(task):
            target = os.stat(path)
            if source is not None:
                if os.path.samestat(source, target) or target.st_mtime_ns < source.st_mtime_ns:
                    return False
    except OSError:
        return False
    return True


def with_absent(task: Task) -> Task:
    """`task`, noting which of its outputs do not exist yet: the batch's runner calls it
    before sending the task, so that a retry after its worker died knows its own files."""
    return replace(task, absent=tuple(p for p in targets_of(task) if not os.path.lexists(p)))


def own_outputs(task: Task) -> list[str]:
    """The outputs of `task` that did not exist when the batch started and do now: a first
    try of this very task wrote them (no two tasks share an output) and its worker died
    before it reported. A retry keeps them, or replaces them; it never fails on them."""
    return [p for p in task.absent or () if os.path.lexists(p)]


def skipped(task: Task) -> Outcome:
    """The outcome of a task left alone because its outputs are up to date."""
    return Outcome(task.source, target=task.target, skipped=True)


def remove_leftovers(tasks) -> list[str]:
    """Remove the temporary files (``.NAME.*.part``, see :func:`io.remove_partial`) that a
    killed writer of the tasks' outputs left; one listing per output folder, however many
    tasks. Return the paths removed."""
    wanted: dict[str, set[str]] = {}
    for task in tasks:
        for path in targets_of(task):
            folder, name = os.path.split(os.path.abspath(path))
            wanted.setdefault(folder, set()).add(name)
    removed = []
    for folder, names in wanted.items():
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        # .NAME.XXXXXXXX.part (mkstemp's random part has no dot)
        found = {e[1:-5].rpartition(".")[0] for e in entries if e[0] == "." and e[-5:] == ".part"}
        for name in sorted(found & names):
            removed += remove_partial(os.path.join(folder, name))
    return removed


# ------------------------------------------------------------------ worker side

_settings: Settings | None = None


def init_worker(settings: Settings) -> None:
    """Process-pool initializer: keep the settings and load the skin model once."""
    global _settings
    _settings = settings
    if settings.mask in ("auto", "unet"):
        try:
            from ..masks.segmenter import default_segmenter

            default_segmenter()  # cached for the life of this worker
        except Exception:  # noqa: BLE001 - reported per image by smooth_skin/skin_mask
            pass


def process_in_worker(task: Task) -> Outcome:
    return process(task, _settings)


def process(task: Task, settings: Settings) -> Outcome:
    """Retouch one image; every failure becomes the outcome's one-line error."""
    outcome = Outcome(task.source, target=task.target)
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _retouch(task, settings, outcome)
        except ImageFileError as exc:
            outcome.error = str(exc)
        except (ValueError, RuntimeError, ImportError, OSError) as exc:
            outcome.error = f"{task.source}: {_one_line(exc)}"
        except Exception as exc:  # noqa: BLE001 - a bug: still one line, the batch goes on
            outcome.error = f"{task.source}: internal error: {type(exc).__name__}: {_one_line(exc)}"
            if settings.debug:
                outcome.error += "\n" + traceback.format_exc().rstrip()
    outcome.warnings = [str(w.message) for w in caught]
    outcome.seconds = time.perf_counter() - started
    return outcome


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _retouch(task: Task, settings: Settings, outcome: Outcome) -> None:
    from ..pipeline import retouch

    targets, own = targets_of(task), own_outputs(task)
    if own and len(own) == len(targets):  # a first try wrote the whole set, then died
        outcome.written.extend(targets)
        return
    # a first try's half-moved set is replaced; any other file only with overwrite
    check_targets([p for p in targets if p not in own], overwrite=settings.overwrite)
    if task.source == DEMO:
        from skimage import data

        image, meta = data.astronaut(), ImageMeta(format="PNG", mode="RGB")
    else:
        image, meta = read_image(task.source, pixel_limit=settings.pixel_limit)
    outcome.megapixels = image.shape[0] * image.shape[1] / 1e6
    saving = task.mask_target is not None
    done = retouch(image, settings.mask, return_mask=saving, **settings.smooth)
    for message in done.warnings:
        warnings.warn(message, stacklevel=1)
    outcome.scale, outcome.skin = done.scale, done.skin
    outputs = [(task.target, done.image, meta)]
    if saving:  # exactly the mask the retouch used: saving it never changes the result
        outputs.append((task.mask_target, from_float(done.mask, np.uint8), None))
    if task.compare_target is not None:
        outputs.append((task.compare_target, side_by_side(image, done.image), meta))
    # the image and its extra outputs as one set: all written, or none
    overwrite = settings.overwrite or bool(own)
    write_images(outputs, quality=settings.quality, overwrite=overwrite)
    outcome.written.extend(path for path, _, _ in outputs)


def side_by_side(before: np.ndarray, after: np.ndarray, gap: int = 8) -> np.ndarray:
    """Before | opaque white gap | after, in the images' dtype."""
    white = from_float(np.ones((before.shape[0], gap) + before.shape[2:], np.float32), before.dtype)
    return np.concatenate([before, white, after], axis=1)
