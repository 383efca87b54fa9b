"""Family (c) of the pseudo-label suite (admfit_torch.detector_family): one tiny detector build, cached.

Four short training videos, 8-D features, 1 epoch on 64-snippet crops: the real CLI commands (admfit synth,
admfit-torch train --stage base / pseudo) in subprocesses, in a temporary cache folder.
"""
from __future__ import annotations

import numpy as np
import pytest

from admfit.datasets import class_names, thumos14
from admfit.synthetic.families import FamilySignals
from admfit.synthetic.layout import thumos14_grid
from admfit_torch import detector_family as detector

TINY = {"dim": 8, "overrides": ("data.input_length=64", "optim.warmup_epochs=1")}
VARIANT = "e1-s0"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(videos, classes, cache folder, first build, its signals): the four shortest training videos."""
    train = thumos14("train")
    shortest = sorted(train, key=lambda video: (train[video].duration_s, video))[:4]
    videos = {video: train[video] for video in shortest}
    cache = tmp_path_factory.mktemp("detector_family")
    build = detector.build_variant(list(videos), VARIANT, 0, cache_dir=cache, **TINY)
    signals = detector.make_family(videos, class_names(train), VARIANT, 0, cache_dir=cache, **TINY)
    return videos, class_names(train), cache, build, signals


def test_signals_cover_the_videos_on_their_thumos14_grids(tiny):
    videos, classes, _, build, signals = tiny
    assert build.built and build.signals.is_file()
    assert set(signals) == set(videos)
    for video, found in signals.items():
        assert isinstance(found, FamilySignals)
        grid, num_snippets = thumos14_grid(videos[video])
        assert found.grid == grid
        assert found.bg_probs.shape == (num_snippets,) and found.num_snippets == num_snippets
        # 3 pyramid levels, theta 2: the last level has ceil(T / 4) snippets
        assert found.probs.shape == (-(-num_snippets // 4), len(classes))
        assert found.probs.dtype == np.float64 and found.bg_probs.dtype == np.float64
        for values in (found.probs, found.bg_probs):
            assert np.isfinite(values).all() and values.min() >= 0.0 and values.max() <= 1.0


def test_a_second_call_reuses_the_cache(tiny):
    videos, classes, cache, build, signals = tiny
    stamp = build.signals.stat().st_mtime_ns
    again = detector.build_variant(list(videos), VARIANT, 0, cache_dir=cache, **TINY)
    assert not again.built and again.folder == build.folder
    reread = detector.make_family(videos, classes, VARIANT, 0, cache_dir=cache, **TINY)
    assert build.signals.stat().st_mtime_ns == stamp
    assert sorted(path.name for path in cache.iterdir() if path.name.startswith("building-")) == []
    for video in videos:
        np.testing.assert_array_equal(reread[video].probs, signals[video].probs)


def test_another_feature_seed_gives_other_signals(tiny):
    videos, classes, cache, build, signals = tiny
    other = detector.make_family(videos, classes, VARIANT, 1, cache_dir=cache, **TINY)
    assert detector.build_variant(list(videos), VARIANT, 1, cache_dir=cache, **TINY).key != build.key
    for video in videos:
        assert other[video].probs.shape == signals[video].probs.shape
        assert not np.allclose(other[video].probs, signals[video].probs)


def test_variant_names_and_foreign_annotations_are_refused(tiny):
    videos, classes, cache, _, _ = tiny
    with pytest.raises(ValueError, match="eE-sS"):
        detector.Variant.parse("25-s0")
    assert detector.Variant.parse("e25-s1") == detector.Variant(25, 1)
    video = next(iter(videos))
    moved = {video: videos[video].model_copy(update={"instances": videos[video].instances[:-1]})}
    with pytest.raises(ValueError, match="shipped THUMOS'14"):
        detector.make_family(moved, classes, VARIANT, 0, cache_dir=cache, **TINY)
