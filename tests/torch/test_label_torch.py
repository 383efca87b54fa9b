"""`admfit label --detector admfit_torch` on a tiny trained checkpoint: the same signals and pseudo-labels as the
plug-in run in Python (load_detector, predict, fit_instances). The command itself: tests/cli/test_label.py."""
from __future__ import annotations

import json

import numpy as np
import pytest

from admfit import fit_instances
from admfit.detector import load_detector
from admfit.files.points import save_points_json
from admfit.files.signals import load_signals
from admfit.grid import SnippetGrid
from admfit_cli.main import app as admfit_app
from admfit_cli.torch_main import app as torch_app

from ..helpers import invoke
from .toydata import FPS, NUM_FRAMES, STRIDE, toy_videos, write_toy_dataset

VIDEOS = dict(num_videos=4, length=64, seed=2)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A base model trained one epoch on the toy set (a few seconds), and the set with its points as points.json
    in the checkpoint's vocabulary (the classes the annotations use)."""
    folder = tmp_path_factory.mktemp("toy")
    toy = write_toy_dataset(folder, **VIDEOS)
    code, _, stderr = invoke(torch_app, "train", "--stage", "base", "--features", toy["features"], "--annotations",
                             toy["annotations"], "--points", toy["points"], "-o", folder / "run", "--config",
                             "cpu-small", "--set", "optim.epochs=1", "--set", "optim.warmup_epochs=0", "--no-progress")
    assert code == 0, stderr
    _, _, points, _ = toy_videos(**VIDEOS)
    save_points_json(folder / "points.json", points, classes=sorted({p.label for p in points}))
    return {**toy, "points": folder / "points.json", "checkpoint": folder / "run" / "base" / "checkpoint.pt"}


def test_label_with_the_reference_detector_matches_the_plugin_in_python(checkpoint, tmp_path):
    out = tmp_path / "out"
    code, _, stderr = invoke(admfit_app, "label", "--detector", "admfit_torch", "--detector-arg",
                             f"checkpoint={checkpoint['checkpoint']}", "--detector-arg", "device=cpu", "--features",
                             checkpoint["features"], "--points", checkpoint["points"], "--annotations",
                             checkpoint["annotations"], "-o", out)
    assert code == 0, stderr
    signals = load_signals(out / "signals.npz")
    labelled = json.loads((out / "pseudo_labels.json").read_text())

    detector = load_detector("admfit_torch", checkpoint=checkpoint["checkpoint"], device="cpu")
    assert signals.classes == list(detector.classes)
    points = json.loads(checkpoint["points"].read_text())["points"]
    grid = SnippetGrid(fps=FPS, stride=STRIDE, num_frames=NUM_FRAMES)
    probs, bg, rows, centres = {}, {}, {}, set()
    for video, entries in points.items():
        output = detector.predict(video, np.load(checkpoint["features"] / f"{video}.npy"), grid)
        probs[video] = np.asarray(output.class_probs[-1], dtype=np.float32)  # as signals.npz stores them
        bg[video] = np.asarray(output.bg_probs[0], dtype=np.float32)
        np.testing.assert_array_equal(signals.probs[video], probs[video])
        np.testing.assert_array_equal(signals.bg_probs[video], bg[video])
        centres.add(output.level_centres(len(output.class_probs) - 1))
        snippets = np.rint(grid.seconds_to_snippet([e["time_s"] for e in entries])).astype(np.int64)
        rows[video] = np.stack([snippets, [signals.classes.index(e["label"]) for e in entries]], axis=1)
    assert centres == {signals.centres} and signals.centres.spacing == 4.0  # cpu-small: 3 levels, step j on 4 j
    expected = fit_instances(probs, rows, bg_probs=bg, grid=grid, centres=signals.centres)
    found = [e for video in points for e in labelled["results"][video]]
    assert len(found) == len(expected) == sum(len(entries) for entries in points.values())
    for entry, label in zip(found, expected):
        assert (entry["point"], entry["t_star"], entry["b_s"], entry["b_e"]) == (label.point, label.t_star,
                                                                                 label.b_s, label.b_e)
        np.testing.assert_allclose([entry["start"], entry["end"], entry["sigma"], entry["segment"][0]],
                                   [label.start, label.end, label.sigma, label.start_s], rtol=1e-12)
