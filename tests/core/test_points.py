"""Point-label files: LACP CSV, ActivityNet derived CSV, SF-Net clicks, and their malformed variants."""
from __future__ import annotations

import warnings

import pytest

from admfit.data import data_path
from admfit.datasets import class_names, load_annotations, load_points, points_by_video, thumos14, thumos14_fps
from admfit.errors import InputError

from ..helpers import SHARED_DATA

SHARED = SHARED_DATA
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")
HEADER = "class,class_index,start_frame,stop_frame,video_id,point\n"


def test_lacp_csv_frames_become_seconds():
    points = load_points(data_path("thumos14", "point_gaussian.csv"))
    assert len(points) == 3003
    first = points[0]
    # First row: Billiards,2,2025,2277,video_validation_0000051,2151 at 30 fps -> 2151 / 30 = 71.7 s.
    assert (first.video, first.label, first.label_id, first.frame) == ("video_validation_0000051", "Billiards", 2, 2151)
    assert first.time_s == pytest.approx(71.7)
    fps = thumos14_fps()
    assert all(p.time_s == pytest.approx(p.frame / fps[p.video]) for p in points)


def test_lacp_points_lie_inside_a_same_class_instance():
    gt = thumos14("train")
    for video, points in points_by_video(load_points(data_path("thumos14", "point_gaussian.csv"))).items():
        spans = [(i.label, i.start_s, i.end_s) for i in gt[video].instances]
        for p in points:
            # 0.1 s slack: the CSV's frames are the 0.1 s-precision seconds times fps, rounded.
            assert any(label == p.label and start - 0.1 <= p.time_s <= end + 0.1 for label, start, end in spans)


def test_activitynet_csv_uses_point_time_and_bare_video_ids():
    points = load_points(data_path("anet12", "point_gaussian_from_hrpro_anet13.csv"))
    assert len(points) == 6347
    first = points[0]
    # First row: Drinking beer,22,v_---9CpRcKoU,...,point=196,point_time=6.5399
    assert (first.video, first.label, first.label_id, first.frame, first.time_s) == (
        "---9CpRcKoU", "Drinking beer", 22, 196.0, 6.5399)


@needs_shared
def test_activitynet_points_match_annotation_keys():
    gt = load_annotations(SHARED / "anet12" / "activity_net.v1-2.min.json", subset="train")
    points = load_points(data_path("anet12", "point_gaussian_from_hrpro_anet13.csv"), classes=class_names(gt))
    assert {p.video for p in points} <= set(gt)
    for p in points:
        # One frame of slack (<= 1/24 s) each side: points are whole frames, and 10 sit at frame 0 of
        # an instance starting at 0.01 s, one just after an instance 0.008 s long.
        assert any(i.label == p.label and i.start_s - 0.05 <= p.time_s <= i.end_s + 0.05
                   for i in gt[p.video].instances)


@needs_shared
@pytest.mark.parametrize("annotator, rows", [(1, 2980), (2, 2920), (3, 3014), (4, 2986)])
def test_sfnet_click_files(annotator, rows):
    classes = class_names(thumos14())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        points = load_points(SHARED / "thumos14" / "sfnet_single_frames" / f"THUMOS{annotator}.txt", classes=classes)
    assert len(points) == rows
    assert {p.label for p in points} <= set(classes)
    assert all(p.label_id == classes.index(p.label) and p.frame is None for p in points)
    padded = [str(w.message) for w in caught if "whitespace" in str(w.message)]
    if annotator == 3:  # " GolfSwing" x4, " TennisSwing" x1 and 6 labels with trailing blanks
        assert len(padded) == 1 and "11 label(s)" in padded[0]


def test_click_file_blank_lines_and_bom(tmp_path):
    path = tmp_path / "clicks.txt"
    path.write_text("\ufeffv1,1.25,Jump\n\n\nv1,0.5, Throw \r\nv2,3,Jump\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="1 label"):
        points = load_points(path, classes=["Jump", "Throw"])
    assert [(p.video, p.time_s, p.label, p.label_id) for p in points] == [
        ("v1", 1.25, "Jump", 0), ("v1", 0.5, "Throw", 1), ("v2", 3.0, "Jump", 0)]
    assert [p.time_s for p in points_by_video(points)["v1"]] == [0.5, 1.25]


def test_lacp_with_explicit_fps(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(HEADER + "Jump,0,10,40,myvid,25\n")
    (point,) = load_points(path, fps={"myvid": 25.0})
    assert point.time_s == pytest.approx(1.0)  # 25 frames / 25 fps


def _bad(tmp_path, text, name="p.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


BAD_FILES = [
    ("unknown header", "a,b,c,d\n1,2,3,4\n", None, "header"),
    ("field count", HEADER + "Jump,0,10,40,video_validation_0000051\n", "video_validation_0000051", None),
    ("empty label", HEADER + "  ,0,10,40,video_validation_0000051,20\n", "video_validation_0000051", "class"),
    ("not a number", HEADER + "Jump,0,10,40,video_validation_0000051,12x\n", "video_validation_0000051", "point"),
    ("nan", HEADER + "Jump,0,10,40,video_validation_0000051,nan\n", "video_validation_0000051", "point"),
    ("negative", HEADER + "Jump,0,10,40,video_validation_0000051,-3\n", "video_validation_0000051", "point"),
    ("fractional index", HEADER + "Jump,0.5,10,40,video_validation_0000051,3\n", "video_validation_0000051", "class_index"),
    ("no fps", HEADER + "Jump,0,10,40,nowhere,3\n", "nowhere", "video_id"),
    ("header only", HEADER, None, None),
    ("click time", "v1,abc,Jump\n", None, "header"),
    ("click negative", "v1,-1,Jump\n", "v1", "time_s"),
]


@pytest.mark.parametrize("case, text, video, field", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_malformed_point_files(tmp_path, case, text, video, field):
    path = _bad(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_points(path)
    error = caught.value
    assert (error.file, error.video, error.field) == (str(path), video, field)
    assert "\n" not in str(error)


def test_unknown_class_and_disagreeing_index(tmp_path):
    path = _bad(tmp_path, "v1,1.0,Dance\n")
    with pytest.raises(InputError, match="unknown class 'Dance'") as caught:
        load_points(path, classes=["Jump"])
    assert (caught.value.video, caught.value.field) == ("v1", "class")  # the file's column
    path = _bad(tmp_path, HEADER + "Jump,1,0,9,v1,3\n")
    with pytest.raises(InputError, match="line 2: class index 1 disagrees") as caught:
        load_points(path, fps={"v1": 30.0}, classes=["Jump", "Throw"])
    assert caught.value.field == "class_index"


def test_a_name_and_index_that_disagree_within_the_file_are_refused_naming_the_row(tmp_path):
    path = _bad(tmp_path, HEADER + "Jump,0,0,9,v1,3\nThrow,1,0,9,v1,5\nThrow,0,0,9,v2,3\n")
    with pytest.raises(InputError, match="line 4: class 'Throw' has index 0 here but 1 on line 3") as caught:
        load_points(path, fps={"v1": 30.0, "v2": 30.0})
    assert (caught.value.video, caught.value.field) == ("v2", "class_index")
    path = _bad(tmp_path, HEADER + "Jump,0,0,9,v1,3\nPool,0,0,9,v2,3\n")
    with pytest.raises(InputError, match="line 3: class index 0 is 'Pool' here but 'Jump' on line 2"):
        load_points(path, fps={"v1": 30.0, "v2": 30.0})


def test_click_frames_need_the_videos_native_rate_never_a_guess(tmp_path):
    path = _bad(tmp_path, HEADER + "Jump,0,0,9,v1,48\nJump,0,0,9,v2,48\n")
    with pytest.raises(InputError, match="line 3: no native fps for this video .*--points-fps") as caught:
        load_points(path, fps={"v1": 24.0})
    assert (caught.value.video, caught.value.field) == ("v2", "video_id")
    assert [p.time_s for p in load_points(path, fps={"v1": 24.0, "v2": 30.0})] == [2.0, 1.6]


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_points(tmp_path / "absent.csv")
    with pytest.raises(InputError, match="is a directory"):
        load_points(tmp_path)
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(InputError, match="UTF-8"):
        load_points(binary)
