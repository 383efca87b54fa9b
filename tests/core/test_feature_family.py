"""admfit.synthetic.families.independent_features, the second feature generator: reproducible from its seed, on
the grid the real-data checks expect, non-negative, class evidence that a cosine can see, real points inside their
instances."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from admfit.datasets import grid_for, load_annotations, load_points, thumos14
from admfit.datasets.checks import check_feature_length
from admfit.datasets.shipped import points_file
from admfit.synthetic.families import independent_features as family

VIDEOS, DIM = 6, 48


def _write(root, name, *, seed=0, variant="medium", videos=VIDEOS, dim=DIM):
    return family.write_dataset(root / name, videos=videos, dim=dim, seed=seed, variant=variant)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return _write(tmp_path_factory.mktemp("family"), "seed0")


def _files(folder):
    return {path.relative_to(folder): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def _features(features_dir):
    return {path.stem: np.load(path) for path in sorted(features_dir.glob("*.npy"))}


def test_same_seed_same_bytes_other_seed_other_features(dataset, tmp_path):
    again = _write(tmp_path, "again")
    assert _files(dataset[0].parent) == _files(again[0].parent)
    other = _write(tmp_path, "seed1", seed=1)
    first, second = _features(dataset[0]), _features(other[0])
    assert first.keys() == second.keys()
    assert all(first[v].shape == second[v].shape and not np.array_equal(first[v], second[v]) for v in first)
    assert other[1].read_bytes() == dataset[1].read_bytes()  # the same real annotations and points
    assert other[2].read_bytes() == dataset[2].read_bytes()


def test_the_real_annotations_of_videos_spread_over_both_subsets(dataset):
    records = load_annotations(dataset[1])
    shipped = thumos14()
    subsets = [record.subset for record in records.values()]
    assert subsets.count("Validation") == VIDEOS and subsets.count("Test") == VIDEOS
    for video, record in records.items():
        assert record.duration_s == shipped[video].duration_s and record.fps == shipped[video].fps
        assert [(i.label, i.start_s, i.end_s) for i in record.instances] == \
            [(i.label, i.start_s, i.end_s) for i in shipped[video].instances]
    train = sorted(v for v, r in shipped.items() if r.subset == "Validation")
    chosen = sorted(v for v, r in records.items() if r.subset == "Validation")
    assert chosen[0] == train[0] and chosen[-1] == train[-1]  # spread over the list, not its first videos


def test_every_video_passes_the_grid_check_and_is_non_negative_and_finite(dataset):
    records = load_annotations(dataset[1])
    features = _features(dataset[0])
    assert features.keys() == records.keys()
    for video, array in features.items():
        record = records[video]
        assert array.dtype == np.float32 and array.ndim == 2 and array.shape[1] == DIM
        check_feature_length(video, len(array), grid_for(record, "thumos14_actionformer"), record.duration_s)
        assert np.isfinite(array).all() and (array >= 0).all()
        assert 0 < np.mean(array == 0) < 0.9  # post-ReLU: sparse, but not empty


def _unit(x):
    return x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-12)


def _cosine_margin(features_dir, annotations) -> float:
    """Mean over classes of: the mean cosine of an instance's snippets to the snippets of its class's instances in
    the other videos, minus their mean cosine to the background snippets of those same videos (so that what a
    video's actions share with its own background, its scene, cancels)."""
    records = load_annotations(annotations)
    instances, background = [], {}
    for video, array in _features(features_dir).items():
        record = records[video]
        centres = grid_for(record, "thumos14_actionformer").snippet_to_seconds(np.arange(len(array)))
        inside = np.zeros(len(array), dtype=bool)
        for inst in record.instances:
            rows = (centres >= inst.start_s) & (centres <= inst.end_s)
            inside |= rows
            if rows.any():
                instances.append((video, inst.label, _unit(array[rows])))
        background[video] = _unit(array[~inside]).mean(axis=0)  # mean cosine = dot with the mean unit row
    margins = {}
    for video, label, rows in instances:
        others = [(v, r.mean(axis=0)) for v, other, r in instances if other == label and v != video]
        if others:
            same = float(np.mean(rows @ np.stack([mean for _, mean in others]).T))
            back = float(np.mean(rows @ np.stack([background[v] for v, _ in others]).T))
            margins.setdefault(label, []).append(same - back)
    assert len(margins) >= 2, "too few classes seen in two videos"
    return float(np.mean([np.mean(values) for values in margins.values()]))


def test_action_snippets_are_closer_to_their_class_than_to_background(dataset, tmp_path, monkeypatch):
    margin = _cosine_margin(dataset[0], dataset[1])
    assert margin > 0.05
    # the same videos without class evidence: the margin goes (the measure can fail)
    monkeypatch.setitem(family.VARIANTS, "no_actions", replace(family.MEDIUM, action_gain=0.0, person_weight=0.0))
    blank = _write(tmp_path, "blank", variant="no_actions")
    assert abs(_cosine_margin(blank[0], blank[1])) < margin / 4


def test_points_are_the_shipped_ones_of_the_training_videos_inside_their_instance(dataset):
    records = load_annotations(dataset[1])
    points = load_points(dataset[2], fps={v: r.fps for v, r in records.items()})
    train = {v for v, r in records.items() if r.subset == "Validation"}
    assert {p.video for p in points} == train
    for point in points:
        assert any(i.label == point.label and i.start_s <= point.time_s <= i.end_s
                   for i in records[point.video].instances), point
    shipped = [p for p in load_points(points_file("thumos14")) if p.video in train]
    assert [(p.video, p.label, p.frame) for p in points] == [(p.video, p.label, p.frame) for p in shipped]


def test_unknown_variant_and_existing_folder_are_refused(dataset, tmp_path):
    with pytest.raises(ValueError, match="unknown variant"):
        _write(tmp_path, "x", variant="nope")
    with pytest.raises(FileExistsError):
        family.write_dataset(dataset[0].parent, videos=1, dim=8, seed=0, variant="medium")
    assert json.loads((dataset[0].parent / "generator.json").read_text())["variant"] == "medium"


def test_the_hard_variant_is_reproducible_and_differs_from_medium(tmp_path):
    hard = [_write(tmp_path, f"hard{n}", variant="hard", videos=2, dim=16) for n in range(2)]
    medium = _write(tmp_path, "medium", videos=2, dim=16)
    assert _files(hard[0][0].parent) == _files(hard[1][0].parent)
    assert _files(hard[0][0]) != _files(medium[0])
