"""benchmarks/confidence_measures.py: the crowding of hand-made labels, whose answer is known."""
import numpy as np
import pytest

from benchmarks.confidence_measures import _crowding


def test_crowding_counts_overlaps_and_points_inside_per_video():
    # video a: [0, 10] and [8, 20] overlap by 2 snippets; [30, 40] holds [36, 38] and its point 37 (same class);
    # video b: [0, 10] overlaps a's first label in snippets only, not in the same video
    fits = {"video": ["a", "a", "a", "a", "b"], "start": [0.0, 8.0, 30.0, 36.0, 0.0],
            "end": [10.0, 20.0, 40.0, 38.0, 10.0], "point": [5, 15, 35, 37, 5], "label": [0, 1, 0, 0, 1]}
    found = _crowding(fits)
    assert found["overlap"] == pytest.approx([2 / 10, 2 / 12, 2 / 10, 1.0, 0.0])
    assert found["points_inside"].tolist() == [0, 0, 1, 0, 0]
    assert found["same_class_inside"].tolist() == [0, 0, 1, 0, 0]
    other_class = dict(fits, label=[0, 1, 0, 1, 1])
    assert _crowding(other_class)["same_class_inside"].tolist() == [0, 0, 0, 0, 0]
    assert np.array_equal(_crowding(other_class)["points_inside"], found["points_inside"])
