"""Self-tuning (admfit.fit.tuning, ADMConfig(tuning="auto")) on hand-made videos whose right labels are known, the
rule's steps on given contrasts, and the determinism of the choice."""
import numpy as np
import pytest

from admfit import ADMConfig, fit_instances
from admfit.fit import tuning
from admfit.fit.prepare import prepare_instances
from admfit.fit.tuning import PAPER_MARGIN, candidates, fit_tuned, points_on_background, scored_videos

LENGTH = 240
BOX = (80, 99)  # the one instance of every video, snippets inclusive
POINT = 90


def _video(kind: str, rng) -> tuple[np.ndarray, np.ndarray]:
    """Class 0 and background probabilities of one video: the instance BOX, and
    - "bleed": the class head stays at 0.7 (above bg_agreement x its peak) for 60 snippets past the instance, where
      the background head rightly says background: the bracket must end at the background (no agreement);
    - "false_bg": the background head fires at snippets 94-95 inside the instance, where the class head rightly
      stays high: the bracket must go on (the defaults' agreement)."""
    probs, bg_probs = np.full((LENGTH, 2), 0.05), np.full(LENGTH, 0.95)
    probs[BOX[0]:BOX[1] + 1, 0], bg_probs[BOX[0]:BOX[1] + 1] = 0.9, 0.1
    if kind == "bleed":
        probs[BOX[1] + 1:BOX[1] + 61, 0] = 0.7
    elif kind == "false_bg":
        bg_probs[94:96] = 0.9
    noisy = np.clip(probs + rng.normal(0, 0.02, probs.shape), 0, 1)
    return noisy, np.clip(bg_probs + rng.normal(0, 0.02, LENGTH), 0, 1)


def _dataset(kinds, seed=1):
    rng = np.random.default_rng(seed)
    videos = {f"{kind}{i}": _video(kind, rng) for i in range(4) for kind in kinds}
    probs = {key: value[0] for key, value in videos.items()}
    bg_probs = {key: value[1] for key, value in videos.items()}
    return probs, {key: np.array([[POINT, 0]]) for key in videos}, bg_probs


def _tiou_with_box(table) -> np.ndarray:
    start, end = table["start"], table["end"]
    inter = np.clip(np.minimum(end, BOX[1] + 0.5) - np.maximum(start, BOX[0] - 0.5), 0, None)
    return inter / ((end - start) + (BOX[1] - BOX[0] + 1) - inter)


def test_each_fixed_candidate_fails_half_of_a_mixed_dataset_and_auto_labels_every_instance():
    probs, points, bg_probs = _dataset(("bleed", "false_bg"))
    for config in (ADMConfig(tuning="off"), ADMConfig(tuning="off", bg_agreement=0.0)):
        fixed = fit_instances(probs, points, bg_probs=bg_probs, config=config, as_table=True)
        assert (_tiou_with_box(fixed) < 0.8).sum() == 4, config.bg_agreement
    labels, result = fit_tuned(probs, points, bg_probs=bg_probs, as_table=True)
    assert _tiou_with_box(labels).min() > 0.9
    assert result.partner is not None and result.switched == 4 and result.labels == 8
    assert list(result.contrast) == ["defaults", "paper", "no_bg_agreement"]


@pytest.mark.parametrize("kind, base", [("bleed", "no_bg_agreement"), ("false_bg", "defaults")])
def test_the_base_is_the_candidate_whose_labels_match_the_instances(kind, base):
    probs, points, bg_probs = _dataset((kind,))
    labels, result = fit_tuned(probs, points, bg_probs=bg_probs, as_table=True)
    assert result.base == base and result.switched == 0
    assert _tiou_with_box(labels).min() > 0.9


def test_a_background_head_calling_background_at_most_points_sets_aside_the_candidates_that_trust_it():
    probs, points, bg_probs = _dataset(("bleed",))
    _, trusted = fit_tuned(probs, points, bg_probs=bg_probs)
    assert trusted.base == "no_bg_agreement" and trusted.set_aside == () and trusted.on_background == 0.0
    # Background called at the clicked snippets themselves (the fit clears point_radius around them, so no
    # candidate's labels change): the head contradicts the annotator, so the candidates trusting it are set aside.
    for key in bg_probs:
        bg_probs[key][POINT] = 0.9
    labels, distrusted = fit_tuned(probs, points, bg_probs=bg_probs, as_table=True)
    assert distrusted.on_background == 1.0 and distrusted.set_aside == ("paper", "no_bg_agreement")
    assert distrusted.base == "defaults" and distrusted.partner is None and distrusted.switched == 0
    assert "set aside: background at 100% of the points" in distrusted.line
    assert distrusted.to_meta()["set_aside"] == ["paper", "no_bg_agreement"]
    assert set(distrusted.contrast) == {"defaults", "paper", "no_bg_agreement"}  # still fitted and reported
    fixed = fit_instances(probs, points, bg_probs=bg_probs, config=ADMConfig(tuning="off"), as_table=True)
    np.testing.assert_array_equal(labels["end"], fixed["end"])


def test_points_on_background_reads_the_mask_or_the_probabilities_above_the_threshold():
    points = {"a": np.array([[1, 0], [3, 0]]), "b": np.array([[0, 2]])}
    mask = {"a": np.array([False, True, False, False]), "b": np.array([True])}
    assert points_on_background({"points": points, "background": mask, "bg_probs": None}, 0.5) == 2 / 3
    bg = {"a": np.array([0.1, 0.9, 0.2, 0.5]), "b": np.array([0.6])}
    assert points_on_background({"points": points, "background": None, "bg_probs": bg}, 0.5) == 2 / 3
    assert points_on_background({"points": points, "background": None, "bg_probs": bg}, 0.4) == 1.0
    assert points_on_background({"points": points, "background": None, "bg_probs": None}, 0.5) == 0.0


def test_fit_instances_with_tuning_auto_returns_fit_tuneds_labels():
    probs, points, bg_probs = _dataset(("bleed", "false_bg"))
    table, _ = fit_tuned(probs, points, bg_probs=bg_probs, as_table=True)
    listed = fit_instances(probs, points, bg_probs=bg_probs, config=ADMConfig(tuning="auto"))
    np.testing.assert_array_equal([label.end for label in listed], table["end"])
    assert [label.video for label in listed] == list(table["video"])


def test_the_choice_and_the_labels_do_not_depend_on_the_order_of_the_videos(monkeypatch):
    monkeypatch.setattr(tuning, "TUNING_POINTS", 3)  # steps 1-2 on a subset of the videos
    probs, points, bg_probs = _dataset(("bleed", "false_bg"))
    forward, first = fit_tuned(probs, points, bg_probs=bg_probs, as_table=True)
    again, second = fit_tuned(probs, points, bg_probs=bg_probs, as_table=True)
    assert first == second
    np.testing.assert_array_equal(forward["end"], again["end"])
    reverse = list(points)[::-1]
    backward, third = fit_tuned({k: probs[k] for k in reverse}, {k: points[k] for k in reverse},
                                bg_probs={k: bg_probs[k] for k in reverse}, as_table=True)
    assert third == first and first.videos_scored == 3
    by_video = dict(zip(backward["video"], backward["end"]))
    assert [by_video[key] for key in forward["video"]] == forward["end"].tolist()


def test_scored_videos_are_whole_videos_by_hash_until_the_budget():
    counts = {f"v{i}": 2 for i in range(10)} | {"empty": 0}
    assert set(scored_videos(counts, most_points=100)) == set(counts) - {"empty"}
    picked = scored_videos(counts, most_points=5)
    assert len(picked) == 3 and "empty" not in picked
    assert scored_videos(dict(reversed(list(counts.items()))), most_points=5) == picked


def test_the_rule_keeps_the_given_options_on_a_tie_and_takes_the_paper_only_beyond_its_margin():
    assert tuning._base({"defaults": 0.5, "paper": 0.4, "no_bg_agreement": 0.5}, 0.0) == ("defaults", "no_bg_agreement")
    assert tuning._base({"defaults": 0.5, "paper": 0.4, "no_bg_agreement": 0.51}, 0.0) \
        == ("no_bg_agreement", "defaults")
    just_below = 0.51 * (1 + PAPER_MARGIN) - 1e-6
    assert tuning._base({"defaults": 0.5, "paper": just_below, "no_bg_agreement": 0.51}, 0.0)[0] == "no_bg_agreement"
    assert tuning._base({"defaults": 0.5, "paper": 0.6, "no_bg_agreement": 0.51}, 0.0) == ("paper", None)
    assert tuning._base({"given": 0.5}, 0.0) == ("given", None)


def test_candidates_keep_the_given_data_fields_and_drop_duplicates():
    found = candidates(ADMConfig(tuning="auto"))
    assert list(found) == ["defaults", "paper", "no_bg_agreement"]
    assert all(config.tuning == "off" for config in found.values())
    given = candidates(ADMConfig(bg_threshold=0.3, g1=1.0))
    assert list(given) == ["given", "paper", "no_bg_agreement"] and given["paper"].bg_threshold == 0.3
    assert list(candidates(ADMConfig(bg_agreement=0.0))) == ["given", "paper"]
    assert list(candidates(ADMConfig.paper())) == ["given"]


def test_prepare_instances_refuses_an_unresolved_auto_config():
    probs, points, bg_probs = _dataset(("bleed",))
    with pytest.raises(ValueError, match="fit_tuned|tune"):
        prepare_instances(probs, points, bg_probs=bg_probs, config=ADMConfig(tuning="auto"))


def test_no_points_gives_no_labels():
    probs, _, bg_probs = _dataset(("bleed",))
    labels, result = fit_tuned(probs, {key: np.zeros((0, 2), np.int64) for key in probs}, bg_probs=bg_probs)
    assert labels == [] and result.labels == 0 and result.base == "defaults"


@pytest.mark.parametrize("video", ["bleed0", "false_bg3"])  # outside and inside the scored subset
def test_bad_input_fails_as_fit_instances_fails_wherever_it_is(monkeypatch, video):
    from admfit.errors import InputError

    monkeypatch.setattr(tuning, "TUNING_POINTS", 3)
    probs, points, bg_probs = _dataset(("bleed", "false_bg"))
    probs[video] = probs[video].copy()
    probs[video][5, 0] = np.nan
    with pytest.raises(InputError, match="NaN") as error:
        fit_instances(probs, points, bg_probs=bg_probs, config=ADMConfig(tuning="auto"))
    assert error.value.video == video


def test_the_yaml_word_off_reads_as_tuning_off():
    import yaml  # YAML 1.1 reads the bare word off as false, in every config file and --set
    assert ADMConfig(**yaml.safe_load("tuning: off")).tuning == "off"
    with pytest.raises(ValueError, match="tuning"):
        ADMConfig(**yaml.safe_load("tuning: on"))


def test_a_background_head_out_of_step_makes_step_1_ask_no_bg_agreement_its_margin(monkeypatch):
    probs, points, bg_probs = _dataset(("bleed",))
    _, in_step = fit_tuned(probs, points, bg_probs=bg_probs)
    assert in_step.out_of_step == 0.0 and not in_step.heads_out_of_step and "out of step" not in in_step.line
    # The background head late by 5 snippets in every video: the class head says where the action is.
    late = {key: np.concatenate([np.full(5, value[0]), value[:-5]]) for key, value in bg_probs.items()}
    margins = []
    monkeypatch.setattr(tuning, "_base", lambda contrast, margin: margins.append(margin) or ("defaults", None))
    _, shifted = fit_tuned(probs, points, bg_probs=late)
    assert shifted.out_of_step == 1.0 and shifted.heads_out_of_step and margins == [tuning.OUT_OF_STEP_MARGIN]
    assert "heads out of step in 100% of the videos: no_bg_agreement needs +4% contrast" in shifted.line
    assert shifted.to_meta()["videos_out_of_step"] == 1.0
    fit_tuned(probs, points, bg_probs=bg_probs)
    assert margins[-1] == tuning.BASE_MARGIN


def test_step_1_with_a_margin_keeps_the_given_options_unless_no_bg_agreement_leads_by_it():
    contrast = {"defaults": 0.5, "paper": 0.4, "no_bg_agreement": 0.51}
    assert tuning._base(contrast, 0.04) == ("defaults", "no_bg_agreement")
    assert tuning._base({**contrast, "no_bg_agreement": 0.521}, 0.04) == ("no_bg_agreement", "defaults")


def test_tuning_is_auto_by_default_and_the_papers_method_and_the_fixed_defaults_are_off():
    assert ADMConfig().tuning == "auto" and ADMConfig.paper().tuning == "off"
    assert ADMConfig.paper(tuning="auto").tuning == "auto"
    assert ADMConfig(tuning="off").model_copy(update={"tuning": "auto"}) == ADMConfig()
    # The candidates are fitted as they are: none of them tunes again.
    assert all(option.tuning == "off" for option in candidates(ADMConfig()).values())
    assert list(candidates(ADMConfig())) == ["defaults", "paper", "no_bg_agreement"]


def test_fit_instances_without_a_config_makes_auto_s_labels_not_the_fixed_defaults():
    probs, points, bg_probs = _dataset(("bleed",))  # no_bg_agreement's labels are right; the defaults' are not
    tuned, result = fit_tuned(probs, points, bg_probs=bg_probs, as_table=True)
    plain = fit_instances(probs, points, bg_probs=bg_probs, as_table=True)
    fixed = fit_instances(probs, points, bg_probs=bg_probs, config=ADMConfig(tuning="off"), as_table=True)
    assert result.base == "no_bg_agreement"
    np.testing.assert_array_equal(plain["end"], tuned["end"])
    assert _tiou_with_box(plain).min() > 0.9 and _tiou_with_box(fixed).max() < 0.8
    # One configuration is prepared at a time: prepare_instances defaults to the fixed defaults, refuses auto.
    prepared = prepare_instances(probs, points, bg_probs=bg_probs)
    assert prepared.config == ADMConfig(tuning="off")
    with pytest.raises(ValueError, match="fit_tuned"):
        prepare_instances(probs, points, bg_probs=bg_probs, config=ADMConfig())
