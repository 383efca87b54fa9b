"""Bad inputs that slipped between two checks: a background longer than a signals file's class probabilities
reach, a pseudo-label whose segment is infinite, a class index in non-ASCII digits. Each gives one `error: ...`
line naming the file (or option) and the field, exit code 2, and writes nothing (tests/reliability/world.py's
files, damaged one way each)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from admfit_cli.main import app

from ..helpers import assert_one_line_error, invoke
from . import world


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seams")
    found = {**world.write_signal_files(folder), **world.write_text_files(folder), "folder": folder}
    found["pseudo"] = folder / "pseudo.json"
    code, _, stderr = invoke(app, "fit", found["signals"], found["points"], "-o", found["pseudo"], "-q")
    assert code == 0, stderr
    return found


def _signals(files, name: str, **changes) -> str:
    """world's good signals with arrays replaced ('__' for '/'; None removes), saved as NAME.npz."""
    arrays = world._with(world._signal_arrays(), **changes)
    path = files["folder"] / f"{name}.npz"
    np.savez(path, **arrays)
    return str(path)


def _fit(files, signals, tmp_path):
    out = tmp_path / "out.json"
    result = invoke(app, "fit", signals, files["points"], "-o", out, "-q")
    return result, out


def _longer(values, length):
    return np.resize(values, length)  # repeats the values: still in [0, 1] (or bool)


# ---- signals.npz: a background longer than 'probs' reach (docs/formats.md, "How long the background is") ------

@pytest.mark.parametrize("changes, words", [
    # probs and background on one level (40 steps): 41 snippets fit no pyramid stride
    ({"v1__bg_probs": "41"}, ["'v1'", "'bg_probs'", "41 snippets", "40 steps"]),
    # a coarse probs (every second step: 20) over 45 snippets: no stride r gives ceil(45 / r) = 20 (r = 2: 39-40
    # snippets, r = 3: 58-60)
    ({"v1__probs": "coarse", "v1__bg_probs": "45"}, ["'v1'", "'bg_probs'", "45 snippets", "20 steps"]),
    # step_spacing 2 (a pyramid's level 1): 20 steps reach 39-40 snippets, not 80
    ({"v1__probs": "coarse", "v1__bg_probs": "80", "step_origin": 0.0, "step_spacing": 2.0},
     ["'v1'", "'bg_probs'", "80 snippets", "step_spacing"]),
    # an identity time axis (spacing 1): a background longer than probs
    ({"v2__bg_probs": "50", "step_origin": 0.0, "step_spacing": 1.0}, ["'v2'", "'bg_probs'", "50 snippets"]),
])
def test_a_background_longer_than_the_probs_reach_is_refused(files, tmp_path, changes, words):
    good = world._signal_arrays()
    arrays = {}
    for key, value in changes.items():
        video, _, name = key.partition("__")
        if value == "coarse":
            arrays[key] = good[f"{video}/probs"][::2]
        elif name in ("bg_probs", "background"):
            arrays[key] = _longer(good[f"{video}/bg_probs"], int(value))
        else:
            arrays[key] = np.array(value)
    signals = _signals(files, "sig_bg_long", **arrays)
    (code, stdout, stderr), out = _fit(files, signals, tmp_path)
    assert_one_line_error(code, stdout, stderr, signals, *words)
    assert not out.exists()


def test_a_background_mask_longer_than_the_probs_reach_is_refused(files, tmp_path):
    good = world._signal_arrays()
    masks = {f"{video}__background": good[f"{video}/bg_probs"] > 0.5 for video in ("v1", "v2")}
    masks["v2__background"] = _longer(masks["v2__background"], 60)
    signals = _signals(files, "sig_mask_long", v1__bg_probs=None, v2__bg_probs=None, **masks)
    (code, stdout, stderr), out = _fit(files, signals, tmp_path)
    assert_one_line_error(code, stdout, stderr, signals, "'v2'", "'background'", "60 snippets")
    assert not out.exists()


@pytest.mark.parametrize("centres", [{}, {"step_origin": 0.0, "step_spacing": 2.0},
                                     {"step_origin": 0.5, "step_spacing": 2.0}])  # none, admfit_torch's, window-aligned
def test_the_background_of_a_coarse_level_has_the_lengths_its_stride_gives(files, tmp_path, centres):
    good = world._signal_arrays()
    coarse = {"v1__probs": good["v1/probs"][::2], "v2__probs": good["v2/probs"][::2],  # 20 steps each
              **{key: np.array(value) for key, value in centres.items()}}
    for length in (39, 40, 41):  # ceil(T / 2) = 20 for T = 39 and 40 only
        signals = _signals(files, f"sig_coarse_{length}", v1__bg_probs=_longer(good["v1/bg_probs"], length),
                           **coarse)
        (code, stdout, stderr), out = _fit(files, signals, tmp_path)
        if length <= 40:
            assert code == 0 and out.exists(), stderr
            out.unlink()
        else:
            assert_one_line_error(code, stdout, stderr, signals, "'v1'", "'bg_probs'", "41 snippets", "20 steps")
            assert not out.exists()


# ---- pseudo-labels: non-finite segments and times --------------------------------------------------------------

def _pseudo_json(files, name: str, **change) -> str:
    document = json.loads(files["pseudo"].read_text(encoding="utf-8"))
    document["results"]["v1"][0].update(change)
    path = files["folder"] / f"{name}.json"
    path.write_text(json.dumps(document), encoding="utf-8")  # json writes inf as Infinity, nan as NaN
    return str(path)


@pytest.mark.parametrize("change, field", [
    ({"segment": [1.0, float("inf")]}, "results.v1.0.segment.1"),
    ({"segment": [float("-inf"), 2.0]}, "results.v1.0.segment.0"),
    ({"segment": [float("nan"), 2.0]}, "results.v1.0.segment.0"),
    ({"segment": [1.0]}, "results.v1.0.segment.1"),  # its end is missing
])
def test_eval_pseudo_refuses_a_non_finite_segment(files, change, field):
    pseudo = _pseudo_json(files, "pl_segment", **change)
    assert_one_line_error(*invoke(app, "eval-pseudo", files["gt"], pseudo), pseudo, "video 'v1'", f"'{field}'")


# ---- plot --label: an index is ASCII digits ------------------------------------------------------------------

@pytest.mark.parametrize("label", ["\uff12", "\u0662", " \u0662 "])  # fullwidth 2, Arabic-Indic 2
def test_plot_takes_only_ascii_digits_as_a_class_index(files, tmp_path, label):
    out = tmp_path / "figure.png"
    code, stdout, stderr = invoke(app, "plot", files["signals"], files["pseudo"], "--video", "v1", "--label", label,
                                  "-o", out)
    assert_one_line_error(code, stdout, stderr, files["signals"].name, "field 'label'", "--label",
                          f"unknown class {label!r}")
    assert not out.exists()
    code, _, stderr = invoke(app, "plot", files["signals"], files["pseudo"], "--video", "v1", "--label", " 2 ",
                             "-o", out)
    assert code == 0 and out.exists(), stderr  # ASCII digits stay an index (surrounding blanks as before)
