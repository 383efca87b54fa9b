"""`admfit plot` and admfit.plotting: what the figure draws is what ADM fitted, and the files are stable."""
from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("matplotlib")

from admfit import ADMConfig, SnippetGrid, fit_instances  # noqa: E402
from admfit.errors import InputError  # noqa: E402
from admfit.files.points import save_points_json  # noqa: E402
from admfit.files.signals import save_signals  # noqa: E402
from admfit.fit.signal import prepare_background  # noqa: E402
from admfit.plotting import plot_video_class, save_figure  # noqa: E402
from admfit_cli.main import app  # noqa: E402

LENGTH = 60
CLASSES = ["Jump", "Throw"]
FIT = {"t_star": 20, "sigma": 3.0, "omega": 4.0, "score": 0.8, "start": 14.0, "end": 26.5}


def _signals(length=LENGTH):
    t = np.arange(length)
    probs = np.zeros((length, 2))
    probs[:, 0] = 0.8 * np.exp(-0.5 * ((t - 20) / 3.0) ** 2)
    probs[:, 1] = 0.6 * (np.abs(t - 45) <= 4)
    return probs, 1.0 - probs.max(axis=1)


def _line(figure, gid):
    lines = [line for line in figure.axes[0].get_lines() if line.get_gid() == gid]
    assert len(lines) == 1, f"expected one {gid} line, got {len(lines)}"
    return np.asarray(lines[0].get_xdata(), float), np.asarray(lines[0].get_ydata(), float)


def test_gaussian_line_peaks_at_score_and_has_width_sigma():
    probs, bg = _signals()
    figure = plot_video_class(probs, class_index=0, bg_probs=bg, pseudo_labels=[FIT], points=[21])
    t, y = _line(figure, "gaussian")
    assert y.max() == pytest.approx(0.8) and t[np.argmax(y)] == 20
    for edge in (17.0, 23.0):
        assert y[t == edge] == pytest.approx(0.8 * np.exp(-0.5))


def test_uniform_line_is_score_within_omega_and_zero_outside():
    probs, bg = _signals()
    fit = SimpleNamespace(**FIT)  # objects with attributes (PseudoLabel) are read like mappings
    figure = plot_video_class(probs, class_index=0, bg_probs=bg, pseudo_labels=[fit])
    t, y = _line(figure, "uniform")
    distance = np.abs(t - 20)
    assert np.all(y[distance < 4] == 0.8) and np.all(y[distance > 4] == 0.0)
    # Vertical sides exactly at t* +- omega: both levels sit there.
    assert sorted(y[distance == 4]) == [0.0, 0.0, 0.8, 0.8]


def test_real_fit_drawn_where_fit_instances_put_it():
    probs, bg = _signals()
    label = fit_instances({"v": probs}, {"v": [[21, 0]]}, bg_probs={"v": bg})[0]
    figure = plot_video_class(probs, class_index=0, bg_probs=bg, pseudo_labels=[label], points=[21])
    t, y = _line(figure, "gaussian")
    assert t[np.argmax(y)] == label.t_star and y.max() == pytest.approx(label.score)
    assert y[t == label.t_star + label.sigma] == pytest.approx(label.score * np.exp(-0.5))


def test_background_markers_are_the_background_mask():
    probs, _ = _signals()
    bg = np.random.default_rng(0).uniform(size=LENGTH)
    config = ADMConfig(bg_threshold=0.6, point_radius=3)
    figure = plot_video_class(probs, class_index=1, bg_probs=bg, points=[10, 45], config=config)
    t, y = _line(figure, "background")
    expected = np.flatnonzero(prepare_background(bg, config, [10, 45]))
    assert expected.size and np.array_equal(t, expected) and np.all(y == 0)


def test_seconds_axis_and_coarse_signal():
    probs, bg = _signals()
    coarse = probs[::4]  # a last pyramid level: 15 steps for 60 background snippets
    grid = SnippetGrid(fps=25.0, stride=4, num_frames=16)
    figure = plot_video_class(coarse, class_index=0, bg_probs=bg, pseudo_labels=[FIT], grid=grid)
    t, _ = _line(figure, "signal")
    assert np.array_equal(t, grid.snippet_to_seconds(np.arange(LENGTH)))
    t, y = _line(figure, "gaussian")
    assert t[np.argmax(y)] == pytest.approx(grid.snippet_to_seconds(20))
    raw_t, raw_y = _line(figure, "raw")
    assert raw_t.size == coarse.shape[0] and np.array_equal(raw_y, coarse[:, 0])
    assert "seconds" in figure.axes[1].get_xlabel()
    assert "snippets" in plot_video_class(probs, class_index=0).axes[1].get_xlabel()


def test_save_figure_png_svg_stable_bytes(tmp_path):
    probs, bg = _signals()

    def draw():
        return plot_video_class(probs, class_index=0, bg_probs=bg, pseudo_labels=[FIT], points=[21],
                                ground_truth=[(14.0, 26.0)], class_name="Jump")

    for suffix, magic in ((".png", b"\x89PNG"), (".svg", b"<?xml")):
        first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
        save_figure(draw(), first)
        save_figure(draw(), second)
        assert first.read_bytes().startswith(magic)
        assert first.read_bytes() == second.read_bytes()
    with pytest.raises(InputError, match="unsupported image format") as error:
        save_figure(draw(), tmp_path / "figure.jpg")
    assert error.value.field == "output" and "figure.jpg" in str(error.value)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.png", "a.svg", "b.png", "b.svg"]


def test_missing_matplotlib_is_an_input_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # what an absent package looks like
    with pytest.raises(InputError, match=r"pip install 'admfit\[plot\]'") as error:
        plot_video_class(_signals()[0], class_index=0)
    assert error.value.field == "plot"


# --- the command -----------------------------------------------------------------------------------

@pytest.fixture()
def fitted(tmp_path):
    """signals.npz, points.json and the pseudo_labels.json `admfit fit` made of them."""
    probs, bg = _signals()
    grid = SnippetGrid(fps=25.0)
    signals, points, pseudo = tmp_path / "signals.npz", tmp_path / "points.json", tmp_path / "pl.json"
    save_signals(signals, {"v1": probs}, classes=CLASSES, bg_probs={"v1": bg}, grids={"v1": grid})
    save_points_json(points, [SimpleNamespace(video="v1", label="Jump", time_s=float(grid.snippet_to_seconds(21))),
                              SimpleNamespace(video="v1", label="Throw", time_s=float(grid.snippet_to_seconds(44)))],
                     classes=CLASSES)
    result = CliRunner().invoke(app, ["fit", str(signals), str(points), "-o", str(pseudo), "-q"])
    assert result.exit_code == 0, result.stderr
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"database": {"v1": {"subset": "train", "annotations": [
        {"label": "Jump", "segment": [float(grid.snippet_to_seconds(14)), float(grid.snippet_to_seconds(26))]}]}}}))
    return tmp_path, signals, pseudo, gt


def plot(*args):
    result = CliRunner().invoke(app, ["plot", *map(str, args)])
    return result.exit_code, result.stderr


def test_plot_command_end_to_end(fitted, monkeypatch):
    folder, signals, pseudo, gt = fitted
    out = folder / "fig.svg"
    code, err = plot(signals, pseudo, "--video", "v1", "--label", "Jump", "--gt", gt, "-o", out)
    assert code == 0, err
    text = out.read_text()
    assert "v1: Jump" in text and "Gaussian fit" in text and "ground truth" in text
    monkeypatch.chdir(folder)
    code, err = plot(signals, pseudo, "--video", "v1", "--label", "1")  # by index, default output name
    assert code == 0, err
    assert (folder / "v1_Throw.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("args, field", [
    (["--video", "v9", "--label", "Jump"], "field 'video'"),
    (["--video", "v1", "--label", "Swim"], "field 'label'"),
    (["--video", "v1", "--label", "7"], "field 'label'"),
    (["--video", "v1", "--label", "Jump", "--gt", "missing.json"], "missing.json"),
    (["--video", "v1", "--label", "Jump", "-o", "{folder}/fig.jpg"], "field 'output'"),
    (["--video", "v1", "--label", "Jump", "-o", "{folder}/no/fig.png"], "field 'output'"),
])
def test_plot_command_bad_input(fitted, args, field):
    folder, signals, pseudo, _ = fitted
    args = [arg.format(folder=folder) for arg in args]
    before = sorted(folder.rglob("*"))
    code, err = plot(signals, pseudo, *args, *([] if "-o" in args else ["-o", folder / "fig.png"]))
    assert code == 2
    assert field in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert sorted(folder.rglob("*")) == before


def test_plot_command_uses_the_config_the_fit_recorded(fitted):
    from admfit.plotting import recorded_config as _config

    folder, _, pseudo, _ = fitted
    document = json.loads(pseudo.read_text())
    document["meta"]["config"]["bg_threshold"] = 0.9
    assert _config(None, document["meta"], pseudo).bg_threshold == 0.9
    override = folder / "adm.yaml"
    override.write_text("bg_threshold: 0.2\n")
    assert _config(override, document["meta"], pseudo).bg_threshold == 0.2
    assert _config(None, {}, pseudo) == ADMConfig()
