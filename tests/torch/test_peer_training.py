"""ActionFormer trained on admfit's exported labels (admfit_torch.peer_training, as benchmarks.peer_detector runs
it): a tiny ActionFormer (one warm-up and one cosine pass, widths 16) on toy data. Skipped without the peer extra
(pip install 'admfit[peer]')."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from admfit.datasets.shipped import open_annotations, vocabulary
from admfit.files.export import export_annotations

from .test_peer_actionformer import CONFIG
from .toydata import write_toy_dataset

pytest.importorskip("actionformer", reason="needs the peer extra: pip install 'admfit[peer]'")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The toy dataset's ground truth as ActionFormer's annotation file, the tiny config filled from the data."""
    from admfit_torch import peer_training as peer

    folder = tmp_path_factory.mktemp("toy")
    toy = write_toy_dataset(folder, 8, length=64, seed=3)
    records = open_annotations(toy["annotations"])
    labels = folder / "labels.json"
    labels.write_text(json.dumps(export_annotations([], records, vocabulary(records, None), "actionformer",
                                                    features=toy["features"])), encoding="utf-8")
    config = peer.recipe(["opt.warmup_epochs=1", "opt.epochs=1", "loader.batch_size=2"])
    tiny = yaml.safe_load(CONFIG)
    config["model"] = tiny["model"]
    config["dataset"]["max_seq_len"] = tiny["dataset"]["max_seq_len"]
    width = next(iter(toy["features"].glob("*.npy")))
    import numpy as np

    filled = peer.actionformer_config(config, folder / "actionformer.yaml", int(np.load(width).shape[1]),
                                      len(vocabulary(records, None)), peer.longest_video(toy["features"]))
    return {**toy, "labels": labels, "config": filled, "yaml": folder / "actionformer.yaml"}


TWICE = """
import sys, torch
from pathlib import Path
from admfit_torch import peer_training as peer
from admfit_torch.peer_actionformer import load_actionformer_config
config, labels, features = load_actionformer_config(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
subset = peer.subset_name(sys.argv[4], "train")
first, later = (peer.train_actionformer(config, labels, features, subset, 0)[0].state_dict() for _ in range(2))
sys.exit(0 if all(torch.equal(first[name], later[name]) for name in first) else 1)
"""


def test_the_first_training_of_a_process_gives_the_weights_of_a_later_one(trained):
    """ActionFormer's TorchScript losses are run unoptimized: the first training of a fresh process (which compiles
    them) and a later one agree bit for bit (they differed by 1e-7 and more before)."""
    done = subprocess.run([sys.executable, "-c", TWICE, str(trained["yaml"]), str(trained["labels"]),
                           str(trained["features"]), str(trained["annotations"])],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_trained_model_detects_the_test_videos_and_loads_in_the_plugin(trained, tmp_path):
    from admfit_torch import peer_training as peer
    from admfit_torch.peer_actionformer import make_detector

    subsets = {name: peer.subset_name(trained["annotations"], name) for name in ("train", "test")}
    model, cpu, _ = peer.train_actionformer(trained["config"], trained["labels"], trained["features"],
                                           subsets["train"], 0)
    assert cpu > 0
    document = peer.detect(model, trained["config"], trained["labels"], trained["features"], subsets["test"])
    tested = {video for video, record in open_annotations(trained["annotations"], subset="test").items()}
    assert set(document["results"]) == tested
    peer.save_model(model, tmp_path / "actionformer.pt")
    names = tmp_path / "classes.txt"
    names.write_text("\n".join(vocabulary(open_annotations(trained["annotations"]), None)) + "\n", encoding="utf-8")
    loaded = make_detector(tmp_path / "actionformer.pt", trained["yaml"], classes=str(names))
    assert all(loaded.model.state_dict()[name].equal(value) for name, value in model.state_dict().items())
