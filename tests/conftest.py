"""Shared test settings."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread(request):
    """Torch tests run tiny models: intra-op threads gain nothing, and on a busy 2-core machine they thrash."""
    if not request.module.__name__.split(".")[-1].startswith("test_torch_"):
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
