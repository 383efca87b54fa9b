"""The attribution of benchmarks.peer_labels: which label carries which error, and the rows with one kind of error
replaced by the truth, on hand-made labels whose answer is known."""
import pytest

from admfit.datasets.annotations import Instance, VideoAnnotation
from benchmarks import peer_labels


def _records():
    """One video: three instances (seconds) 10-14, 15-17 (class A) and 30-40 (class B)."""
    instances = [Instance(label="A", label_id=0, start_s=10.0, end_s=14.0),
                 Instance(label="A", label_id=0, start_s=15.0, end_s=17.0),
                 Instance(label="B", label_id=1, start_s=30.0, end_s=40.0)]
    return {"v": VideoAnnotation(video="v", subset="Validation", duration_s=60.0, fps=30.0, instances=instances)}


def _row(label, point_s, start_s, end_s, confidence=0.5):
    return {"video": "v", "label": label, "point_s": point_s, "start_s": start_s, "end_s": end_s,
            "confidence": confidence}


# the first label merges the second instance (covers 15-17 entirely), the third is short, and the click at 20 s
# lies in no instance; nothing holds the second instance's click, so it is missed
ROWS = [_row("A", 12.0, 9.0, 17.5), _row("B", 35.0, 32.0, 38.0), _row("A", 20.0, 19.0, 21.0)]


def test_each_label_is_matched_to_the_instance_of_its_class_holding_its_click():
    assert peer_labels.match(ROWS, _records()) == [0, 2, None]
    # a click inside an instance of another class does not match it
    assert peer_labels.match([_row("A", 35.0, 34.0, 36.0)], _records()) == [None]


def test_the_census_counts_each_kind_of_error():
    found = peer_labels.census([*ROWS, _row("A", 35.0, 34.0, 36.0)], _records())
    assert (found["labels"], found["instances"], found["missed"]) == (4, 3, 1)
    assert (found["merges"], found["short"], found["long"]) == (1, 1, 0)
    assert (found["unmatched"], found["class"]) == (2, 1)
    # tIoU: 4 / 8.5 for the merging label, 6 / 10 for the short one, 0 for the two unmatched
    assert found["mean_tiou"] == pytest.approx((4 / 8.5 + 0.6) / 4)
    assert found["median_length_ratio"] == pytest.approx((8.5 / 4 + 0.6) / 2)


@pytest.mark.parametrize("confidences, expected", [((0.5, 0.9, 0.1, 0.1), 1.0), ((0.5, 0.1, 0.9, 0.9), -1.0)])
def test_the_census_says_how_the_confidence_ranks_the_labels_by_tiou(confidences, expected):
    rows = [dict(row, confidence=c) for row, c in zip([*ROWS, _row("A", 35.0, 34.0, 36.0)], confidences)]
    # tIoU 4 / 8.5, 0.6, 0, 0: the first confidences rank them alike (ties alike), the second backwards
    assert peer_labels.census(rows, _records())["confidence_spearman"] == pytest.approx(expected)


@pytest.mark.parametrize("kind, expected", [
    ("boundaries", [(10.0, 14.0), (30.0, 40.0), (19.0, 21.0)]),
    ("merges", [(10.0, 14.0), (32.0, 38.0), (19.0, 21.0)]),
    ("short", [(9.0, 17.5), (30.0, 40.0), (19.0, 21.0)]),
    ("long", [(9.0, 17.5), (32.0, 38.0), (19.0, 21.0)]),
    ("missed", [(9.0, 17.5), (32.0, 38.0), (19.0, 21.0), (15.0, 17.0)]),
])
def test_one_kind_of_error_is_replaced_by_the_truth(kind, expected):
    rows = peer_labels.replaced(ROWS, _records(), kind)
    assert [(row["start_s"], row["end_s"]) for row in rows] == expected
    assert [row["label"] for row in rows] == ["A", "B", "A", "A"][:len(expected)]
    assert [(row["start_s"], row["end_s"]) for row in ROWS] == [(9.0, 17.5), (32.0, 38.0), (19.0, 21.0)]


def test_an_unknown_kind_of_error_is_refused():
    with pytest.raises(ValueError, match="unknown kind"):
        peer_labels.replaced(ROWS, _records(), "class")


def test_a_label_holding_another_click_is_cut_midway_to_it():
    rows = [_row("A", 12.0, 9.0, 17.5), _row("B", 16.0, 15.0, 17.0), _row("A", 30.0, 28.0, 31.0)]
    cut = peer_labels.cut_at_clicks(rows)
    assert [(row["start_s"], row["end_s"]) for row in cut] == [(9.0, 14.0), (15.0, 17.0), (28.0, 31.0)]
