"""`--report` and `--skip-existing` on local batches, `smooth_skin_info`, and `--dask`
without Dask installed (these need no cluster; tests/test_dask_batch.py runs one)."""

import csv
import os
import sys

import numpy as np
import pytest

from skinsmooth_core.batch import REPORT_COLUMNS, retouch_batch
from skinsmooth_core.batch._jobs import (
    Settings,
    own_outputs,
    plan,
    process,
    remove_leftovers,
    with_absent,
)
from skinsmooth_core.cli import main
from skinsmooth_core.io import read_image, write_image
from skinsmooth_core.pipeline import auto_scale, smooth_skin, smooth_skin_info

COLOR = ["--mask", "color"]


def run(*args):
    return main([str(a) for a in args])


def rows(path):
    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        assert tuple(reader.fieldnames) == REPORT_COLUMNS
        return list(reader)


@pytest.fixture
def shoot(tmp_path, astronaut):
    folder = tmp_path / "shoot"
    folder.mkdir()
    for i, (name, size) in enumerate([("a.png", 96), ("b.jpg", 128), ("c.tif", 80)]):
        write_image(
            folder / name, np.ascontiguousarray(astronaut[40 : 40 + size, 150 + 9 * i :][:, :size])
        )
    (folder / "list.jpg").write_text("eggs, milk, bread\n")
    return folder


# ---------------------------------------------------------------- smooth_skin_info


def test_smooth_skin_info_returns_what_smooth_skin_used(astronaut):
    face = np.ascontiguousarray(astronaut[:256, 128:384])
    result, info = smooth_skin_info(face, mask="color", strength=0.8)
    np.testing.assert_array_equal(result, smooth_skin(face, mask="color", strength=0.8))
    assert 0.05 < info["skin"] < 0.9
    # the scale it chose gives the same picture when passed explicitly
    again = smooth_skin(face, mask="color", strength=0.8, scale=info["scale"])
    np.testing.assert_array_equal(again, result)
    # a mask of one's own: its mean, and auto_scale of its area
    mask = np.zeros(face.shape[:2], np.float32)
    mask[64:192, 64:160] = 1.0
    _, info = smooth_skin_info(face, mask=mask)
    assert info["skin"] == pytest.approx(mask.mean())
    assert info["scale"] == pytest.approx(auto_scale(128 * 96, 256, 256))
    assert smooth_skin_info(face, mask="none", scale=2.5)[1] == {"scale": 2.5, "skin": 1.0}


# ---------------------------------------------------------------- --report


@pytest.mark.parametrize("jobs", [1, 2])
def test_report_has_a_row_per_input(tmp_path, shoot, capsys, jobs):
    out, report = tmp_path / "out", tmp_path / "report.csv"
    missing = tmp_path / "gone.png"
    args = [shoot, missing, "-o", out, "--report", report, "--jobs", jobs, "--scale", "1.5"]
    assert run(*args, *COLOR) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == "skinsmooth: 3 done, 2 failed"
    by_name = {os.path.basename(row["input"]): row for row in rows(report)}
    assert sorted(by_name) == ["a.png", "b.jpg", "c.tif", "gone.png", "list.jpg"]
    for name, size in [("a.png", 96), ("b.jpg", 128), ("c.tif", 80)]:
        row = by_name[name]
        assert row["status"] == "done" and row["error"] == ""
        assert row["output"] == str(out / name) and (out / name).is_file()
        assert float(row["megapixels"]) == pytest.approx(size * size / 1e6, abs=5e-4)
        assert float(row["scale"]) == 1.5
        image, _ = read_image(shoot / name)
        share = smooth_skin_info(image, mask="color", scale=1.5)[1]["skin"]
        assert float(row["skin_share"]) == pytest.approx(share, abs=1e-4)
        assert 0 <= float(row["seconds"]) < 120
    for name, reason in [("list.jpg", "not an image file"), ("gone.png", "no such file")]:
        row = by_name[name]
        assert row["status"] == "failed" and reason in row["error"]
        assert row["error"] in err  # the same line as on stderr
        assert row["megapixels"] == row["scale"] == row["skin_share"] == ""


def test_report_cannot_be_written_is_a_usage_error(tmp_path, shoot, capsys):
    report = tmp_path / "no" / "such" / "folder" / "r.csv"
    assert run(shoot, "-o", tmp_path / "out", "--report", report, *COLOR) == 2
    assert "cannot write the report" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() or os.listdir(tmp_path / "out") == []


# ---------------------------------------------------------------- --skip-existing


def test_skip_existing_resumes_a_batch(tmp_path, shoot, capsys):
    out, report = tmp_path / "out", tmp_path / "again.csv"
    (shoot / "list.jpg").unlink()
    assert run(shoot, "-o", out, "--save-mask", *COLOR) == 0
    capsys.readouterr()
    before = {name: (out / name).stat().st_mtime_ns for name in os.listdir(out)}
    # as if interrupted: c's outputs never written, a temporary file of a killed writer
    (out / "c.tif").unlink()
    (out / "c-mask.png").unlink()
    (out / ".c.tif.k1ll3d_x.part").write_bytes(b"half a file")
    assert run(shoot, "-o", out, "--save-mask", "--skip-existing", "--report", report, *COLOR) == 0
    assert capsys.readouterr().err == "skinsmooth: 1 done, 2 skipped, 0 failed\n"
    assert sorted(os.listdir(out)) == sorted(before)  # the .part file is gone
    for name in ("a.png", "a-mask.png", "b.jpg", "b-mask.png"):
        assert (out / name).stat().st_mtime_ns == before[name]  # left alone
    statuses = {os.path.basename(row["input"]): row["status"] for row in rows(report)}
    assert statuses == {"a.png": "skipped", "b.jpg": "skipped", "c.tif": "done"}
    # an input newer than its output is not skipped: without --overwrite it fails by name
    stamp = (out / "a.png").stat().st_mtime + 10
    os.utime(shoot / "a.png", (stamp, stamp))
    assert run(shoot, "-o", out, "--save-mask", "--skip-existing", *COLOR) == 1
    err = capsys.readouterr().err
    assert "a.png: cannot write: file exists" in err
    assert err.strip().splitlines()[-1] == "skinsmooth: 0 done, 2 skipped, 1 failed"
    assert run(shoot, "-o", out, "--save-mask", "--skip-existing", "--overwrite", *COLOR) == 0
    assert capsys.readouterr().err == "skinsmooth: 1 done, 2 skipped, 0 failed\n"
    assert (out / "a.png").stat().st_mtime_ns > before["a.png"]


def test_skip_existing_one_photo_says_so(tmp_path, shoot, capsys):
    out = tmp_path / "a.png"
    assert run(shoot / "a.png", "-o", out, *COLOR) == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    assert run(shoot / "a.png", "-o", out, "--skip-existing", *COLOR) == 0
    assert capsys.readouterr() == (f"skipped {out} (newer than its input)\n", "")
    # the input itself as the output is never "up to date": refused as before
    assert run(shoot / "a.png", "-o", shoot / "a.png", "--skip-existing", *COLOR) == 1


def test_remove_leftovers_only_of_the_batch_outputs(tmp_path):
    tasks = plan(
        ["x/a.png", "x/b.b.jpg"],
        str(tmp_path),
        folder=True,
        fmt=None,
        save_mask=True,
        compare=False,
    )
    names = [".a.png.abc_123.part", ".b.b.jpg.zz9.part", ".a-mask.png.q.part"]
    names += [".other.png.abc.part", "a.png", ".a.png.note"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    removed = remove_leftovers(tasks)
    assert sorted(os.path.basename(p) for p in removed) == sorted(names[:3])
    assert sorted(os.listdir(tmp_path)) == sorted(names[3:])


# ---------------------------------------------------------------- Python API, no cluster


def test_retouch_batch_in_this_process(tmp_path, shoot):
    seen = []
    outcomes = retouch_batch(
        [shoot],
        tmp_path / "out",
        mask="color",
        preset="strong",
        strength=0.3,
        report=tmp_path / "r.csv",
        on_outcome=seen.append,
    )
    assert [os.path.basename(o.source) for o in outcomes] == ["a.png", "b.jpg", "c.tif", "list.jpg"]
    assert [o.status for o in outcomes] == ["done", "done", "done", "failed"]
    assert sorted(map(id, seen)) == sorted(map(id, outcomes))
    assert len(rows(tmp_path / "r.csv")) == 4
    result, _ = read_image(tmp_path / "out" / "a.png")
    source, _ = read_image(shoot / "a.png")
    from skinsmooth_core.pipeline import preset_options

    expected = smooth_skin(source, mask="color", **{**preset_options("strong"), "strength": 0.3})
    np.testing.assert_array_equal(result, expected)
    with pytest.raises(ValueError, match="strength"):
        retouch_batch([shoot], tmp_path / "x", strength=2)
    with pytest.raises(ValueError, match="output"):
        retouch_batch([shoot])


# ---------------------------------------------------------------- --dask without Dask


def test_dask_without_distributed_says_what_to_install(tmp_path, shoot, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    assert run(shoot, "-o", tmp_path / "out", "--dask", "local:2", *COLOR) == 2
    err = capsys.readouterr().err
    assert "pip install 'skinsmooth[cluster]'" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


# ------------------------------------------- a retried task and its first try's files


def _retried(tmp_path, shoot, *, mask_target):
    """A task as the batch runners send it: outputs noted absent before the batch."""
    target = str(tmp_path / "out" / "a.png")
    os.makedirs(os.path.dirname(target))
    task = plan(
        [str(shoot / "a.png")],
        str(tmp_path / "out"),
        folder=True,
        fmt=None,
        save_mask=mask_target,
        compare=False,
    )[0]
    return with_absent(task), Settings(mask="color")


def test_with_absent_notes_only_the_missing_outputs(tmp_path, shoot):
    task, _ = _retried(tmp_path, shoot, mask_target=True)
    assert task.absent == (task.target, task.mask_target)
    write_image(task.target, np.zeros((4, 4, 3), np.uint8))
    assert with_absent(task).absent == (task.mask_target,)
    assert own_outputs(task) == [task.target]


def test_a_retry_keeps_the_set_its_first_try_wrote(tmp_path, shoot):
    task, settings = _retried(tmp_path, shoot, mask_target=True)
    first = process(task, settings)  # the first try: its worker dies before it reports
    assert first.status == "done"
    before = {path: open(path, "rb").read() for path in first.written}
    again = process(task, settings)
    assert again.status == "done", again.error
    assert again.written == first.written and again.megapixels is None  # no second retouch
    assert {path: open(path, "rb").read() for path in again.written} == before


def test_a_retry_replaces_a_half_moved_set(tmp_path, shoot):
    task, settings = _retried(tmp_path, shoot, mask_target=True)
    write_image(task.target, np.zeros((96, 96, 3), np.uint8))  # moved before the worker died
    outcome = process(task, settings)
    assert outcome.status == "done", outcome.error
    retouched, _ = read_image(task.target)
    assert retouched.mean() > 50  # the photo, not the first try's file
    assert os.path.exists(task.mask_target)


def test_a_file_there_before_the_batch_is_never_its_own(tmp_path, shoot):
    task, settings = _retried(tmp_path, shoot, mask_target=False)
    write_image(task.target, np.zeros((4, 4, 3), np.uint8))
    task = with_absent(task)  # the file was there when the batch started
    outcome = process(task, settings)
    assert outcome.status == "failed" and "file exists" in outcome.error
    assert read_image(task.target)[0].shape == (4, 4, 3)  # untouched
