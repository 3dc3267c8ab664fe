"Cross-module checks of the NAS-Bench-201 space on the real registered files (skipped without them)"
import os
import numpy as np
import pytest
from nasloss_nb.core import DataCorruptError, InvalidParameterError, NasLossError
from nasloss_nb.data import locate
from nasloss_nb.spaces.base import load_space
from nasloss_nb.spaces.nb201 import TASKS, _check_order, arch_str, parse_arch_str

def _have_data():
    try: locate("nb201-test-200ep"); locate("nb201-12ep"); locate("nb201-cifar10valid-200ep"); return True
    except NasLossError: return False

needs_data = pytest.mark.skipif(not _have_data(), reason="NB201 files not found (set NASLOSS_DATA)")

@needs_data
def test_fresh_cache_build_and_optima(tmp_cache):
    best = {"cifar10": (94.3733, 6111), "cifar100": (73.5133, 9930), "imagenet16-120": (47.3111, 857)}
    for t in TASKS:
        s = load_space("nb201", t)
        assert len(s) == 15625 and s.n_classes() == 6466
        np.testing.assert_allclose(s.test.max(), best[t][0], atol=1e-3); assert int(s.test.argmax()) == best[t][1]
    assert len(list(tmp_cache.glob("nb201-*.npz"))) == 1

@needs_data
def test_val_options():
    c10 = load_space("nb201", "cifar10", val="12ep")
    assert "12 epochs" in c10.metric_names["val"] and c10.val.max() < 90
    with pytest.raises(InvalidParameterError, match="valid for imagenet16-120: 12ep, test-200ep"):
        load_space("nb201", "imagenet16-120", val="200ep")
    with pytest.raises(KeyError, match="valid: 200ep, 12ep, test-200ep"):
        load_space("nb201", "cifar10", val="36ep")

@needs_data
def test_strings_roundtrip_and_mutate():
    s, rng = load_space("nb201"), np.random.default_rng(1)
    for a in s: assert parse_arch_str(arch_str(a)) == a
    for a in s.sample(200, rng):
        m = s.mutate(a, rng)
        assert sum(x != y for x, y in zip(a, m)) == 1 and m in s
        assert s.canonical(s.canonical(m)) == s.canonical(m)

def test_check_order_raises():
    with pytest.raises(DataCorruptError, match="disagree from row 1"):
        _check_order([["a", "b"], ["a", "c"]], [0, 1], "f")
    with pytest.raises(DataCorruptError, match="official index order"):
        _check_order([["a", "b"], ["a", "b"]], [1, 0], "f")
