"""ActionFormer as a detector plug-in (admfit_torch.peer_actionformer): a tiny untrained ActionFormer built by the
package itself, saved as its train.py saves checkpoints, run by `admfit label --detector actionformer`. Skipped
without the peer extra (pip install 'admfit[peer]'), except the refusal that tells a user how to get it."""
from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest

from admfit.files.signals import load_signals
from admfit_cli.main import app

from ..helpers import assert_one_line_error, invoke
from .toydata import toy_videos, write_toy_dataset

VIDEOS = dict(num_videos=4, length=64, dim=8, seed=3)
CONFIG = """\
dataset_name: thumos
model_name: LocPointTransformer
dataset: {feat_stride: 4, num_frames: 16, input_dim: 8, num_classes: 3, max_seq_len: 64, default_fps: 30.0}
model:
  backbone_type: convTransformer
  fpn_type: identity
  backbone_arch: [2, 1, 3]
  scale_factor: 2
  regression_range: [[0, 4], [4, 8], [8, 16], [16, 10000]]
  n_head: 2
  n_mha_win_size: 5
  embd_dim: 16
  fpn_dim: 16
  head_dim: 16
  use_abs_pe: false
"""


def test_without_the_extra_the_plugin_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "actionformer", None)  # as where the package is not installed
    toy = write_toy_dataset(tmp_path, **VIDEOS)
    code, stdout, stderr = invoke(app, "label", "--detector", "actionformer", "--detector-arg", "checkpoint=x.pth",
                                  "--detector-arg", "config=x.yaml", "--features", toy["features"], "--points",
                                  toy["points"], "--annotations", toy["annotations"], "-o", tmp_path / "out")
    assert_one_line_error(code, stdout, stderr, "actionformer", "pip install 'admfit[peer]'")
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    pytest.importorskip("actionformer", reason="needs the peer extra: pip install 'admfit[peer]'")
    import torch
    from actionformer.modeling import make_meta_arch

    from admfit_torch.peer_actionformer import load_actionformer_config

    folder = tmp_path_factory.mktemp("actionformer")
    (folder / "config.yaml").write_text(CONFIG)
    config = load_actionformer_config(folder / "config.yaml")
    torch.manual_seed(0)
    network = make_meta_arch(config["model_name"], **config["model"])
    # as ActionFormer's train.py saves them: a DataParallel's keys, the EMA weights beside the live ones
    weights = {f"module.{key}": value for key, value in network.state_dict().items()}
    torch.save({"epoch": 1, "state_dict": weights, "state_dict_ema": weights}, folder / "checkpoint.pth.tar")
    toy = write_toy_dataset(folder, **VIDEOS)
    _, _, _, classes = toy_videos(**VIDEOS)
    (folder / "classes.txt").write_text("\n".join(classes) + "\n")
    return {**toy, "folder": folder, "network": network.eval(), "config": config}


def _label(model, out, *extra):
    folder = model["folder"]
    return invoke(app, "label", "--detector", "actionformer", "--detector-arg",
                  f"checkpoint={folder / 'checkpoint.pth.tar'}", "--detector-arg", f"config={folder / 'config.yaml'}",
                  "--detector-arg", f"classes={folder / 'classes.txt'}", "--features", model["features"], "--points",
                  model["points"], "--annotations", model["annotations"], "-o", out, "--quiet", *extra)


def test_label_with_actionformer_writes_its_signals_on_its_time_axis(model, tmp_path):
    import torch

    code, _, stderr = _label(model, tmp_path / "out")
    assert code == 0, stderr
    signals = load_signals(tmp_path / "out" / "signals.npz")
    assert signals.classes == ["class0", "class1", "class2"]
    assert (signals.centres.origin, signals.centres.spacing) == (0.0, 8.0)  # 4 levels of ratio 2
    pseudo = json.loads((tmp_path / "out" / "pseudo_labels.json").read_text())["results"]
    points = model["points"].read_text().split()
    assert sum(len(entries) for entries in pseudo.values()) == len(points)
    for video in signals.probs:
        features = np.load(model["features"] / f"{video}.npy")
        assert signals.bg_probs[video].shape == (len(features),)
        assert signals.probs[video].shape == (math.ceil(len(features) / 8), 3)
        # ActionFormer's own point generator puts its last level's step j on snippet 8 j: the plug-in's time axis
        network = model["network"]
        with torch.no_grad():
            inputs, masks = network.preprocessing([{"feats": torch.as_tensor(features.T), "video_id": video}])
            hidden, _ = network.neck(*network.backbone(inputs, masks))
            positions = network.point_generator(hidden)[-1][:, 0].numpy()
        steps = len(signals.probs[video])
        np.testing.assert_array_equal(signals.centres.positions(steps), positions[:steps])
        # its background: 1 minus the best class score of the first level, read back from the file
        assert np.all(signals.bg_probs[video] <= 1.0) and np.all(signals.bg_probs[video] >= 0.0)


def test_actionformer_refuses_features_it_was_not_trained_on(model, tmp_path):
    wide = tmp_path / "wide"
    wide.mkdir()
    for path in model["features"].iterdir():
        np.save(wide / path.name, np.zeros((64, 16), dtype=np.float32))
    folder = model["folder"]
    code, stdout, stderr = invoke(app, "label", "--detector", "actionformer", "--detector-arg",
                                  f"checkpoint={folder / 'checkpoint.pth.tar'}", "--detector-arg",
                                  f"config={folder / 'config.yaml'}", "--detector-arg",
                                  f"classes={folder / 'classes.txt'}", "--features", wide, "--points", model["points"],
                                  "--annotations", model["annotations"], "-o", tmp_path / "out")
    assert_one_line_error(code, stdout, stderr, "actionformer", "(T, 8) features", "dataset.input_dim")
    # twice the fps, stride and window: the same snippets for admfit's length check, not the model's grid
    assert_one_line_error(*_label(model, tmp_path / "out", "--fps", "60", "--stride", "8", "--num-frames", "32"), "actionformer",
                          "stride 8 / window 32 frames", "dataset.feat_stride")
    assert not (tmp_path / "out").exists()


def test_actionformer_trains_a_step_on_exported_pseudo_labels_at_their_snippets(model, tmp_path):
    """`admfit export --to actionformer`, read by ActionFormer's own THUMOS'14 dataset: every training segment lands
    on the snippets the pseudo-label holds (one time axis), and the model takes a training step on them."""
    import torch
    from actionformer.datasets import make_dataset

    code, _, stderr = _label(model, tmp_path / "out")
    assert code == 0, stderr
    exported = tmp_path / "thumos14_pseudo.json"
    code, _, stderr = invoke(app, "export", tmp_path / "out" / "pseudo_labels.json", "--to", "actionformer",
                             "--classes", model["folder"] / "classes.txt", "-o", exported)
    assert code == 0, stderr
    dataset_cfg = model["config"]["dataset"]
    dataset = make_dataset("thumos", True, ("train",), feat_folder=str(model["features"]), json_file=str(exported),
                           feat_stride=dataset_cfg["feat_stride"], num_frames=dataset_cfg["num_frames"],
                           default_fps=None, downsample_rate=1, max_seq_len=dataset_cfg["max_seq_len"],
                           trunc_thresh=0.5, crop_ratio=None, input_dim=dataset_cfg["input_dim"], num_classes=3,
                           file_prefix=None, file_ext=".npy", force_upsampling=False)
    pseudo = json.loads((tmp_path / "out" / "pseudo_labels.json").read_text())["results"]
    items = [dataset[i] for i in range(len(dataset))]
    subsets = {video: record["subset"] for video, record in json.loads(exported.read_text())["database"].items()}
    assert sorted(item["video_id"] for item in items) == sorted(v for v in pseudo if subsets[v] == "train")
    for item in items:  # snippets start..end cover half a step either side of their centres (admfit.fit.api)
        expected = sorted([entry["start"] - 0.5, entry["end"] + 0.5] for entry in pseudo[item["video_id"]])
        np.testing.assert_allclose(sorted(item["segments"].tolist()), expected, atol=1e-4)
    network = model["network"].train()
    optimizer = torch.optim.SGD(network.parameters(), lr=1e-3)
    losses = network(items[:2])
    losses["final_loss"].backward()
    optimizer.step()
    assert torch.isfinite(losses["final_loss"])
    network.eval()


def test_the_peer_benchmark_without_the_extra_says_how_to_get_it(monkeypatch, capsys):
    """`python -m benchmarks peer_detector` where ActionFormer is not installed: one line, exit status 2."""
    from benchmarks.__main__ import main

    monkeypatch.setitem(sys.modules, "actionformer", None)  # as where the package is not installed
    assert main(["peer_detector", "--", "--quick"]) == 2
    captured = capsys.readouterr()
    assert captured.out.strip() == "== peer_detector"
    assert captured.err.strip().splitlines() == [
        "error: peer_detector needs the ActionFormer package: pip install 'admfit[peer]'"]


def test_the_peer_benchmark_table_gives_each_row_over_the_ground_truth_row():
    from benchmarks import peer_detector as peer

    gt, pseudo, main = peer.ROWS["gt"][0], peer.ROWS["pseudo"][0], peer.ADMFIT_ROWS[2]
    per_seed = {0: {main: (30.0, 35.0, "30"), gt: (50.0, 60.0, "5+25"), pseudo: (40.0, 45.0, "5+25")},
                1: {main: (34.0, 37.0, "30"), gt: (54.0, 62.0, "5+25"), pseudo: (44.0, 47.0, "5+25")}}
    rows = {row["label"]: row for row in peer.table(per_seed)}
    assert list(rows) == [gt, pseudo, main]
    pseudo = rows[pseudo]
    assert pseudo["average"]["mean"] == 42.0 and pseudo["map_0.5"]["mean"] == 46.0
    assert pseudo["over_gt"] == pytest.approx(42.0 / 52.0)
    assert "42.0 ± 2.8" in peer.render_text(list(rows.values()))
    assert peer.setting(["opt.epochs=50"])["opt"]["epochs"] == 50


def test_two_processes_sharing_the_peer_cache_keep_each_others_records(tmp_path):
    from benchmarks.peer_detector import Cache

    first, second = Cache(tmp_path), Cache(tmp_path)  # as two benchmark processes opened it
    first.put("synthetic|gt", {"average": 1.0})
    second.put("independent|gt", {"average": 2.0})
    assert Cache(tmp_path).get("synthetic|gt") == {"average": 1.0}
    assert Cache(tmp_path).get("independent|gt") == {"average": 2.0}
