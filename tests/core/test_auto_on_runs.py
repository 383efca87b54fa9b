"""benchmarks/auto_on_runs.py: the table of self-tuning on the default runs' base-model signals."""
from benchmarks.auto_on_runs import AUTO, candidate_configs, render


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
