"""The detector's files for the hostile cases: a toy data set, a trained base checkpoint and damaged copies."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch

from admfit_torch.config import preset
from admfit_torch.sources import load_split
from admfit_torch.train import train_base

from ..torch.toydata import write_toy_dataset


def _save(folder: Path, name: str, state: dict) -> Path:
    path = folder / f"{name}.pt"
    torch.save(state, path)
    return path


def _checkpoint_variants(good: dict) -> dict[str, dict]:
    def changed(**values):
        state = {**good, **values}
        return {key: value for key, value in state.items() if value is not None}

    config = json.loads(json.dumps(good["config"]))
    config["model"]["embed_dim"] = -1
    nan_weights = {key: value.clone() for key, value in good["ema"].items()}
    first = next(key for key, value in nan_weights.items() if value.is_floating_point() and value.numel())
    nan_weights[first].view(-1)[0] = float("nan")
    return {"ck_no_ema": changed(ema=None), "ck_no_config": changed(config=None),
            "ck_more_classes": changed(classes=good["classes"] + ["extra"]),
            "ck_classes_string": changed(classes="class0"), "ck_bad_config": changed(config=config),
            "ck_weird_stage": changed(stage="weird"), "ck_nan_weights": changed(ema=nan_weights),
            "ck_negative_epoch": changed(epoch=-3)}


def write_torch_world(folder: Path) -> dict[str, Path]:
    toy = write_toy_dataset(folder / "toy", 4, length=64, seed=1)
    cfg = preset("cpu-small", optim={"epochs": 1, "warmup_epochs": 0, "batch_size": 2})
    split = load_split(toy["annotations"], toy["features"], cfg, subset="train", points_path=toy["points"])
    train_base(split.items, split.classes, cfg, folder / "run", show_progress=False)
    good = torch.load(folder / "run" / "checkpoint.pt", weights_only=True)
    paths = {**toy, "checkpoint": folder / "run" / "checkpoint.pt"}
    paths.update({name: _save(folder, name, state) for name, state in _checkpoint_variants(good).items()})
    paths["ck_truncated"] = folder / "truncated.pt"
    paths["ck_truncated"].write_bytes(paths["checkpoint"].read_bytes()[:1000])
    paths["ck_npy"] = folder / "array.pt"
    np.save(open(paths["ck_npy"], "wb"), np.zeros(3))
    paths.update(_feature_variants(folder, toy))
    paths.update(_annotation_variants(folder, toy))
    paths.update(_config_files(folder))
    return paths


def _feature_folder(folder: Path, toy: dict, name: str, change) -> Path:
    target = folder / name
    shutil.copytree(toy["features"], target)
    for file in target.glob("*.npy"):  # every video, so that train and test subsets both meet the damage
        np.save(file, change(np.load(file)))
    return target


def _feature_variants(folder: Path, toy: dict) -> dict[str, Path]:
    def with_value(value):
        def change(array):
            array = array.copy()
            array[5, 3] = value
            return array
        return change

    return {"feat_huge": _feature_folder(folder, toy, "feat_huge", with_value(3e38)),
            "feat_nan": _feature_folder(folder, toy, "feat_nan", with_value(np.nan)),
            "feat_narrow": _feature_folder(folder, toy, "feat_narrow", lambda array: array[:, :32]),
            "feat_ints": _feature_folder(folder, toy, "feat_ints", lambda array: array.astype(str))}


def _annotation_variants(folder: Path, toy: dict) -> dict[str, Path]:
    """The toy annotations with one test video renamed to an id that climbs out of the features folder, and a
    feature file waiting there: a reader that joins paths would load it."""
    document = json.loads(toy["annotations"].read_text(encoding="utf-8"))
    test_video = next(video for video, record in document["database"].items() if record["subset"] == "test")
    np.save(toy["features"].parent / "outside.npy", np.load(toy["features"] / f"{test_video}.npy"))
    paths = {}
    for name, hostile in (("ann_parent", "../outside"), ("ann_absolute", str(toy["features"].parent / "outside"))):
        copy = json.loads(json.dumps(document))
        copy["database"][hostile] = copy["database"].pop(test_video)
        copy["database"][hostile]["subset"] = "test"
        paths[name] = folder / f"{name}.json"
        paths[name].write_text(json.dumps(copy), encoding="utf-8")
    train = json.loads(json.dumps(document))
    first_train = next(video for video, record in train["database"].items() if record["subset"] == "train")
    train["database"]["../outside"] = train["database"].pop(first_train)
    paths["ann_parent_train"] = folder / "ann_parent_train.json"
    paths["ann_parent_train"].write_text(json.dumps(train), encoding="utf-8")
    points = toy["points"].read_text(encoding="utf-8").splitlines()
    paths["points_unknown_class"] = folder / "points_unknown.csv"
    renamed = [line.replace("class", "zebra", 1) for line in points]  # SF-Net's layout: no header
    paths["points_unknown_class"].write_text("\n".join(renamed) + "\n", encoding="utf-8")
    return paths


def _config_files(folder: Path) -> dict[str, Path]:
    files = {"cfg_preset_list": "preset: [cpu-small]\n", "cfg_epochs_huge": "preset: cpu-small\noptim:\n  epochs: 100000000000000000000000\n",
             "cfg_device": "preset: cpu-small\ndevice: quantum\n"}
    paths = {}
    for name, text in files.items():
        paths[name] = folder / f"{name}.yaml"
        paths[name].write_text(text, encoding="utf-8")
    paths["cfg_binary"] = folder / "binary.yaml"
    paths["cfg_binary"].write_bytes(bytes(range(256)) * 4)
    return paths
