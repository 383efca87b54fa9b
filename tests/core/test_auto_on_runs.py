"""benchmarks/auto_on_runs.py: the table of self-tuning on the default runs' base-model signals, and those signals as
a pseudo_quality table."""
import numpy as np
import pytest

from benchmarks.auto_on_runs import AUTO, bar_summary, candidate_configs, render


def test_the_configurations_are_the_candidates_of_the_defaults_then_auto():
    configs = candidate_configs()
    assert list(configs) == ["defaults", "paper", "no_bg_agreement", AUTO]
    assert configs[AUTO].tuning == "auto" and configs["defaults"].tuning == "off"


def test_the_table_reads_auto_against_the_defaults_and_the_best_candidate():
    per_seed = {0: {"defaults": (70.0, 0.6, 0.4), "paper": (50.0, 0.5, 0.2), "no_bg_agreement": (75.0, 0.7, 0.3),
                    AUTO: (76.0, 0.7, 0.3)},
                1: {"defaults": (72.0, 0.6, 0.4), "paper": (74.0, 0.5, 0.2), "no_bg_agreement": (71.0, 0.7, 0.3),
                    AUTO: (73.0, 0.7, 0.3)}}
    lines = render(per_seed).splitlines()
    assert lines[1].split()[-2:] == ["+6.0", "+1.0"]
    assert lines[2].split()[-2:] == ["+1.0", "-1.0"]
    assert lines[3].split()[1:] == ["71.0", "62.0", "73.0", "74.5"]


def _signals_and_points():
    """Two videos of 120 first-level snippets at 30 fps (stride 4: 7.5 per second), class probabilities on a level
    twice as coarse (step j at snippet 2 j + 3: a detector's own geometry), a bell per action running past its end
    and background probabilities low inside it; one click (seconds) per action."""
    from admfit.files.points import RawPoint
    from admfit.files.signals import SignalSet
    from admfit.levels import StepCentres

    actions = {"v1": [(20, 45, 0), (70, 90, 1)], "v2": [(30, 60, 1)]}
    probs, bg_probs, points = {}, {}, []
    snippets = np.arange(120)
    for video, found in actions.items():
        probs[video], bg_probs[video] = np.full((60, 2), 0.05), np.full(120, 0.9)
        for first, last, label in found:
            # the class bump runs 6 snippets past the action's end, the background stops at it
            bump = np.exp(-0.5 * ((snippets[::2] + 3.0 - (first + last + 6) / 2) / ((last - first + 6) / 3)) ** 2)
            probs[video][:, label] = np.maximum(probs[video][:, label], 0.9 * bump)
            bg_probs[video][(snippets >= first) & (snippets <= last)] = 0.1
            points.append(RawPoint(video, ["A", "B"][label], time_s=(first + last) / 2 / 7.5))
    signals = SignalSet(probs=probs, bg_probs=bg_probs, default_fps=30.0, classes=["A", "B"],
                        centres=StepCentres(origin=3.0, spacing=2.0))
    return signals, points


def test_a_signals_table_fits_the_labels_admfit_fit_makes():
    from admfit import ADMConfig, fit_instances
    from admfit.evaluation import GroundTruthSegments
    from admfit.labelling import fit_signals
    from benchmarks import pseudo_quality as pq
    from benchmarks.auto_on_runs import signals_table

    signals, points = _signals_and_points()
    truth = GroundTruthSegments(np.array(["v1"]), np.array(["A"]), np.array([2.0]), np.array([6.0]))
    table = signals_table(signals, points, None, truth, "base model", "seed 0")
    assert (table.role, table.classes, sorted(table.rows)) == (pq.HELD_OUT, ["A", "B"], ["v1", "v2"])
    assert table.signals["v1"].centres == signals.centres
    fits = fit_instances(*pq._adm_inputs(table), config=ADMConfig(), **pq._adm_options(table), as_table=True)
    rows = fit_signals(signals, points).rows
    assert [(row["start"], row["end"]) for row in rows] == list(zip(fits["start"], fits["end"]))
    # the check can fail: read without the step centres (window-aligned), the labels move
    other = fit_instances(*pq._adm_inputs(table), config=ADMConfig(), **{**pq._adm_options(table), "centres": None},
                          as_table=True)
    assert list(zip(other["start"], other["end"])) != list(zip(fits["start"], fits["end"]))


def test_a_signals_table_refuses_a_background_mask():
    from dataclasses import replace

    from benchmarks.auto_on_runs import signals_table

    signals, points = _signals_and_points()
    masked = replace(signals, bg_probs={}, background={v: p > 0.5 for v, p in signals.bg_probs.items()})
    with pytest.raises(ValueError, match="no bg_probs for v1"):
        signals_table(masked, points, None, None, "base model", "seed 0", signals_file="s.npz")


def test_degraded_rows_score_each_degradation_against_the_bar():
    from admfit.evaluation import GroundTruthSegments
    from benchmarks.auto_on_runs import degraded_rows, signals_table

    signals, points = _signals_and_points()
    truth = GroundTruthSegments(np.array(["v1", "v1", "v2"]), np.array(["A", "B", "B"]), np.array([20.0, 70.0, 30.0])
                                / 7.5, np.array([45.0, 90.0, 60.0]) / 7.5)
    table = signals_table(signals, points, None, truth, "base model", "seed 0")
    lines, figures = degraded_rows(table, ["bg_shift", "bg_many"])
    assert [line.split(";")[0].split()[:3] for line in lines] == [["seed", "0", "bg_shift"], ["seed", "0", "bg_many"]]
    # Shifted by 3 to 6 snippets, the background head is out of step with the class head in both videos; raised
    # by 3 logits, it calls background at every click, and the candidates that trust it are set aside.
    assert figures[0]["out_of_step"] == 1.0 and "heads out of step" in lines[0]
    assert "set aside: background at 100% of the points" in lines[1] and figures[1]["base"] == "defaults"
    assert table.results == {}  # the table itself is left as it was


def test_the_bar_summary_counts_each_way_of_missing_it():
    figures = [{"vs_default": 0.5, "vs_paper": 3.0, "regret": 0.0},
               {"vs_default": -1.2, "vs_paper": 2.0, "regret": 1.0},
               {"vs_default": 0.0, "vs_paper": -1.5, "regret": 0.0},
               {"vs_default": 0.0, "vs_paper": 1.0, "regret": 3.5}]
    assert bar_summary(figures) == ("4 tables: worst vs defaults -1.2, vs paper -1.5, most below the best candidate "
                                    "3.5; tables outside the bar: 3")
    assert bar_summary(figures[:1]).endswith("tables outside the bar: 0")
