"DARTS space: NB301 JSON reader on a tiny fixture, validity, mutate, graphs"
import json, os
import numpy as np
import pytest
from nasloss_nb.core import DataCorruptError
from nasloss_nb.spaces import darts

CELL = [(0, 3), (1, 2), (2, 0), (0, 1), (3, 4), (1, 5), (4, 6), (0, 0)]


def write(tmp_path, rows):
    p = tmp_path / "nb301.json"; p.write_text(json.dumps({"cifar10": rows})); return p


def test_reader_on_fixture(tmp_path):
    k1, k2 = str([CELL, CELL]), str([CELL[::-1], CELL])  # second: same nodes, pair order within nodes swapped
    t = darts.read_nb301(write(tmp_path, {k1: {"val_accuracy": 93.5, "arch": k1}}))
    assert t["codes"].shape == (1, 32) and t["val"].tolist() == [93.5]
    with pytest.raises(DataCorruptError): darts.read_nb301(write(tmp_path, {k1: {"val_accuracy": 1.0}, k2: {"val_accuracy": 2.0}}))
    bad = str([[(0, 3), (0, 2)] + CELL[2:], CELL])  # node 0 reads input 0 twice
    with pytest.raises(DataCorruptError): darts.read_nb301(write(tmp_path, {bad: {"val_accuracy": 1.0}}))
    with pytest.raises(DataCorruptError): darts.read_nb301(write(tmp_path, {k1: {"val_accuracy": float("nan")}}))


def test_full_space_mutate_and_graphs():
    rng = np.random.default_rng(0)
    space = darts.DartsSpace(np.array([sum(CELL + CELL, ())]), [1.0], [1.0], task="cifar10",
                             metric_names={"val": "surrogate", "test": "surrogate"})
    for a in darts.sample_genotypes(100, rng):
        m = space.mutate(a, rng)
        assert space.is_valid(m) and m != a and space.canonical(m) == m
    adj, ops = space.graphs()
    a, o = space.to_graph(tuple(space.codes[0].tolist()))
    np.testing.assert_array_equal(adj[0], a); np.testing.assert_array_equal(ops[0], o)
    assert not np.tril(adj[0]).any() and (ops >= 0).all()


@pytest.mark.skipif(not os.environ.get("NASLOSS_DATA"), reason="needs NASLOSS_DATA (shared benchmark folder)")
def test_real_table(tmp_path, monkeypatch):
    monkeypatch.setenv("NASLOSS_CACHE", str(tmp_path))
    space = darts.load()
    assert len(space) == 725 and "surrogate" in space.label and abs(space.val.max() - 94.4889) < 1e-3


def test_trained_darts_rows_are_the_ones_darts_always_had(tmp_cache):
    "TrainedDartsSpace is a trained.TrainedSpace now; its pool, grown rows and graphs are byte for byte the old ones"
    import hashlib
    from nasloss_nb.darts_space import TrainedDartsSpace
    from nasloss_nb.trained import TrainedSpace
    sha = lambda *a: hashlib.sha1(b"".join(x.tobytes() for x in a)).hexdigest()
    sp = TrainedDartsSpace("smoke", pool=1000, check_data=False)
    assert isinstance(sp, TrainedSpace) and sp.codes.dtype == np.int8
    assert sha(sp.codes) == "57d543e8f0cea02c95d67848824672b51e2883e1"        # fingerprints of the code before the move
    sp.index(sp.neighbours(tuple(sp.codes[0].tolist()))); sp.index(sp.neighbours(tuple(sp.codes[7].tolist())))
    assert len(sp._rows) == 1240 and sha(sp.codes) == "738e78c933ce9989679309204b3653e932b473c8"
    assert sha(*sp._cache["graphs"]) == "d0c26d7ba1254de648e39fe0571e8d104d59f11f"
    assert sp.arch_str(sp.codes[0]).startswith("Genotype(normal=[") and not sp.results
