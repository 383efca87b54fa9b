"""The files the hostile cases read: one good set per command, and damaged copies, written once per module.

Every damaged file differs from a good one in exactly one way, so that each case tests one refusal.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

LENGTH, CLASSES = 40, ["a", "b", "c"]
POINTS = {"classes": CLASSES, "points": {"v1": [{"snippet": 10, "label": "a"}, {"snippet": 30, "label": "b"}],
                                         "v2": [{"snippet": 20, "label": "c"}]}}
GT = {"database": {"v1": {"subset": "test", "annotations": [{"label": "a", "segment": [1.0, 2.5]}]},
                   "v2": {"subset": "train", "annotations": [{"label": "c", "segment": [2.0, 3.0]}]}}}
PREDICTIONS = {"results": {"v1": [{"segment": [1.0, 2.0], "label": "a", "score": 0.5}]}}


def _signal_arrays() -> dict[str, np.ndarray]:
    t = np.arange(LENGTH)
    arrays = {"classes": np.array(CLASSES), "stride": np.array(4.0), "num_frames": np.array(16.0)}
    for video, centres in (("v1", (10, 30, 0)), ("v2", (0, 0, 20))):
        probs = np.stack([0.9 * np.exp(-0.5 * ((t - c) / 3.0) ** 2) if c else np.full(LENGTH, 0.01)
                          for c in centres], axis=1)
        arrays[f"{video}/probs"] = probs.astype(np.float32)
        arrays[f"{video}/bg_probs"] = (1.0 - probs.max(axis=1)).astype(np.float32)
        arrays[f"{video}/fps"] = np.array(30.0)
    return arrays


def _with(arrays: dict, **changes) -> dict:
    """A copy of ``arrays`` with keys replaced (None: removed); '__' in a key stands for '/'."""
    changed = dict(arrays)
    for key, value in changes.items():
        key = key.replace("__", "/")
        if value is None:
            changed.pop(key, None)
        else:
            changed[key] = value
    return changed


def _signal_variants(good: dict) -> dict[str, dict]:
    probs, bg = good["v1/probs"], good["v1/bg_probs"]
    nan = probs.copy()
    nan[3, 1] = np.nan
    return {
        "sig_int": _with(good, v1__probs=(probs * 100).astype(np.int64)),
        "sig_bool": _with(good, v1__probs=probs > 0.5),
        "sig_str": _with(good, v1__probs=probs.astype(str)),
        "sig_complex": _with(good, v1__probs=probs.astype(np.complex128)),
        "sig_nan": _with(good, v1__probs=nan),
        "sig_inf": _with(good, v1__probs=np.where(nan != nan, np.inf, probs)),
        "sig_above_one": _with(good, v1__probs=probs * 3),
        "sig_bg_str": _with(good, v1__bg_probs=bg.astype(str)),
        "sig_bg_short": _with(good, v1__bg_probs=bg[:20]),
        "sig_bg_2d": _with(good, v1__bg_probs=bg[:, None]),
        "sig_mixed_background": _with(good, v2__bg_probs=None, v2__background=good["v2/bg_probs"] > 0.5),
        "sig_no_background": _with(good, v2__bg_probs=None),
        "sig_frames_negative": _with(good, num_frames=np.array(-16.0)),
        "sig_frames_nan": _with(good, num_frames=np.array(np.nan)),
        "sig_frames_str": _with(good, num_frames=np.array("sixteen")),
        "sig_stride_huge": _with(good, stride=np.array(1e300)),
        "sig_fps_zero": _with(good, v1__fps=np.array(0.0)),
        "sig_classes_short": _with(good, classes=np.array(CLASSES[:2])),
        "sig_classes_numbers": _with(good, classes=np.array([1.0, 2.0, 3.0])),
        "sig_columns_differ": _with(good, v2__probs=good["v2/probs"][:, :2]),
    }


def write_signal_files(folder: Path) -> dict[str, Path]:
    good = _signal_arrays()
    paths = {}
    for name, arrays in {"signals": good, **_signal_variants(good)}.items():
        paths[name] = folder / f"{name}.npz"
        np.savez(paths[name], **arrays)
    paths["sig_npy"] = folder / "npy_renamed.npz"
    with open(paths["sig_npy"], "wb") as handle:
        np.save(handle, good["v1/probs"])
    paths["sig_truncated"] = folder / "truncated.npz"
    paths["sig_truncated"].write_bytes(paths["signals"].read_bytes()[:300])
    return paths


def _json(path: Path, document) -> Path:
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return path


def write_text_files(folder: Path) -> dict[str, Path]:
    """Points, ground truth, predictions, configs and simulate-points tables: good and damaged."""
    far = json.loads(json.dumps(POINTS))
    far["points"]["v1"][0] = {"time_s": 1e300, "label": "a"}
    unknown = json.loads(json.dumps(POINTS))
    unknown["points"]["v2"][0]["label"] = "zebra"
    snippets = {"results": PREDICTIONS["results"], "meta": {"segment_units": "snippets"}}
    return {
        "points": _json(folder / "points.json", POINTS), "points_far": _json(folder / "points_far.json", far),
        "points_unknown": _json(folder / "points_unknown.json", unknown),
        "gt": _json(folder / "gt.json", GT), "pred": _json(folder / "pred.json", PREDICTIONS),
        "pred_broken": _json(folder / "pred_broken.json", '{"results": {'),
        "pred_score_word": _json(folder / "pred_word.json", {"results": {"v1": [
            {"segment": [1, 2], "label": "a", "score": "high"}]}}),
        "pred_snippets": _json(folder / "pred_snippets.json", snippets),
        "gt_nan": _json(folder / "gt_nan.json", '{"database": {"v1": {"subset": "test", "annotations": '
                                                 '[{"label": "a", "segment": [NaN, 2.0]}]}}}'),
        "adm_binary": _binary(folder / "adm_binary.yaml"),
        "adm_list": _json(folder / "adm_list.yaml", "- 1\n- 2\n"),
        "adm_unknown": _json(folder / "adm_unknown.yaml", "no_such_option: 3\n"),
        "fps_negative": _json(folder / "fps_negative.json", {"v1": -30}),
    }


def _binary(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 4)
    return path


def write_pseudo_variants(folder: Path, pseudo: Path) -> dict[str, Path]:
    """Copies of `admfit fit` output with one entry of v1 damaged, and one whose meta says snippets."""
    document = json.loads(pseudo.read_text(encoding="utf-8"))
    changes = {"pl_point_huge": {"point": 1e300}, "pl_reversed": {"start": 30.0, "end": 5.0},
               "pl_label_unknown": {"label_id": 99}, "pl_score_nan": {"score": float("nan")},
               "pl_sigma_zero": {"sigma": 0.0}, "pl_point_word": {"point": "ten"}}
    paths = {}
    for name, change in changes.items():
        copy = json.loads(json.dumps(document))
        copy["results"]["v1"][0].update(change)
        paths[name] = _json(folder / f"{name}.json", json.dumps(copy))
    in_snippets = {**document, "meta": {**document.get("meta", {}), "segment_units": "snippets"}}
    paths["pl_snippets"] = _json(folder / "pl_snippets.json", json.dumps(in_snippets))
    return paths


def anet_annotations(folder: Path, video_id: str, name: str) -> Path:
    """An ActivityNet-1.2-style file whose one video has the id ``video_id`` (for `admfit synth --like anet12`)."""
    record = {"subset": "training", "duration": 20.0, "fps": 30.0,
              "annotations": [{"label": "Archery", "segment": [2.0, 6.0]}]}
    database = {video_id: record, "safe_id": {**record, "subset": "validation"}}
    return _json(folder / f"{name}.json", {"version": "VERSION 1.2", "database": database})


HOSTILE_IDS = {"id_parent": "../../../x", "id_absolute": "/tmp/admfit-hostile-x", "id_nul": "a\u0000b",
               "id_hidden": ".hidden", "id_backslash": "..\\x"}
