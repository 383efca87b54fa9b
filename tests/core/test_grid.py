"""SnippetMap: the one map between a model input's positions and the video's level-0 snippets."""
from __future__ import annotations

import numpy as np
import pytest

from admfit.grid import SnippetGrid, SnippetMap

GRID = SnippetGrid(fps=30.0, stride=4, num_frames=16)


@pytest.mark.parametrize("where", [SnippetMap(), SnippetMap(offset=37.0), SnippetMap(scale=2.5),
                                   SnippetMap(offset=3.0, scale=0.75)])
def test_from_video_inverts_to_video(where):
    positions = np.array([-0.5, 0.0, 0.25, 7.0, 191.5])
    np.testing.assert_allclose(where.to_video(where.from_video(positions)), positions, rtol=0, atol=1e-12)
    np.testing.assert_allclose(where.length_to_video(where.length_from_video([0.3, 4.0])), [0.3, 4.0])


def test_a_hand_computed_case():
    # A resized input, 2 video snippets per step, starting at video snippet 10: step 3 spans video snippets
    # 16 and 17, so its centre is 16.5; a sigma of 1.5 steps is 3 video snippets.
    where = SnippetMap(offset=10.0, scale=2.0)
    assert where.to_video(3.0) == 16.5 and where.from_video(16.5) == 3.0
    assert where.length_to_video(1.5) == 3.0
    # A crop: a pure shift, exact in floating point.
    assert SnippetMap(offset=100.0).from_video(100.1) == 100.1 - 100.0


def test_the_input_grid_puts_each_step_where_the_map_says():
    for where in (SnippetMap(scale=2.0), SnippetMap(offset=5.0, scale=1.5), SnippetMap(offset=12.0)):
        grid = where.input_grid(GRID)
        for x in (0.0, 3.0, 10.0):
            assert grid.snippet_to_seconds(x) == pytest.approx(GRID.snippet_to_seconds(where.to_video(x)))
