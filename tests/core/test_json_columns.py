"""admfit.files.json_columns: whole-column checks find the first bad record, whichever path a column takes."""
from __future__ import annotations

import math

import numpy as np
import pytest

from admfit.files.json_columns import BadValue, field, float_column, segment_columns, string_column


def test_numbers_and_numeric_strings():
    assert float_column([1, 2.5, -3], "x").tolist() == [1.0, 2.5, -3.0]
    assert float_column(["18.6", 2], "x").tolist() == [18.6, 2.0]


@pytest.mark.parametrize("values, row", [([1.0, True], 1), ([False], 0), ([1, "a"], 1), ([1, None], 1),
                                         ([1, math.nan, 2], 1), ([math.inf], 0), (["nan"], 0), ([2, 10 ** 400], 1),
                                         ([[1]], 0), ([1, {}], 1)])
def test_first_bad_number(values, row):
    with pytest.raises(BadValue) as caught:
        float_column(values, "score")
    assert (caught.value.row, caught.value.part) == (row, "score")


def test_missing_numbers_become_nan_but_nan_itself_is_refused():
    column = float_column([None, 1.5, None], "point_s", missing_ok=True)
    assert np.isnan(column[[0, 2]]).all() and column[1] == 1.5
    with pytest.raises(BadValue) as caught:
        float_column([None, math.nan], "point_s", missing_ok=True)
    assert caught.value.row == 1


def test_segments_name_the_pair_or_the_value():
    start, end = segment_columns([[0, 1], ["2", 3.5]])
    assert start.tolist() == [0.0, 2.0] and end.tolist() == [1.0, 3.5]
    for segments, row, part in [([[0, 1], [1]], 1, "segment"), ([[0, 1], {"a": 1}], 1, "segment"),
                                ([[0, 1], [2, True]], 1, "segment.1"), ([["x", 1]], 0, "segment.0"),
                                ([[0, 1], [0, math.inf]], 1, "segment")]:
        with pytest.raises(BadValue) as caught:
            segment_columns(segments)
        assert (caught.value.row, caught.value.part) == (row, part), segments


def test_strings_and_fields():
    labels = string_column(["b", "a", "b"], "label")
    assert labels.dtype.kind == "U" and labels.tolist() == ["b", "a", "b"]
    assert string_column([], "label").size == 0
    for values, row in [(["a", ""], 1), (["a", 3], 1), ([None], 0)]:
        with pytest.raises(BadValue) as caught:
            string_column(values, "label")
        assert (caught.value.row, caught.value.part) == (row, "label")
    assert field([{"k": 1}, {"k": 2}], "k") == [1, 2]
    for records, row, part in [([{"k": 1}, {}], 1, "k"), ([{"k": 1}, [1]], 1, None), (["s"], 0, None)]:
        with pytest.raises(BadValue) as caught:
            field(records, "k")
        assert (caught.value.row, caught.value.part) == (row, part)
