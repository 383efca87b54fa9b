"""The files of `admfit fit` as a library (admfit.files.signals, .points, .pseudo_labels, .adm_config and
admfit.fit.points): the pseudo-label reader against its writer, point resolution, the files a detector's labelling
writes, and every reader's words for a folder or a missing file."""
from __future__ import annotations

import json

import numpy as np
import pytest

from admfit.datasets.shipped import load_class_list
from admfit.errors import InputError
from admfit.files.adm_config import load_adm_config
from admfit.files.points import RawPoint, load_point_file
from admfit.files.pseudo_labels import pseudo_label_rows, read_pseudo_labels, write_pseudo_labels
from admfit.files.signals import SignalSet, load_signals
from admfit.files.video_files import read_video_list
from admfit.fit.points import resolve_points
from admfit.grid import SnippetGrid


def _rows(with_seconds: bool = True) -> list[dict]:
    from admfit import PseudoLabel

    labels = []
    for index, (video, label) in enumerate((("v1", 0), ("v1", 1), ("v2", 0))):
        values = {name: 0.0 for name in PseudoLabel._fields}
        values.update(video=video, label=label, point=3.0 + index, t_star=4.0 + index, b_s=1.0, b_e=9.5 + index,
                      sigma=1.25 + index, omega=2.0, start=2.5 + index, end=6.75 + index, score=0.5 + 0.1 * index,
                      start_s=(0.1 + index if with_seconds else None), end_s=(0.9 + index if with_seconds else None),
                      confidence=0.25 + 0.1 * index, converged=index != 1)
        labels.append(PseudoLabel(**values))
    return pseudo_label_rows(labels, ["Jump", "Throw"], [0.3 + i if with_seconds else None for i in range(3)])


@pytest.mark.parametrize("fmt", ["json", "csv"])
@pytest.mark.parametrize("with_seconds", [True, False])
def test_read_pseudo_labels_gives_back_what_the_writer_wrote(tmp_path, fmt, with_seconds):
    rows = _rows(with_seconds)
    meta = {"segment_units": "seconds" if with_seconds else "snippets", "config": {"g1": 1.0}}
    path = tmp_path / f"pseudo_labels.{fmt}"
    write_pseudo_labels(path, rows, fmt=fmt, meta=meta)
    read, read_meta = read_pseudo_labels(path)
    assert read == rows
    assert read_meta == (meta if fmt == "json" else {})


def test_a_bad_pseudo_label_file_names_the_video_and_the_field(tmp_path):
    path = tmp_path / "pseudo_labels.json"
    write_pseudo_labels(path, _rows(), fmt="json", meta={"segment_units": "seconds"})
    document = json.loads(path.read_text())
    document["results"]["v2"][0]["sigma"] = "wide"
    path.write_text(json.dumps(document))
    with pytest.raises(InputError) as caught:
        read_pseudo_labels(path)
    assert (caught.value.file, caught.value.video, caught.value.field) == (str(path), "v2", "results.v2.0.sigma")
    csv_path = tmp_path / "pseudo_labels.csv"
    write_pseudo_labels(csv_path, _rows(), fmt="csv", meta={})
    csv_path.write_text(csv_path.read_text().replace(",Throw,1,", ",Throw,,"))
    with pytest.raises(InputError, match="line 3") as caught:
        read_pseudo_labels(csv_path)
    assert caught.value.field == "label_id" and caught.value.video == "v1"


def _signals(**timing) -> SignalSet:
    probs = {"v1": np.full((20, 2), 0.5), "v2": np.full((10, 2), 0.5)}
    return SignalSet(probs=probs, bg_probs={v: np.zeros(len(p)) for v, p in probs.items()}, **timing)


def test_resolve_points_by_snippet_or_time_and_by_class_index_or_name():
    points = [RawPoint("v1", "Throw", snippet=4), RawPoint("v2", 0, time_s=1.0), RawPoint("v1", 0, snippet=19)]
    resolved = resolve_points(_signals(default_fps=30.0, classes=["Jump", "Throw"]), points)
    # 1 s at 30 fps, stride 4, 16-frame windows: position 30 / 4 - 16 / 8 = 5.5 -> snippet 6 (round half to even)
    assert {v: r.tolist() for v, r in resolved.rows.items()} == {"v1": [[4, 1], [19, 0]], "v2": [[6, 0]]}
    assert resolved.classes == ["Jump", "Throw"]
    assert resolved.grids["v1"] == SnippetGrid(fps=30.0, stride=4, num_frames=16)
    overridden = resolve_points(_signals(default_fps=30.0), points, ["Jump", "Throw"], fps=25.0, stride=16)
    assert overridden.grids["v2"] == SnippetGrid(fps=25.0, stride=16, num_frames=16)
    assert overridden.rows["v2"].tolist() == [[1, 0]]  # 1 s at 25 fps, stride 16: 25 / 16 - 0.5 -> 1


@pytest.mark.parametrize("points, field", [
    ([RawPoint("v1", 0, time_s=1.0), RawPoint("v2", 0, snippet=1)], "time_s"),   # no fps known
    ([RawPoint("v1", 0, snippet=20), RawPoint("v2", 0, snippet=1)], "snippet"),  # past the end
    ([RawPoint("v1", "Swim", snippet=1), RawPoint("v2", 0, snippet=1)], "label"),
    ([RawPoint("v1", 2, snippet=1), RawPoint("v2", 0, snippet=1)], "label"),
    ([RawPoint("v1", 0, snippet=1)], "probs"),                                    # v2 has signals, no points
    ([], "points"),
])
def test_resolve_points_refuses_with_the_file_and_field(points, field):
    with pytest.raises(InputError) as caught:
        resolve_points(_signals(), points, ["Jump", "Throw"], signals_file="s.npz", points_file="p.json")
    assert caught.value.field == field and caught.value.file in ("s.npz", "p.json")


def test_a_one_video_file_takes_the_points_video_name():
    signals = SignalSet(probs={"": np.full((8, 1), 0.5)}, bg_probs={"": np.zeros(8)})
    resolved = resolve_points(signals, [RawPoint("clip", 0, snippet=2)])
    assert list(resolved.signals.probs) == ["clip"] and list(resolved.signals.bg_probs) == ["clip"]
    assert "" in signals.probs  # the caller's SignalSet is left as it was


def test_load_adm_config(tmp_path):
    path = tmp_path / "adm.yaml"
    path.write_text("g1: 2.5\n")
    assert load_adm_config(path).g1 == 2.5
    path.write_text("g1: -1\n")
    with pytest.raises(InputError) as caught:
        load_adm_config(path)
    assert caught.value.field == "g1" and caught.value.file == str(path)


@pytest.mark.parametrize("read, field, missing", [
    (load_signals, "signals", "no such file"), (load_point_file, "points", "no such file"),
    (read_pseudo_labels, "pseudo_labels", "no such file"), (load_adm_config, "config", "no such file"),
    (read_video_list, "videos", "no such video list"), (load_class_list, "classes", "no such class-list file"),
])
def test_every_reader_refuses_a_folder_and_a_missing_file_alike(tmp_path, read, field, missing):
    with pytest.raises(InputError) as caught:
        read(tmp_path / "absent")
    assert caught.value.message.startswith(missing)
    assert caught.value.field == field and caught.value.file == str(tmp_path / "absent")
    with pytest.raises(InputError) as caught:
        read(tmp_path)
    assert caught.value.message.startswith("is a directory, expected ")
    assert caught.value.field == field and caught.value.file == str(tmp_path)


def test_label_and_the_pseudo_stage_name_their_files_in_one_place(tmp_path):
    from admfit import labelling
    from admfit.files import label_outputs
    from admfit_torch.run.layout import RunLayout

    layout = RunLayout(tmp_path)
    assert layout.signals == layout.base / label_outputs.SIGNALS_FILE
    assert layout.pseudo_labels == layout.base / label_outputs.PSEUDO_LABELS_FILE
    assert (labelling.SIGNALS_FILE, labelling.PSEUDO_LABELS_FILE) == ("signals.npz", "pseudo_labels.json")
    assert labelling.DetectorSignals is label_outputs.DetectorSignals
