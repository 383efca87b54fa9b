"""admfit.levels, the pyramid's time axis, and upsample_signal at given step centres (torch-free)."""
from __future__ import annotations

import numpy as np
import pytest

from admfit.fit.signal import upsample_signal
from admfit.levels import ConvLayer, Pyramid, StepCentres


def test_pyramid_levels():
    pyramid = Pyramid(theta=2, shift=0.0)
    np.testing.assert_array_equal(pyramid.centres(3, 4), [0, 8, 16, 24])
    aligned = Pyramid.window_aligned(2)
    # (j + 0.5) 2^l - 0.5: on the last of 4 levels 3.5 level-0 snippets later than j 2^l
    np.testing.assert_array_equal(aligned.centres(3, 3), [3.5, 11.5, 19.5])
    assert aligned.level(3) == StepCentres.window_aligned(16, 128)
    # Composition: two stride-2 convs (kernel 3, padding 1) make one stride-4 step centred on 4 j.
    assert Pyramid.from_layers([ConvLayer(3, 2, 1), ConvLayer(3, 2, 1)]) == Pyramid(4, 0.0)
    # A kernel-2, stride-2, unpadded conv averages 2 j and 2 j + 1: centred on 2 j + 0.5; two levels: 4 j + 1.5.
    assert Pyramid.from_layers([ConvLayer(2, 2, 0)]).level(2) == StepCentres(origin=1.5, spacing=4.0)
    centres = pyramid.level(2)
    np.testing.assert_allclose(centres.from_level0(centres.to_level0([0.25, 3.0])), [0.25, 3.0])
    with pytest.raises(ValueError):
        StepCentres(origin=0.0, spacing=0.0)


def test_upsample_at_step_centres():
    steps = np.array([[0.0, 1.0], [4.0, 0.0], [8.0, 1.0]])
    # step j on level-0 position 4 j: linear in between, constant beyond the last centre
    up = upsample_signal(steps, 12, StepCentres(origin=0.0, spacing=4.0))
    np.testing.assert_allclose(up[:, 0], [0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 8, 8])
    np.testing.assert_allclose(up[:4, 1], [1.0, 0.75, 0.5, 0.25])
    # 1-D values too (the inference's per-class columns)
    np.testing.assert_allclose(upsample_signal(steps[:, 0], 12, StepCentres(0.0, 4.0)), up[:, 0])
    # Without centres: window-aligned, the same as StepCentres.window_aligned (to rounding)
    np.testing.assert_allclose(upsample_signal(steps, 12), upsample_signal(steps, 12, StepCentres.window_aligned(3, 12)),
                               rtol=0, atol=1e-12)
    assert upsample_signal(steps, 12)[1, 0] == pytest.approx(0.0) and upsample_signal(steps, 12)[2, 0] == pytest.approx(0.5)
