"""Hostile inputs across the nine commands, one row per case: each gives one `error: ...` line naming the file
and the field, exit code 2, no traceback, and writes nothing (an earlier probe of every command, replayed).

A row is (command line with {placeholders}, words the line must hold). Placeholders name files of
``world.py`` / ``torch_world.py``; ``{out}`` is a file and ``{run}`` a folder that must stay absent or empty.
"""
from __future__ import annotations

import pytest

from admfit_cli.main import app as admfit_app
from admfit_cli.torch_main import app as torch_app

from ..helpers import assert_one_line_error, invoke
from . import world

FIT = ("admfit", "fit")
PLOT_ARGS = ("--video", "v1", "--label", "a", "-o", "{out}.png")
ID_CASES = tuple(world.HOSTILE_IDS)

CORE_CASES = [
    # admfit fit: signals.npz
    (FIT + ("{sig_npy}", "{points}", "-o", "{out}"), ("npy_renamed.npz", "single array")),
    (FIT + ("{sig_truncated}", "{points}", "-o", "{out}"), ("truncated.npz", "signals")),
    (FIT + ("{sig_int}", "{points}", "-o", "{out}"), ("sig_int.npz", "'v1'", "'probs'", "float")),
    (FIT + ("{sig_bool}", "{points}", "-o", "{out}"), ("sig_bool.npz", "'probs'", "float")),
    (FIT + ("{sig_str}", "{points}", "-o", "{out}"), ("sig_str.npz", "'probs'", "float")),
    (FIT + ("{sig_complex}", "{points}", "-o", "{out}"), ("sig_complex.npz", "'probs'", "float")),
    (FIT + ("{sig_nan}", "{points}", "-o", "{out}"), ("sig_nan.npz", "'probs'", "NaN")),
    (FIT + ("{sig_inf}", "{points}", "-o", "{out}"), ("sig_inf.npz", "'probs'", "inf")),
    (FIT + ("{sig_above_one}", "{points}", "-o", "{out}"), ("sig_above_one.npz", "'probs'", "[0, 1]")),
    (FIT + ("{sig_bg_str}", "{points}", "-o", "{out}"), ("sig_bg_str.npz", "'bg_probs'", "float")),
    (FIT + ("{sig_bg_short}", "{points}", "-o", "{out}"), ("sig_bg_short.npz", "'v1'", "'bg_probs'", "fewer")),
    (FIT + ("{sig_bg_2d}", "{points}", "-o", "{out}"), ("sig_bg_2d.npz", "'bg_probs'", "1-D")),
    (FIT + ("{sig_mixed_background}", "{points}", "-o", "{out}"), ("sig_mixed_background.npz", "same kind")),
    (FIT + ("{sig_no_background}", "{points}", "-o", "{out}"), ("sig_no_background.npz", "'v2'", "bg_probs")),
    (FIT + ("{sig_frames_negative}", "{points}", "-o", "{out}"), ("sig_frames_negative.npz", "'num_frames'")),
    (FIT + ("{sig_frames_nan}", "{points}", "-o", "{out}"), ("sig_frames_nan.npz", "'num_frames'")),
    (FIT + ("{sig_frames_str}", "{points}", "-o", "{out}"), ("sig_frames_str.npz", "'num_frames'")),
    (FIT + ("{sig_stride_huge}", "{points}", "-o", "{out}"), ("sig_stride_huge.npz", "'stride'")),
    (FIT + ("{sig_fps_zero}", "{points}", "-o", "{out}"), ("sig_fps_zero.npz", "'v1/fps'")),
    (FIT + ("{sig_classes_short}", "{points}", "-o", "{out}"), ("sig_classes_short.npz", "'classes'")),
    (FIT + ("{sig_classes_numbers}", "{points}", "-o", "{out}"), ("sig_classes_numbers.npz", "'classes'")),
    (FIT + ("{sig_columns_differ}", "{points}", "-o", "{out}"), ("sig_columns_differ.npz", "'v2'", "classes")),
    # admfit fit: options, points, config
    (FIT + ("{signals}", "{points}", "-o", "{out}", "--fps", "-30"), ("--fps",)),
    (FIT + ("{signals}", "{points}", "-o", "{out}", "--fps", "nan"), ("--fps",)),
    (FIT + ("{signals}", "{points}", "-o", "{out}", "--fps", "inf"), ("--fps",)),
    (FIT + ("{signals}", "{points}", "-o", "{out}", "--stride", "1e300"), ("--stride",)),
    (FIT + ("{signals}", "{points}", "-o", "{out}", "--stride", "0"), ("--stride",)),
    (FIT + ("{signals}", "{points}", "-o", "{out}", "--num-frames", "-3"), ("--num-frames",)),
    (FIT + ("{signals}", "{points}", "-o", "{out}", "--threads", "0"), ("--threads",)),
    (FIT + ("{signals}", "{points}", "-o", "{out}", "--format", "xml"), ("--format",)),
    (FIT + ("{signals}", "{points_far}", "-o", "{out}"), ("points_far.json", "'v1'", "time_s")),
    (FIT + ("{signals}", "{points_unknown}", "-o", "{out}"), ("points_unknown.json", "'v2'", "zebra")),
    (FIT + ("{signals}", "{points}", "-o", "{out}", "--config", "{adm_binary}"), ("adm_binary.yaml", "UTF-8")),
    (FIT + ("{signals}", "{points}", "-o", "{out}", "--config", "{adm_list}"), ("adm_list.yaml", "config")),
    (FIT + ("{signals}", "{points}", "-o", "{out}", "--config", "{adm_unknown}"), ("adm_unknown.yaml",
                                                                                    "no_such_option")),
    (("admfit", "fit", "{signals}"), ("POINTS",)),
    # admfit plot: the same signals checks, and the pseudo-labels against the signals
    (("admfit", "plot", "{sig_bg_str}", "{pseudo}") + PLOT_ARGS, ("sig_bg_str.npz", "'bg_probs'")),
    (("admfit", "plot", "{sig_nan}", "{pseudo}") + PLOT_ARGS, ("sig_nan.npz", "'probs'", "NaN")),
    (("admfit", "plot", "{sig_above_one}", "{pseudo}") + PLOT_ARGS, ("sig_above_one.npz", "[0, 1]")),
    (("admfit", "plot", "{sig_str}", "{pseudo}") + PLOT_ARGS, ("sig_str.npz", "float")),
    (("admfit", "plot", "{signals}", "{pl_point_huge}") + PLOT_ARGS, ("pl_point_huge.json", "results[0].point")),
    (("admfit", "plot", "{signals}", "{pl_reversed}") + PLOT_ARGS, ("pl_reversed.json", "results[0].start")),
    (("admfit", "plot", "{signals}", "{pl_label_unknown}") + PLOT_ARGS, ("pl_label_unknown.json", "label_id")),
    # NaN and words are refused by the pseudo-label reader (admfit.files.pseudo_labels.read_pseudo_labels), which
    # names results.VIDEO.N.FIELD; the ranges against the signal, by admfit.files.validation.pseudo_label_entries
    (("admfit", "plot", "{signals}", "{pl_score_nan}") + PLOT_ARGS, ("pl_score_nan.json", "results.v1.0.score")),
    (("admfit", "plot", "{signals}", "{pl_sigma_zero}") + PLOT_ARGS, ("pl_sigma_zero.json", "results[0].sigma")),
    (("admfit", "plot", "{signals}", "{pl_point_word}") + PLOT_ARGS, ("pl_point_word.json", "results.v1.0.point")),
    (("admfit", "plot", "{signals}", "{pseudo}") + PLOT_ARGS + ("--fps", "nan"), ("--fps",)),
    (("admfit", "plot", "{signals}", "{pseudo}") + PLOT_ARGS + ("--stride", "-4"), ("--stride",)),
    (("admfit", "plot", "{signals}", "{pseudo}") + PLOT_ARGS + ("--num-frames", "inf"), ("--num-frames",)),
    # admfit eval / eval-pseudo: user-sized loops and results files
    (("admfit", "eval", "{gt}", "{pred}", "--tiou", "0:1:1e-9"), ("--tiou", "1001")),
    (("admfit", "eval", "{gt}", "{pred}", "--tiou", "0:1:5e-324"), ("--tiou",)),
    (("admfit", "eval", "{gt}", "{pred}", "--tiou", "nan:1:0.1"), ("--tiou", "finite")),
    (("admfit", "eval", "{gt}", "{pred}", "--tiou", ",".join(["0.5"] * 2000)), ("--tiou", "1001")),
    (("admfit", "eval", "{gt}", "{pred_broken}"), ("pred_broken.json", "JSON")),
    (("admfit", "eval", "{gt}", "{pred_score_word}"), ("pred_word.json", "score")),
    (("admfit", "eval", "{gt_nan}", "{pred}"), ("gt_nan.json", "'v1'", "segment")),
    (("admfit", "eval-pseudo", "{gt}", "{pseudo}", "--tiou", "0:1:1e-9"), ("--tiou",)),
    # a detections file is not `admfit fit` output: the reader refuses its rows before their units
    (("admfit", "eval-pseudo", "{gt}", "{pred_snippets}"), ("pred_snippets.json", "label_id")),
    (("admfit", "eval-pseudo", "{gt}", "{pl_snippets}"), ("pl_snippets.json", "segment_units")),
    # admfit simulate-points
    (("admfit", "simulate-points", "{gt}", "--shift-frames", "1e300", "-o", "{out}"), ("shift_frames",)),
    (("admfit", "simulate-points", "{gt}", "--sigma-frames", "-1", "-o", "{out}"), ("sigma_frames",)),
    (("admfit", "simulate-points", "{gt}", "--dist", "triangle", "-o", "{out}"), ("--dist",)),
    (("admfit", "simulate-points", "{gt}", "--points-fps", "{fps_negative}", "-o", "{out}"),
     ("fps_negative.json", "'v1'", "fps")),
    # admfit synth: ids of a user's ActivityNet file never become paths
    *((("admfit", "synth", "{run}", "--like", "anet12", "--annotations", "{%s}" % name), (f"{name}.json",
                                                                                           "video id", "database"))
      for name in ID_CASES),
    (("admfit", "synth", "{run}", "--max-videos", "0"), ("max_videos",)),
    (("admfit", "synth", "{run}", "--dim", "100000"), ("dim",)),
    (("admfit", "synth", "{run}", "--like", "kinetics"), ("--like",)),
    (("admfit", "frobnicate"), ("frobnicate",)),
]

TORCH_CASES = [
    # infer: checkpoints that load but are damaged
    *((("torch", "infer", "--checkpoint", "{%s}" % name, "--features", "{features}", "--annotations",
        "{annotations}", "--output", "{out}"), (f"{name}.pt", field))
      for name, field in (("ck_no_ema", "'ema'"), ("ck_no_config", "'config'"), ("ck_more_classes", "'ema'"),
                          ("ck_classes_string", "'classes'"), ("ck_bad_config", "'config.model.embed_dim'"),
                          ("ck_weird_stage", "'stage'"), ("ck_nan_weights", "'ema."),
                          ("ck_negative_epoch", "'epoch'"))),
    (("torch", "infer", "--checkpoint", "{ck_truncated}", "--features", "{features}", "--annotations",
      "{annotations}", "--output", "{out}"), ("truncated.pt", "'checkpoint'")),
    (("torch", "infer", "--checkpoint", "{ck_npy}", "--features", "{features}", "--annotations", "{annotations}",
      "--output", "{out}"), ("array.pt", "'checkpoint'")),
    # infer: overrides the weights fix, devices, features, ids
    (("torch", "infer", "--checkpoint", "{checkpoint}", "--features", "{features}", "--annotations", "{annotations}",
      "--output", "{out}", "--set", "model.embed_dim=64"), ("--set", "'model.embed_dim'")),
    (("torch", "infer", "--checkpoint", "{checkpoint}", "--features", "{features}", "--annotations", "{annotations}",
      "--output", "{out}", "--set", "main.sigma_samples=4"), ("--set", "'main.sigma_samples'")),
    (("torch", "infer", "--checkpoint", "{checkpoint}", "--features", "{features}", "--annotations", "{annotations}",
      "--output", "{out}", "--device", "quantum"), ("'device'",)),
    *((("torch", "infer", "--checkpoint", "{checkpoint}", "--features", "{%s}" % name, "--annotations",
        "{annotations}", "--output", "{out}"), (name, field))
      for name, field in (("feat_huge", "'features'"), ("feat_nan", "'features'"), ("feat_narrow", "'features'"),
                          ("feat_ints", "'dtype'"))),
    *((("torch", "infer", "--checkpoint", "{checkpoint}", "--features", "{features}", "--annotations",
        "{%s}" % name, "--output", "{out}"), (f"{name}.json", "video id", "'database'"))
      for name in ("ann_parent", "ann_absolute")),
    # eval
    (("torch", "eval", "--checkpoint", "{checkpoint}", "--features", "{features}", "--annotations", "{annotations}",
      "--tiou", "0:1:1e-9"), ("'--tiou'",)),
    (("torch", "eval", "--checkpoint", "{ck_no_ema}", "--features", "{features}", "--annotations", "{annotations}"),
     ("ck_no_ema.pt", "'ema'")),
    # train: configs and data refused before the run starts
    (("torch", "train", "--output", "{run}", "--config", "{cfg_preset_list}", "--features", "{features}",
      "--annotations", "{annotations}", "--points", "{points}"), ("cfg_preset_list.yaml", "'preset'")),
    (("torch", "train", "--output", "{run}", "--config", "{cfg_binary}", "--features", "{features}",
      "--annotations", "{annotations}", "--points", "{points}"), ("binary.yaml", "UTF-8")),
    (("torch", "train", "--output", "{run}", "--config", "{cfg_epochs_huge}", "--features", "{features}",
      "--annotations", "{annotations}", "--points", "{points}"), ("cfg_epochs_huge.yaml", "'optim.epochs'")),
    (("torch", "train", "--output", "{run}", "--config", "{cfg_device}", "--features", "{features}",
      "--annotations", "{annotations}", "--points", "{points}"), ("cfg_device.yaml", "'device'")),
    (("torch", "train", "--output", "{run}", "--config", "cpu-small", "--set", "optim.epochs=1.0e+23", "--features",
      "{features}", "--annotations", "{annotations}", "--points", "{points}"), ("--set", "'optim.epochs'")),
    (("torch", "train", "--output", "{run}", "--config", "cpu-small", "--set", "data.input_length=1000000000000",
      "--features", "{features}", "--annotations", "{annotations}", "--points", "{points}"),
     ("'data.input_length'",)),
    (("torch", "train", "--output", "{run}", "--config", "cpu-small", "--set", "run.tious=0:1:1e-9", "--features",
      "{features}", "--annotations", "{annotations}", "--points", "{points}"), ("'run.tious'",)),
    (("torch", "train", "--output", "{run}", "--config", "cpu-small", "--features", "{feat_huge}", "--annotations",
      "{annotations}", "--points", "{points}"), ("feat_huge", "'features'")),
    (("torch", "train", "--output", "{run}", "--config", "cpu-small", "--features", "{features}", "--annotations",
      "{ann_parent_train}", "--points", "{points}"), ("ann_parent_train.json", "video id")),
    (("torch", "train", "--output", "{run}", "--config", "cpu-small", "--features", "{features}", "--annotations",
      "{annotations}", "--points", "{points_unknown_class}"), ("points_unknown.csv", "'class'", "zebra")),
    (("torch", "train", "--output", "{run}", "--config", "cpu-small", "--stage", "weird"), ("--stage",)),
    (("torch", "config", "{cfg_preset_list}"), ("cfg_preset_list.yaml", "'preset'")),
]


@pytest.fixture(scope="module")
def core_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    files = {**world.write_signal_files(folder), **world.write_text_files(folder)}
    files.update({name: world.anet_annotations(folder, video_id, name) for name, video_id in
                  world.HOSTILE_IDS.items()})
    files["pseudo"] = folder / "pseudo.json"
    code, _, stderr = invoke(admfit_app, "fit", files["signals"], files["points"], "-o", files["pseudo"], "-q")
    assert code == 0, stderr
    files.update(world.write_pseudo_variants(folder, files["pseudo"]))
    return files


@pytest.fixture(scope="module")
def torch_files(tmp_path_factory):
    pytest.importorskip("torch")
    from .torch_world import write_torch_world

    return write_torch_world(tmp_path_factory.mktemp("hostile_torch"))


def _case_id(case) -> str:
    """The command, the files and the options of a row: e.g. fit-sig_nan-points-out."""
    args = case[0]
    parts = [arg.strip("{}-").split("}")[0] for arg in args[2:] if arg.startswith(("{", "--"))]
    return "-".join([args[1], *parts])[:90]


def _run_case(case, files, tmp_path):
    args, words = case
    places = {**files, "out": tmp_path / "out" / "result.json", "run": tmp_path / "out" / "run"}
    (tmp_path / "out").mkdir()
    app = admfit_app if args[0] == "admfit" else torch_app
    code, stdout, stderr = invoke(app, *(arg.format(**places) if "{" in arg else arg for arg in args[1:]))
    assert_one_line_error(code, stdout, stderr, *words)
    left = [path for path in (tmp_path / "out").rglob("*") if not path.is_dir()]
    assert not left, f"partial output left behind: {left}"  # no result, no temp file, no run-folder content


@pytest.mark.parametrize("case", CORE_CASES, ids=[_case_id(case) for case in CORE_CASES])
def test_core_commands_refuse_in_one_line(case, core_files, tmp_path):
    _run_case(case, core_files, tmp_path)


@pytest.mark.parametrize("case", TORCH_CASES, ids=[_case_id(case) for case in TORCH_CASES])
def test_detector_commands_refuse_in_one_line(case, torch_files, tmp_path):
    _run_case(case, torch_files, tmp_path)


def test_every_case_is_distinct():
    every = [case[0] for case in CORE_CASES + TORCH_CASES]
    assert len(set(every)) == len(every)
