"""Post-processing (docs/spec.md section 4): runs, outer-inner contrast, NMS, class selection, seconds, the plug-in protocol."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from admfit import ADMConfig
from admfit.detector import DetectorOutput
from admfit.errors import InputError
from admfit.grid import SnippetGrid
from admfit.levels import Pyramid
from admfit_torch.config import InferenceConfig, preset
from admfit_torch.data import Sample, VideoItem
from admfit_torch.inference import (
    LevelScores,
    Proposals,
    detect,
    outer_inner_contrast,
    post_process,
    runs,
    select_classes,
    to_seconds,
    upsample_to,
    video_scores,
)
from admfit_torch.models import PointDetector
from admfit_torch.nms import hard_nms, soft_nms
from admfit_torch.plugin import TorchDetector

GRID = SnippetGrid(fps=30.0, stride=4, num_frames=16)


def test_runs_of_each_row():
    active = np.array([[0, 1, 1, 0, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], dtype=bool)
    rows, starts, ends = runs(active)
    assert rows.tolist() == [0, 0, 1] and starts.tolist() == [1, 4, 0] and ends.tolist() == [3, 5, 5]


def test_outer_inner_contrast_hand_value():
    signal = np.array([0.0, 0.2, 0.2, 0.9, 0.9, 0.9, 0.9, 0.1, 0.1, 0.0])
    # [3, 7): inner 0.9; flank floor(0.5 * 4) = 2 each side: [1, 3) and [7, 9) -> mean(0.2, 0.2, 0.1, 0.1) = 0.15
    # [0, 2): inner 0.1; flanks floor(0.5 * 2) = 1: left clipped away, right [2, 3) -> 0.2
    value = outer_inner_contrast(signal, np.array([3, 0]), np.array([7, 2]), lam=0.5)
    np.testing.assert_allclose(value, [0.9 - 0.15, 0.1 - 0.2])
    # a segment covering the whole video has no flanks: outer counts as 0
    np.testing.assert_allclose(outer_inner_contrast(signal, np.array([0]), np.array([10]), 0.25), [signal.mean()])


def test_hard_nms_hand_case():
    segments = np.array([[0.0, 10.0], [1.0, 11.0], [20.0, 30.0], [0.0, 5.0]])
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    # IoU(0, 1) = 9 / 11 > 0.45 -> 1 dropped; IoU(0, 3) = 5 / 10 = 0.5 > 0.45 -> 3 dropped
    assert hard_nms(segments, scores, 0.45).tolist() == [0, 2]
    assert hard_nms(segments, scores, 0.6).tolist() == [0, 2, 3]


def test_soft_nms_decays_overlaps_and_keeps_order():
    segments = np.array([[0.0, 10.0], [1.0, 11.0], [20.0, 30.0]])
    keep, scores = soft_nms(segments, np.array([0.9, 0.8, 0.7]), sigma=0.5, min_score=1e-3)
    # 1 overlaps 0 with IoU 9/11: 0.8 * exp(-(9/11)^2 / 0.5) = 0.2103, now below 0.7
    assert keep.tolist() == [0, 2, 1]
    np.testing.assert_allclose(scores, [0.9, 0.7, 0.8 * np.exp(-(9 / 11) ** 2 / 0.5)])


def test_video_scores_and_class_selection():
    level0 = np.array([[0.9, 0.1], [0.8, 0.1], [0.1, 0.2], [0.0, 0.3]])
    level1 = np.array([[0.7, 0.5], [0.3, 0.1]])
    # divisor 2: level 0 k=2 -> (0.85, 0.25); level 1 k=1 -> (0.7, 0.5); mean -> (0.775, 0.375)
    scores = video_scores([level0, level1], divisor=2)
    np.testing.assert_allclose(scores, [0.775, 0.375])
    assert select_classes(scores, 0.3).tolist() == [0, 1]
    assert select_classes(scores, 0.9).tolist() == [0]  # none passes: the top class alone


def test_upsample_follows_the_step_centres():
    # admfit_torch's level-1 step j sits on level-0 position 2 j: values 0, 2, 4 at 0, 2, 4, clamped beyond
    values = np.array([0.0, 2.0, 4.0])
    np.testing.assert_allclose(upsample_to(values, Pyramid(theta=2).level(1), 6), [0.0, 1.0, 2.0, 3.0, 4.0, 4.0])
    # window-aligned centres (interpolate(align_corners=False)): step j on (j + 0.5) 2 - 0.5 = 0.5, 2.5, 4.5
    np.testing.assert_allclose(upsample_to(values, Pyramid.window_aligned(2).level(1), 6),
                               [0.0, 0.5, 1.5, 2.5, 3.5, 4.0])


def _bump_scores(length=64, start=20, end=36, level_count=2):
    fused = np.full((length, 2), 0.02)
    fused[start:end, 1] = 0.95
    background = np.full(length, 0.9)
    background[start:end] = 0.05
    levels = [fused[:: 2 ** l] for l in range(level_count)]
    return LevelScores(levels, [background[:: 2 ** l] for l in range(level_count)], Pyramid(theta=2))


def test_post_process_finds_the_bump_first():
    proposals = post_process(_bump_scores(), InferenceConfig())
    assert proposals.labels[0] == 1
    assert proposals.segments[0].tolist() == [20.0, 36.0]
    assert np.all(np.diff(proposals.scores) <= 0)
    assert len(post_process(_bump_scores(), InferenceConfig(top_n=2)).scores) <= 2


def test_level_mean_averages_the_levels_on_level_zero():
    level0 = np.array([[0.0], [0.2], [0.4], [0.6]])
    level1 = np.array([[1.0], [0.0]])  # steps on level-0 positions 0 and 2: 1, 0.5, 0, 0 after upsampling
    levels = LevelScores([level0, level1], [1 - level0[:, 0], 1 - level1[:, 0]], Pyramid(theta=2)).level_mean()
    assert len(levels.fused) == 1 and levels.time_axis.level(0).is_identity
    np.testing.assert_allclose(levels.fused[0][:, 0], [0.5, 0.35, 0.2, 0.3])
    np.testing.assert_allclose(levels.background[0], [0.5, 0.65, 0.8, 0.7])


def test_mean_fusion_selects_classes_from_every_level_and_proposes_from_the_mean():
    """The mean fusion keeps the video-level class selection of all levels (so the same classes are scored) and
    its proposals are those of the averaged signal alone: a level-1 burst that the mean dilutes below every
    threshold adds nothing, while pooling keeps it."""
    levels = _bump_scores()
    for background in levels.background:
        background[background > 0.5] = 0.95  # actionness 0.05 off the bump: below every actionness threshold
    levels.fused[1] = levels.fused[1].copy()  # _bump_scores' levels are views of one array
    levels.fused[1][2, 1] = 0.16  # level 1 alone sees a weak burst at level-0 position 4 (= 2 x 2)
    pooled = post_process(levels, InferenceConfig(level_fusion="pool"))
    fused = post_process(levels, InferenceConfig(level_fusion="mean"))
    assert set(fused.labels.tolist()) == set(pooled.labels.tolist())
    assert [4.0, 5.0] in pooled.segments.tolist()  # 0.16 >= 0.1 on level 1: pooled
    assert not any(start <= 4 < end for start, end in fused.segments.tolist())  # mean (0.02 + 0.16) / 2 < 0.1
    assert fused.segments[0].tolist() == [20.0, 36.0] and fused.labels[0] == 1


def test_soft_nms_option_runs_through_post_process():
    proposals = post_process(_bump_scores(), InferenceConfig(nms="soft"))
    assert proposals.segments[0].tolist() == [20.0, 36.0] and proposals.labels[0] == 1


def test_to_seconds_uses_snippet_boundaries():
    proposals = Proposals(np.array([[10.0, 20.0]]), np.array([0.5]), np.array([1]))
    item = VideoItem("v", np.zeros((64, 4), np.float32), GRID)
    sample = Sample("v", torch.zeros(4, 64), torch.ones(64, dtype=torch.bool), torch.zeros(0), torch.zeros(0))
    entry = to_seconds(proposals, sample, item, ["a", "b"])[0]
    # snippets 10..19: boundaries 9.5 and 19.5 -> (9.5 * 4 + 8) / 30 and (19.5 * 4 + 8) / 30 seconds
    assert entry["segment"] == [pytest.approx(46 / 30, abs=1e-4), pytest.approx(86 / 30, abs=1e-4)]
    assert entry["label"] == "b" and entry["label_id"] == 1
    # resized input (2 video snippets per step): step x covers video snippets 2x .. 2x + 1
    resized = Sample("v", sample.features, sample.mask, sample.positions, sample.labels, scale=2.0)
    entry = to_seconds(proposals, resized, item, ["a", "b"])[0]
    assert entry["segment"] == [pytest.approx((19.5 * 4 + 8) / 30, abs=1e-4),
                                pytest.approx((39.5 * 4 + 8) / 30, abs=1e-4)]


def test_model_grid_of_a_resized_input():
    grid = Sample("v", torch.zeros(4, 8), torch.ones(8, dtype=torch.bool), torch.zeros(0), torch.zeros(0),
                  scale=2.0).map.input_grid(GRID)
    # step x is centred where video snippet 2x + 0.5 is
    for x in (0.0, 3.0, 10.0):
        assert grid.snippet_to_seconds(x) == pytest.approx(GRID.snippet_to_seconds(2 * x + 0.5))


def test_detect_is_deterministic_and_in_activitynet_format():
    cfg = preset("cpu-small")
    torch.manual_seed(0)
    model = PointDetector(cfg.model, 3)
    rng = np.random.default_rng(0)
    items = [VideoItem(f"v{i}", rng.standard_normal((100 + 7 * i, 64), dtype=np.float32), GRID) for i in range(2)]
    first = detect(model, items, ["a", "b", "c"], cfg, torch.device("cpu"))
    assert first == detect(model, items, ["a", "b", "c"], cfg, torch.device("cpu"))
    assert set(first["results"]) == {"v0", "v1"}
    for entries in first["results"].values():
        assert entries and all(e["segment"][0] < e["segment"][1] and e["label"] in "abc" for e in entries)


def test_plugin_output_satisfies_the_protocol(tmp_path):
    from admfit_torch.checkpoint import save_checkpoint

    cfg = preset("cpu-small")
    torch.manual_seed(0)
    model = PointDetector(cfg.model, 3)
    save_checkpoint(tmp_path / "checkpoint.pt", {"config": cfg.model_dump(mode="json"), "classes": ["a", "b", "c"],
                                                 "model": model.state_dict(), "ema": model.state_dict()})
    detector = TorchDetector(tmp_path / "checkpoint.pt", device="cpu")
    features = np.random.default_rng(0).standard_normal((90, 64), dtype=np.float32)
    output = detector.predict("v", features, GRID)
    assert isinstance(output, DetectorOutput)
    assert [p.shape for p in output.class_probs] == [(90, 3), (45, 3), (23, 3)]
    signal, background = output.fit_inputs(ADMConfig(smoothing_sigma=1.0, despike=False))
    assert signal.shape == (90, 3) and background.shape == (90,) and background.dtype == bool
    # The plug-in hands over the model's time axis: last-level step j is level-0 snippet 4 j (not 4 j + 1.5).
    assert output.time_axis == detector.model.time_axis == Pyramid(theta=2)
    raw, _ = output.fit_inputs(ADMConfig(smoothing_sigma=0.0, locate_sigma=0.0, despike=False))
    np.testing.assert_allclose(raw[::4], output.class_probs[-1], rtol=1e-6)


def test_detector_output_rejects_bad_probabilities():
    with pytest.raises(InputError, match="outside"):
        DetectorOutput("v", [np.array([[0.5, np.nan]])], [np.array([0.5])], GRID)
    with pytest.raises(InputError, match="level 0"):
        DetectorOutput("v", [np.zeros((4, 2))], [np.zeros(3)], GRID)


def test_detectors_are_found_through_the_entry_point_group(tmp_path, monkeypatch):
    from importlib.metadata import EntryPoint

    import admfit.detector as protocol
    from admfit_torch.checkpoint import save_checkpoint

    cfg = preset("cpu-small")
    model = PointDetector(cfg.model, 2)
    save_checkpoint(tmp_path / "checkpoint.pt", {"config": cfg.model_dump(mode="json"), "classes": ["a", "b"],
                                                 "model": model.state_dict(), "ema": model.state_dict()})
    registered = EntryPoint(name="admfit_torch", value="admfit_torch.plugin:make_detector",
                            group=protocol.ENTRY_POINT_GROUP)
    monkeypatch.setattr(protocol, "entry_points", lambda group: [registered] if group == protocol.ENTRY_POINT_GROUP
                        else [])
    assert list(protocol.available_detectors()) == ["admfit_torch"]
    detector = protocol.load_detector("admfit_torch", checkpoint=tmp_path / "checkpoint.pt", device="cpu")
    assert isinstance(detector, protocol.Detector) and detector.classes == ["a", "b"]
    with pytest.raises(InputError, match="unknown detector 'nope'"):
        protocol.load_detector("nope")


def _reference_hard_nms(segments, scores, threshold):
    """The textbook loop, for comparison: visit by descending score, keep what overlaps no kept one too much."""
    def iou(a, b):
        inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
        union = (a[1] - a[0]) + (b[1] - b[0]) - inter
        return inter / union if union > 0 else 0.0

    keep = []
    for i in sorted(range(len(scores)), key=lambda k: -scores[k]):
        if all(iou(segments[i], segments[j]) <= threshold for j in keep):
            keep.append(i)
    return keep


@pytest.mark.parametrize("seed", range(5))
def test_hard_nms_equals_the_textbook_loop(seed):
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, 200, 300).astype(float)
    segments = np.stack([starts, starts + rng.integers(1, 40, 300)], axis=1)
    scores = np.round(rng.uniform(size=300), 2)  # rounding makes ties: both keep input order
    for threshold in (0.1, 0.45, 0.7):
        assert hard_nms(segments, scores, threshold).tolist() == _reference_hard_nms(segments, scores, threshold)
