"""The ``rough`` signal family (benchmarks/families/signals_rough.py) does what its docstring promises, on three real
THUMOS'14 training videos (the shipped annotations) and, for the background shift, on one hand-made video whose
instances lie far apart (so each instance's shift can be read off alone)."""
import numpy as np
import pytest

from admfit.datasets import class_names, grid_for, thumos14
from admfit.datasets.annotations import Instance, VideoAnnotation
from admfit.datasets.checks import expected_snippets
from admfit.errors import InputError
from benchmarks.families import signals_rough

VIDEOS = ("video_validation_0000051", "video_validation_0000053", "video_validation_0000056")
# A jump of a single snippet above (below) both its neighbours by more than this (probability) is an impulse.
IMPULSE_JUMP = 0.4
# Snippets kept between an instance and where the background's level is read (more than the shift and an edge).
FAR_FROM_INSTANCES_SNIPPETS = 15


@pytest.fixture(scope="module")
def annotations():
    every = thumos14("train")
    return {video: every[video] for video in VIDEOS}, class_names(every)


def _same(left, right):
    assert left.keys() == right.keys()
    for video in left:
        np.testing.assert_array_equal(left[video].probs, right[video].probs)
        np.testing.assert_array_equal(left[video].bg_probs, right[video].bg_probs)


def test_a_video_depends_only_on_the_seed_its_id_and_the_variant(annotations):
    videos, classes = annotations
    family = signals_rough.make_family(videos, classes, "medium", seed=3)
    _same(family, signals_rough.make_family(videos, classes, "medium", seed=3))
    alone = {VIDEOS[1]: videos[VIDEOS[1]]}
    _same({VIDEOS[1]: family[VIDEOS[1]]}, signals_rough.make_family(alone, classes, "medium", seed=3))
    other = signals_rough.make_family(videos, classes, "medium", seed=4)
    assert not np.array_equal(family[VIDEOS[0]].probs, other[VIDEOS[0]].probs)


@pytest.mark.parametrize("variant", signals_rough.VARIANTS)
def test_shapes_ranges_and_grid(annotations, variant):
    videos, classes = annotations
    for video, signals in signals_rough.make_family(videos, classes, variant, seed=0).items():
        grid = grid_for(videos[video], "thumos14_actionformer")
        num_snippets = expected_snippets(grid, videos[video].duration_s)[0]
        assert signals.grid == grid and signals.centres is None
        assert signals.probs.shape == (num_snippets, len(classes)) and signals.bg_probs.shape == (num_snippets,)
        for values in (signals.probs, signals.bg_probs):
            assert values.dtype == np.float64 and np.all((values >= 0) & (values <= 1))


def test_impulses_up_and_down_exist(annotations):
    # mild: its AR(1) noise alone makes no single-snippet jump this large, so every one found is an impulse.
    videos, classes = annotations
    up = down = 0
    for signals in signals_rough.make_family(videos, classes, "mild", seed=0).values():
        middle, before, after = signals.probs[1:-1], signals.probs[:-2], signals.probs[2:]
        up += int(np.sum(middle - np.maximum(before, after) > IMPULSE_JUMP))
        down += int(np.sum(np.minimum(before, after) - middle > IMPULSE_JUMP))
    assert up >= 3 and down >= 3, (up, down)


def _spaced_video() -> VideoAnnotation:
    """Six 8-second instances (60 snippets at 30 fps / stride 4), 40 s apart."""
    instances = [Instance(label="A", start_s=20.0 + 40.0 * k, end_s=28.0 + 40.0 * k) for k in range(6)]
    return VideoAnnotation(video="spaced", subset="Validation", duration_s=260.0, fps=30.0, instances=instances)


@pytest.mark.parametrize("variant", ["mild", "strong"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_background_boundaries_are_shifted_by_the_documented_snippets(variant, seed):
    record = _spaced_video()
    signals = signals_rough.make_family({"spaced": record}, ["A", "B"], variant, seed)["spaced"]
    # The shift of each instance: where a window of the instance's length holds the most "not background".
    running = np.concatenate([[0.0], np.cumsum(1.0 - signals.bg_probs)])
    candidates = np.arange(-FAR_FROM_INSTANCES_SNIPPETS, FAR_FROM_INSTANCES_SNIPPETS + 1)
    low, high = signals_rough.BG_SHIFT_SNIPPETS
    for inst in record.instances:
        start, end = np.rint(signals.grid.seconds_to_snippet([inst.start_s, inst.end_s])).astype(int)
        shift = candidates[np.argmax(running[end + candidates + 1] - running[start + candidates])]
        # One snippet of slack: the two soft edges of the background's dip have different widths. Several
        # snippets (at least 2) whatever the module's constant says.
        assert max(low - 1, 2) <= abs(shift) <= high + 1, (inst, shift)


def test_per_video_temperatures_differ(annotations):
    # Away from every instance the background logit is BG_BASE_LOGIT / temperature plus zero-mean noise.
    videos, classes = annotations
    low, high = signals_rough.VARIANT_SETTINGS["strong"].temperature
    temperatures = []
    for video, signals in signals_rough.make_family(videos, classes, "strong", seed=0).items():
        snippets = np.arange(signals.num_snippets)
        far = np.ones(signals.num_snippets, dtype=bool)
        for inst in videos[video].instances:
            start, end = signals.grid.seconds_to_snippet([inst.start_s, inst.end_s])
            far &= (snippets < start - FAR_FROM_INSTANCES_SNIPPETS) | (snippets > end + FAR_FROM_INSTANCES_SNIPPETS)
        bg = np.clip(signals.bg_probs[far], 1e-12, 1 - 1e-12)
        temperatures.append(signals_rough.BG_BASE_LOGIT / np.median(np.log(bg / (1 - bg))))
    assert all(low / 1.2 <= value <= high * 1.2 for value in temperatures), temperatures
    assert max(temperatures) / min(temperatures) > 2.0, temperatures


def test_an_unknown_variant_is_refused(annotations):
    videos, classes = annotations
    with pytest.raises(InputError, match="variant"):
        signals_rough.make_family(videos, classes, "harsh", seed=0)
