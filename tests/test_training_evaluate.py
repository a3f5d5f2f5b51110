"""`training evaluate` scores the shipped predictor exactly as it runs (no TensorFlow needed)."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from skinsmooth_core.masks.segmenter import SkinSegmenter
from skinsmooth_core.training.evaluate import evaluate, format_table

pytestmark = pytest.mark.numerical

CROPS = [(0, 0, 512, 512), (0, 100, 400, 400), (60, 120, 300, 320), (20, 40, 512, 380)]


@pytest.fixture(scope="module")
def data_dir(astronaut, tmp_path_factory):
    """Four crops of the portrait labelled with the shipped model's own mask (255 above its
    threshold), one band of each marked 128 (ignore)."""
    root = tmp_path_factory.mktemp("skin")
    (root / "images").mkdir()
    (root / "masks").mkdir()
    segmenter = SkinSegmenter(num_threads=2)
    rows = []
    for i, (top, left, bottom, right) in enumerate(CROPS):
        image = np.ascontiguousarray(astronaut[top:bottom, left:right])
        path = root / "images" / f"p{i}.jpg"
        Image.fromarray(image).save(path, quality=100)
        image = np.asarray(Image.open(path))  # score what evaluate will read
        label = np.where(segmenter.predict(image) > segmenter.threshold, 255, 0).astype(np.uint8)
        label[:10] = 128
        Image.fromarray(label).save(root / "masks" / f"p{i}.png")
        source = "sfa" if i % 2 else "ccp"
        rows.append([f"p{i}", source, "val", right - left, bottom - top, 0.0, "astronaut", "-"])
    with open(root / "manifest.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "source", "split", "width", "height", "skin_fraction", "origin",
                         "terms"])  # fmt: skip
        writer.writerows(rows)
    return root


def test_labels_from_the_predictor_score_one(data_dir):
    threshold = SkinSegmenter(num_threads=1).threshold
    results = evaluate(
        data_dir, num_threads=2, thresholds=(0.3, threshold, 0.9), log=lambda _: None
    )
    assert set(results["unet"]) == {"all", "ccp", "sfa"}
    assert results["unet"]["all"]["images"] == 4
    # Exactly 1: evaluate runs the same predictor on the same decoded pixels as the labels
    # were made with, so its masks are bit-identical to theirs (bound 0, see
    # test_segmenter.test_thread_count) and no pixel near the threshold can flip.
    assert results["unet"]["all"]["f1"] == 1.0 == results["unet"]["all"]["iou"]
    assert results["threshold"] == threshold
    assert results["sweep"][str(threshold)]["f1"] == 1.0
    # a lower threshold adds false positives, a higher one misses skin
    assert results["sweep"]["0.3"]["precision"] < 1.0 == results["sweep"]["0.3"]["recall"]
    assert results["sweep"]["0.9"]["recall"] < 1.0 == results["sweep"]["0.9"]["precision"]
    assert results["color"]["all"]["f1"] < 0.95  # the colour rules are scored on the same labels
    table = format_table(results)
    assert "| all | 4 | 1.000 |" in table and "| 0.9 |" in table


def test_every_nth_photo(data_dir):
    results = evaluate(data_dir, num_threads=2, every=2, log=lambda _: None)
    assert results["unet"]["all"]["images"] == 2
    assert set(results["unet"]) == {"all", "ccp"}  # photos 0 and 2
    assert "sweep" not in results


def test_command_line_writes_json_and_rejects_bad_arguments(data_dir, tmp_path):
    command = [sys.executable, "-m", "skinsmooth_core.training", "evaluate", "--data",
               str(data_dir), "--threads", "2"]  # fmt: skip
    out = tmp_path / "scores.json"
    threshold = SkinSegmenter(num_threads=1).threshold
    done = subprocess.run(
        [*command, "--sweep", f"0.5,{threshold}", "--json", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["sweep"][str(threshold)]["f1"] == 1.0
    for bad in (["--sweep", "0.5,1.5"], ["--every", "0"]):
        done = subprocess.run([*command, *bad], capture_output=True, text=True)
        assert done.returncode == 2 and bad[0] in done.stderr


def test_wild_benchmark_under_other_lights(data_dir):
    from skinsmooth_core.training.lights import relight
    from skinsmooth_core.training.wild import benchmark, wild_photos

    seen = []

    def record(image):
        seen.append(image)
        return np.zeros(image.shape[:2], np.float32)

    methods = {"zero": (record, 0.5)}
    lights = ("daylight", "tungsten", "grey")
    results = benchmark(data_dir, methods, groups=2, lights=lights, log=lambda _: None)
    assert list(results) == ["zero daylight", "zero tungsten", "zero grey"]
    photos = [image for _, _, image, _ in wild_photos(data_dir, groups=2)]
    assert len(seen) == 3 * len(photos) == 3 * (2 + 2)  # the groups, then the two ccp photos
    for i, photo in enumerate(photos):  # each photo under each light, the same labels
        daylight, tungsten, grey = seen[3 * i : 3 * i + 3]
        np.testing.assert_array_equal(daylight, photo)
        np.testing.assert_array_equal(tungsten, relight(photo, "tungsten"))
        assert (grey == grey[:, :, :1]).all()
    # the two ccp photos also count by their skin tone (as photographed), the groups not
    tones = [key for key in results["zero grey"] if key.startswith("skin ")]
    assert sum(results["zero grey"][key]["photos"] for key in tones) == 2
    plain = benchmark(data_dir, methods, groups=2, log=lambda _: None)
    assert list(plain) == ["zero"]  # daylight alone: the method's own name
    assert plain["zero"]["all"] == results["zero daylight"]["all"]


def test_wild_command_line_checks_lights(data_dir):
    command = [sys.executable, "-m", "skinsmooth_core.training", "wild", "--data", str(data_dir)]
    done = subprocess.run([*command, "--lights", "daylight,neon"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "unknown light 'neon'" in done.stderr and "tungsten" in done.stderr
