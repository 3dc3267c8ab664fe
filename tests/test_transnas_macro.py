"TransNAS-Bench-101 macro on the real table (skipped without it)"
import numpy as np
import pytest
from nasloss_nb.core import NasLossError
from nasloss_nb.data import locate
from nasloss_nb.spaces.base import load_space
from nasloss_nb.spaces.transnas_macro import all_skeletons, macro_str, pad, parse_macro_str

def _have_data():
    try: locate("transnas-macro-val"); return True
    except NasLossError: return False

needs_data = pytest.mark.skipif(not _have_data(), reason="TransNAS macro CSV not found (set NASLOSS_DATA)")

@needs_data
def test_rules_match_table(tmp_cache):
    s = load_space("transnas-macro", "autoencoder")
    assert set(s) == set(all_skeletons()) and len(s) == 3256
    for a in s: assert pad(parse_macro_str(macro_str(a))) == a

@needs_data
def test_mutate_and_graphs():
    s, rng = load_space("transnas-macro"), np.random.default_rng(2)
    for a in s.sample(500, rng):
        m = s.mutate(a, rng)
        assert sum(x != y for x, y in zip(a, m)) == 1 and s.is_valid(m) and m in s
    adj, ops = s.graphs()
    n = (s.codes > 0).sum(1) + 2
    assert np.array_equal(adj.sum((1, 2)), n - 1) and np.array_equal((ops >= 0).sum(1), n)
