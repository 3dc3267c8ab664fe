"NAS-Bench-Graph loader: restricted unpickler, tables, canonical forms against the package's hash"
import pickle
import numpy as np
import pytest
from nas_bench_graph.architecture import Arch
from nasloss_nb.core import DataCorruptError
from nasloss_nb.spaces import nbgraph
from nasloss_nb.spaces.base import load_space


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NASLOSS_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_unpickler_accepts_numpy_scalars_and_refuses_other_globals(tmp_path):
    good = {7: {"valid_perf": np.float64(0.5), "perf": 0.25, "latency": 0.1, "para": np.float64(1.5)}}
    p = tmp_path / "ok.bench"; p.write_bytes(pickle.dumps(good, protocol=3))  # numpy 2 writes numpy._core
    assert nbgraph.read_bench(p) == {7: {"valid_perf": 0.5, "perf": 0.25, "latency": 0.1, "para": 1.5}}
    for bad in ({7: {"valid_perf": print}}, {7: {"valid_perf": np.float32(0.5), "perf": 0.0, "latency": 0.0, "para": 0.0}},
                {7: {"valid_perf": 0.5}}, [1, 2]):
        p.write_bytes(pickle.dumps(bad, protocol=3))
        with pytest.raises(DataCorruptError): nbgraph.read_bench(p)


def test_tables_and_cache(tmp_cache):
    cora = load_space("nbgraph", "cora")
    assert len(cora) == 26206 and abs(cora.test.max() - 0.8313) < 1e-4
    again = load_space("nbgraph", "cora")
    np.testing.assert_array_equal(again.codes, cora.codes)
    prot = load_space("nbgraph", "proteins")
    assert len(prot) == 2021 and np.isin(prot.codes[:, 1:], nbgraph.PROTEIN_OPS).all()
    with pytest.raises(KeyError): load_space("nbgraph", "mnist")


def test_canonical_matches_package_hash(tmp_cache):
    space, rng = load_space("nbgraph"), np.random.default_rng(1)
    raw_links = [[0, a, b, c] for a in range(2) for b in range(3) for c in range(4)]
    h = lambda link, ops: Arch(list(map(int, link)), [nbgraph.OPS[o] for o in ops]).valid_hash()
    for _ in range(300):
        link, ops = raw_links[rng.integers(24)], rng.integers(0, 9, 4)
        c = space.from_raw(link, ops)
        assert h(nbgraph.LINKS[c[0]], c[1:]) == h(link, ops)
    adj, ops = space.graphs()
    for i in rng.choice(len(space), 100, replace=False):
        a, o = space.to_graph(tuple(space.codes[i].tolist()))
        np.testing.assert_array_equal(adj[i], a); np.testing.assert_array_equal(ops[i], o)
