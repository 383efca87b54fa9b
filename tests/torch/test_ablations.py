"""benchmarks/ablations.py without training: variants and their overrides, the check on shared stages, tables,
checks. (fork_run itself: tests/torch/test_pipeline.py.)"""
from __future__ import annotations

import pytest

from benchmarks import ablations as ab

TIOUS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]


def _entry(average: float, alpha: float | None = None) -> dict:
    entry = {"map": [average + 10 - 3 * i for i in range(7)], "average": average}
    if alpha is not None:
        entry["alpha"] = alpha
    return entry


def _report(base: float, main: float, adm: float = 70.0, proposals: float = 50.0) -> dict:
    return {"tious": TIOUS, "base": _entry(base), "main": _entry(main),
            "pseudo_labels": {"tious": TIOUS, "base_proposals": _entry(proposals, 8.0), "adm": _entry(adm, 1.0)}}


def test_variants_cover_the_tables_and_overrides_put_the_ablated_fields_last():
    names = [v.name for v in ab.VARIANTS]
    assert len(set(names)) == len(names)
    used = {row.variant for spec in ab.TABLES for row in spec.rows}
    assert used == set(names) | {ab.UNTRAINED}
    order = [v.name for v in ab.run_order()]
    for item in ab.VARIANTS:
        if item.shares:
            assert order.index(item.shares) < order.index(item.name)
            # a sharing variant must ask for exactly the shared run's base settings
            assert item.base == ab.variant(item.shares).base
    sets = ab.run_overrides(ab.variant("rs_inf"), 2, ["optim.epochs=5", "main.sampling_radius=3"])
    assert sets[0] == "run.figures=0" and "seed=2" in sets
    assert sets.index("main.sampling_radius=3") < sets.index("main.sampling_radius=inf")
    assert ab.variant("points_only").overrides[0] == "loss.augment_radius=0"
    assert "main.lambda_gauss=0" in ab.variant("no_new_losses").main
    assert "main.sigma_head=false" in ab.variant("gauss_only").main


def test_overrides_are_valid_config_values():
    from admfit_torch.config import load_config, with_overrides

    for item in ab.VARIANTS:
        cfg = with_overrides(load_config("cpu-small"), ab.run_overrides(item, 1, ["optim.epochs=3"]))
        assert cfg.seed == 1 and cfg.run.figures == 0
    assert with_overrides(load_config("cpu-small"), list(ab.variant("rs_inf").overrides)).main.sampling_radius is None


def test_run_order_refuses_a_missing_shared_run():
    with pytest.raises(ValueError):
        ab.run_order([ab.variant("rs1")])


def test_check_shared_wants_the_shared_stages_skipped(tmp_path):
    from admfit_torch.run.pipeline import StageOutcome

    def outcomes(*actions):
        return [StageOutcome(name, action, tmp_path / name) for name, action in zip(("base", "pseudo", "main", "eval"),
                                                                                     actions)]

    assert ab.SHARED_STAGES == ("base", "pseudo")
    ab.check_shared(outcomes("skipped", "skipped", "ran", "ran"), tmp_path)
    with pytest.raises(RuntimeError, match="pseudo stage ran"):
        ab.check_shared(outcomes("skipped", "ran", "ran", "ran"), tmp_path)
    with pytest.raises(RuntimeError, match="base stage did not run"):
        ab.check_shared([], tmp_path)


def test_run_config_puts_the_data_and_the_overrides_in_the_config(tmp_path):
    data = ab.Data(tmp_path / "features", tmp_path / "annotations.json", tmp_path / "points.csv")
    cfg = ab.run_config(data, "cpu-small", ab.run_overrides(ab.variant("rs4"), 3, ["optim.epochs=4"]), "cpu")
    assert (cfg.seed, cfg.optim.epochs, cfg.main.sampling_radius, cfg.device) == (3, 4, 4, "cpu")
    assert cfg.run.features == str(data.features) and cfg.run.points == str(data.points)


def _reports(seeds=(0, 1, 2)) -> dict:
    shift = {0: 0.0, 1: 1.0, 2: -1.0}
    reports = {}
    means = {"points_only": (20, 15), "default": (40, 45), "no_new_losses": (40, 44), "gauss_only": (40, 43),
             "rs1": (40, 42), "rs4": (40, 46), "rs_inf": (40, 30)}
    for name, (base, main) in means.items():
        reports[name] = {s: _report(base + shift[s], main + shift[s] * 2) for s in seeds}
    reports[ab.UNTRAINED] = {s: {"tious": TIOUS, "base": _entry(1.0)} for s in seeds}
    return reports


def test_tables_have_mean_std_and_per_seed_values():
    tables = {t["key"]: t for t in ab.build_tables(_reports())}
    assert set(tables) == {"table2", "table3", "table5", "table6", "main_vs_base"}
    table2 = tables["table2"]
    assert table2["columns"] == ["alpha", "mAP@0.7", "AVG(0.1:0.7)"]
    adm = table2["rows"][1]
    assert adm["label"] == "ADM pseudo-labels"
    assert adm["cells"][0]["mean"] == pytest.approx(1.0) and adm["cells"][0]["std"] == pytest.approx(0.0)
    assert adm["cells"][1]["mean"] == pytest.approx(70 + 10 - 18)  # mAP@0.7 is the 7th entry
    rows3 = {r["label"]: r for r in tables["table3"]["rows"]}
    points = rows3["(a) only points, r_a=0"]["cells"][-1]
    assert points["per_seed"] == {"0": 20.0, "1": 21.0, "2": 19.0}
    assert points["mean"] == pytest.approx(20.0) and points["std"] == pytest.approx(1.0)
    assert rows3["(c) pseudo-labels, r_s=2"]["cells"][-1]["mean"] == pytest.approx(44.0)  # main of no_new_losses
    assert rows3["reference: untrained model"]["cells"][-1]["mean"] == pytest.approx(1.0)
    assert [r["cells"][-1]["mean"] for r in tables["table5"]["rows"]] == pytest.approx([42, 45, 46, 30])
    text = ab.render_text(ab.build_tables(_reports()))
    assert "Table 5" in text and "45.0 ± 2.0" in text


def test_a_missing_variant_drops_its_rows_and_one_seed_has_no_std():
    reports = _reports(seeds=(0,))
    del reports["rs4"]
    tables = {t["key"]: t for t in ab.build_tables(reports)}
    assert [r["label"] for r in tables["table5"]["rows"]] == ["r_s=1", "r_s=2", "r_s=inf (no sampling)"]
    assert tables["table5"]["rows"][0]["cells"][0]["std"] is None
    checks = ab.evaluate_checks(ab.build_tables(reports))
    assert all(c["spread"] is None and c["exceeds_spread"] is None for c in checks)
    assert "n/a (one seed)" in ab.describe_check(checks[0])


def test_checks_report_direction_agreement_and_spread():
    checks = ab.evaluate_checks(ab.build_tables(_reports()))
    found = {(c["table"], c["better"], c["worse"], c["column"]): c for c in checks}
    alpha = found[("table2", "ADM pseudo-labels", "Base model proposals", "alpha")]
    assert alpha["lower_is_better"] and alpha["follows_paper"] and alpha["difference"] == pytest.approx(-7.0)
    sampling = found[("table5", "r_s=2", "r_s=inf (no sampling)", "AVG(0.1:0.7)")]
    assert sampling["follows_paper"] and sampling["seeds_agreeing"] == 3 and sampling["exceeds_spread"]
    assert sampling["difference"] == pytest.approx(15.0) and sampling["spread"] == pytest.approx(2.0)
    wider = found[("table5", "r_s=2", "r_s=4", "AVG(0.1:0.7)")]
    assert not wider["follows_paper"] and wider["seeds_agreeing"] == 0 and not wider["exceeds_spread"]
    assert "AGAINST" in ab.describe_check(wider) and "within the seed spread" in ab.describe_check(wider)
    markdown = ab.render_markdown(ab.build_tables(_reports()), checks, ["Command: `x`"])
    assert markdown.startswith("Command: `x`") and "| (b) augmented points, r_a=2 |" in markdown


def test_parse_args_quick_and_defaults():
    quick = ab.parse_args(["--quick"])
    assert (quick.seeds, quick.videos, quick.epochs) == (ab.QUICK["seeds"], ab.QUICK["videos"], ab.QUICK["epochs"])
    full = ab.parse_args(["--seeds", "2", "--set", "model.levels=4", "--set", "optim.lr=0.002"])
    assert full.seeds == 2 and full.videos == ab.DEFAULT["videos"] and full.set == ["model.levels=4", "optim.lr=0.002"]
    with pytest.raises(SystemExit):
        ab.parse_args(["--seeds", "0"])
    assert (quick.generator, quick.variant) == ("synthetic", None)


def test_main_vs_base_bar_needs_three_points_beyond_the_seed_spread():
    from benchmarks import main_vs_base as mvb

    rows = mvb.summarise({"clear": {"base": [40.0, 42.0, 41.0], "main": [45.0, 46.0, 45.5]},
                          "spread": {"base": [40.0, 42.0, 41.0], "main": [50.0, 40.0, 46.0]},
                          "small": {"base": [40.0, 42.0, 41.0], "main": [42.0, 44.0, 43.0]}})
    by_name = {row["variant"]: row for row in rows}
    assert by_name["clear"]["difference"][0] == pytest.approx(13.5 / 3)
    assert by_name["clear"]["bar_met"] and not by_name["spread"]["bar_met"] and not by_name["small"]["bar_met"]
    text = mvb.render(rows)
    assert "clear" in text and "NOT met" in text


def test_parse_args_generator_and_variant():
    assert ab.parse_args(["--generator", "independent"]).variant == "medium"
    assert ab.parse_args(["--generator", "independent", "--variant", "hard"]).variant == "hard"
    for wrong in (["--variant", "hard"], ["--generator", "independent", "--variant", "nope"], ["--generator", "x"]):
        with pytest.raises(SystemExit):
            ab.parse_args(wrong)


def test_extra_variants_share_default_and_put_their_overrides_last(tmp_path):
    extra = ab.extra_variant("sigma_q50=main.sigma_scale_quantile=0.5, main.lambda_sigma=0.5")
    assert extra.shares == "default" and extra.base == ab.DEFAULT_BASE
    assert extra.main[-2:] == ("main.sigma_scale_quantile=0.5", "main.lambda_sigma=0.5")
    assert [v.name for v in ab.run_order([*ab.VARIANTS, extra])][-1] == "sigma_q50"
    data = ab.Data(tmp_path / "features", tmp_path / "annotations.json", tmp_path / "points.csv")
    cfg = ab.run_config(data, "cpu-small", ab.run_overrides(extra, 0), "cpu")
    assert (cfg.main.sigma_scale_quantile, cfg.main.lambda_sigma, cfg.main.sigma_head) == (0.5, 0.5, True)
    for wrong in ("default=main.lambda_sigma=0", "x", "x=", "x=main.lambda_sigma", "1x=main.lambda_sigma=0"):
        with pytest.raises(ValueError, match="--extra"):
            ab.extra_variant(wrong)
    with pytest.raises(SystemExit):
        ab.parse_args(["--extra", "a=main.lambda_sigma=0", "--extra", "a=main.lambda_gauss=0"])
    assert extra.shares_through == "pseudo" and ab.extra_variant("short=adm.g1=1").shares_through == "base"


def test_extras_only_runs_default_and_the_extras_alone():
    every = ab.parse_args(["--extra", "auto=adm.tuning=auto"])
    assert [v.name for v in ab.variants_to_run(every)] == [v.name for v in ab.run_order(ab.VARIANTS)] + ["auto"]
    alone = ab.parse_args(["--extra", "auto=adm.tuning=auto", "--extras-only"])
    assert [v.name for v in ab.variants_to_run(alone)] == ["default", "auto"]
    with pytest.raises(SystemExit):
        ab.parse_args(["--extras-only"])


def test_check_shared_through_base_lets_the_pseudo_stage_run(tmp_path):
    from admfit_torch.run.pipeline import StageOutcome

    outcomes = [StageOutcome(name, action, tmp_path / name)
                for name, action in zip(("base", "pseudo", "main", "eval"), ("skipped", "ran", "ran", "ran"))]
    ab.check_shared(outcomes, tmp_path, "base")
    with pytest.raises(RuntimeError, match="pseudo stage ran"):
        ab.check_shared(outcomes, tmp_path)


def test_diagnosis_table_checks_each_extra_against_default():
    extras = [ab.extra_variant("better=main.lambda_sigma=0"), ab.extra_variant("worse=main.lambda_gauss=2")]
    reports = _reports()
    reports["better"] = {s: _report(40, 48 + s) for s in (0, 1, 2)}
    reports["worse"] = {s: _report(40, 41) for s in (0, 1, 2)}
    tables = ab.build_tables(reports, (*ab.TABLES, ab.diagnosis_table(extras)))
    checks = {c["better"]: c for c in ab.evaluate_checks(tables, ab.diagnosis_checks(extras))}
    better, worse = checks[extras[0].label], checks[extras[1].label]
    assert better["difference"] == pytest.approx(4.0) and "above default" in ab.describe_check(better)
    assert worse["difference"] == pytest.approx(-4.0) and "below default" in ab.describe_check(worse)
    main_vs_base = [c for c in ab.evaluate_checks(tables) if c["table"] == "main_vs_base"][0]
    assert main_vs_base["difference"] == pytest.approx(5.0) and main_vs_base["follows_paper"]


def test_pseudo_quality_candidate_changes_only_the_named_fields():
    from admfit import ADMConfig
    from benchmarks import pseudo_quality as pq

    candidate = pq.parse_candidate("g1=1.0, g2=0.75")
    assert (candidate.g1, candidate.g2) == (1.0, 0.75)
    assert candidate.model_copy(update={"g1": ADMConfig().g1, "g2": ADMConfig().g2}) == ADMConfig(tuning="off")
    for wrong in ("g1", "g1=-1", "nonsense=1"):
        with pytest.raises(ValueError):
            pq.parse_candidate(wrong)


def test_a_users_data_folder_is_read_in_the_synth_layout_and_refused_naming_what_it_lacks(tmp_path):
    import numpy as np

    from admfit.errors import InputError

    (tmp_path / "features").mkdir()
    (tmp_path / "annotations.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match="has no points.csv") as refused:
        ab.user_data(tmp_path)
    assert refused.value.file == str(tmp_path) and refused.value.field == "data"
    (tmp_path / "points.csv").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="holds no VIDEO.npy"):
        ab.user_data(tmp_path)
    np.save(tmp_path / "features" / "v.npy", np.zeros((10, 48), np.float32))
    data, width = ab.user_data(tmp_path)
    assert (data.features, data.points, width) == (tmp_path / "features", tmp_path / "points.csv", 48)
