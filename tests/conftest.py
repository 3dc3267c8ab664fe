"Shared pytest configuration: slow and gpu markers, and a per-test cache folder."
import os
import pytest


def pytest_collection_modifyitems(config, items):
    "Skip slow tests unless NASLOSS_SLOW=1, and gpu tests without CUDA"
    import torch
    for item in items:
        if "slow" in item.keywords and os.environ.get("NASLOSS_SLOW") != "1":
            item.add_marker(pytest.mark.skip(reason="slow: set NASLOSS_SLOW=1"))
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(pytest.mark.skip(reason="needs CUDA"))


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    "An empty NASLOSS_CACHE for one test"
    d = tmp_path / "cache"
    monkeypatch.setenv("NASLOSS_CACHE", str(d))
    return d
