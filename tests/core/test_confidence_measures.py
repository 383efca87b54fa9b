"""benchmarks/confidence_measures.py: the crowding of hand-made labels, and the rank-sum search on hand-made
measures, whose answers are known."""
from types import SimpleNamespace

import numpy as np
import pytest

from benchmarks import pseudo_quality as pq
from benchmarks.confidence_measures import (SHIPPED_NAME, _crowding, combined_medians, combined_search,
                                            within_table_ranks)


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


def test_the_rank_sum_search_adds_what_ranks_the_choose_families_and_never_reads_the_held_out_ones():
    rng = np.random.default_rng(0)
    truth = rng.random(60)
    noisy = truth + rng.normal(0, 0.5, truth.size)
    # Choose family: "helpful" is the truth itself, "misleading" its reverse; held out: the other way round, and
    # the shipped measure perfect, so that reading it would keep "helpful" out.
    chosen = {SHIPPED_NAME: noisy, "helpful": truth, "misleading": -truth}
    held_out = {SHIPPED_NAME: truth, "helpful": -truth, "misleading": truth}
    tables = [SimpleNamespace(family="mine", role=pq.CHOOSE), SimpleNamespace(family="theirs", role=pq.HELD_OUT)]
    ranked = [within_table_ranks({labels: (truth, columns) for labels in ("defaults", "auto")})
              for columns in (chosen, held_out)]
    weights = combined_search(tables, ranked)
    assert weights.get("helpful", 0) > 0 and "misleading" not in weights
    medians, alone = combined_medians(tables, ranked, weights), combined_medians(tables, ranked, {SHIPPED_NAME: 1.0})
    assert medians["mine", "auto"] > alone["mine", "auto"]
    # The held-out family lost by it (NaN: the sum ranks nothing there), which a search reading it would have seen.
    assert alone["theirs", "defaults"] == pytest.approx(1.0) and not medians["theirs", "defaults"] >= 0.99
