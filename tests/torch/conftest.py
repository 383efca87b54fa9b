"""The detector's tests: skipped as a whole where torch is not installed, and run on one torch thread."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Torch tests run tiny models: intra-op threads gain nothing, and on a busy 2-core machine they thrash."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
