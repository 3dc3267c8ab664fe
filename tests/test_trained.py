"Your own search space (issue 'Your own search space', way 3): a cell and a training function, searched by run_search"
import json, os, warnings
import numpy as np
import pandas as pd
import pytest
from nasloss_nb.cells import GraphCell, SequenceCell
from nasloss_nb.core import InvalidParameterError, NasLossError
from nasloss_nb.search import run_search
from nasloss_nb.spaces import load_space
from nasloss_nb.trained import EvaluationWarning, TrainedSpace, demo_evaluate

CELL = SequenceCell([[1, 2, 3, 4, 5]] * 4)          # 625 architectures; demo_evaluate's best is [3, 3, 3, 3]


def counting(fn=demo_evaluate):
    "An evaluate that counts its calls per architecture"
    calls = []
    def evaluate(arch):
        calls.append(tuple(arch)); return fn(arch)
    return evaluate, calls


@pytest.mark.parametrize("method", ["hr", "random"])
def test_search_reaches_budget_and_a_second_search_is_served_from_the_cache(tmp_cache, method):
    ev, calls = counting()
    sp = TrainedSpace(CELL, ev, pool=300)
    h = run_search(sp, None, method, budget=20, seed=0, epochs=5)
    assert len(h) == 20 and h["val"].notna().all() and not h["failed"].any()
    assert len(calls) == 20 == len(set(calls))                         # each queried architecture evaluated once
    assert h["val"].tolist() == [demo_evaluate(CELL.decode(sp.codes[r]))["val"] for r in h["row"]]
    assert (h["test"] == h["val"] - 0.5).all() and "params" in h and (h["arch_train_seconds"] >= 0).all()
    files = list((tmp_cache / "trained").rglob("*.json"))
    assert len(files) == 20 and not list(tmp_cache.rglob("*.tmp"))
    again = TrainedSpace(CELL, ev, pool=300)                          # a fresh process would see the same: all cached
    h2 = run_search(again, None, method, budget=20, seed=0, epochs=5)
    assert len(calls) == 20 and all(r["cached"] for r in again.results.values())
    cols = ["row", "arch", "val", "test", "best_val", "params"]
    pd.testing.assert_frame_equal(h2[cols], h[cols])


def flaky(arch):
    "Raises for one architecture, returns NaN for another, else demo_evaluate"
    if list(arch) == [2, 2, 2, 2]: raise RuntimeError("out of memory")
    if list(arch) == [5, 5, 5, 5]: return {"val": float("nan"), "test": 1.0}
    return demo_evaluate(arch)


def test_a_raise_and_a_nan_are_recorded_as_failed_and_the_search_goes_on(tmp_cache):
    ev, calls = counting(flaky)
    sp = TrainedSpace(SequenceCell([[2, 5]] * 4), ev, pool=16)       # all 16 architectures: both failures are met
    with pytest.warns(EvaluationWarning) as w:
        h = run_search(sp, None, "random", budget=16, seed=0, n_init=4)
    assert len(h) == 16 and int(h["failed"].sum()) == 2 and len(calls) == 16
    bad = h[h["failed"]].sort_values("error")
    assert bad["error"].tolist() == ["RuntimeError: out of memory", "evaluate returned val=nan"]
    assert bad["val"].isna().all() and bad["test"].isna().all() and h.loc[~h["failed"], "error"].eq("").all()
    assert sorted(bad["arch"]) == ["[2, 2, 2, 2]", "[5, 5, 5, 5]"]
    assert sum("[2, 2, 2, 2] failed (RuntimeError: out of memory)" in str(x.message) for x in w) == 1
    assert sp.summary()["failed"] == 2 and sp.summary()["evaluated"] == 14
    for a in ([2, 2, 2, 2], [5, 5, 5, 5]):
        code = sp.cell.encode(a)
        assert code not in sp and sp.mutate(sp.cell.encode([2, 2, 2, 5]), np.random.default_rng(0)) != code  # never proposed
    sp.val[h["row"].to_numpy()]
    assert len(calls) == 16                                            # a failure is not retried by the same space...
    assert len(list((tmp_cache / "trained").rglob("*.json"))) == 14    # ...nor cached: a rerun tries it again


def test_a_predictor_search_goes_on_after_a_failure(tmp_cache):
    def fails_on_ones(arch):
        if arch[0] == 1: raise RuntimeError("diverged")
        return demo_evaluate(arch)
    sp = TrainedSpace(CELL, fails_on_ones, pool=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvaluationWarning)
        h = run_search(sp, None, "hr", budget=20, seed=0, epochs=5)
    assert len(h) == 20 and h["failed"].any() and h["best_val"].notna().all()


def test_a_broken_evaluate_raises_instead_of_failing_every_architecture(tmp_cache):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvaluationWarning)
        with pytest.raises(NasLossError, match="first 3 architectures and succeeded on none.*looks broken"):
            run_search(TrainedSpace(CELL, lambda a: {"value": 1.0}, pool=50), None, "random", budget=10, seed=0)
    sp = TrainedSpace(CELL, lambda a: {"val": 1.0, "seed": 4}, pool=50)   # a contract mistake: raised at once
    with pytest.raises(InvalidParameterError, match="field 'seed'.*already has that column"): sp.val[[0]]
    with pytest.raises(InvalidParameterError, match="must be numbers"):
        TrainedSpace(CELL, lambda a: {"val": 1.0, "note": "x"}, pool=50).val[[0]]


def test_a_damaged_or_foreign_cache_entry_is_evaluated_again(tmp_cache):
    ev, calls = counting()
    sp = TrainedSpace(CELL, ev, pool=20)
    v = sp.val[np.arange(4)]
    p = [sp.result_path(sp._rows[r]) for r in range(4)]
    p[0].write_text('{"val": 9')                                         # truncated
    r = json.loads(p[1].read_text()); r["val"] = None; p[1].write_text(json.dumps(r))          # no finite val
    r = json.loads(p[2].read_text()); r["arch"] = [1, 1, 1, 1]; p[2].write_text(json.dumps(r))  # another architecture's
    again = TrainedSpace(CELL, ev, pool=20)
    with pytest.warns(UserWarning, match="evaluating again"):
        np.testing.assert_array_equal(again.val[np.arange(4)], v)
    assert len(calls) == 4 + 3 and [again.results[r]["cached"] for r in range(4)] == [False, False, False, True]
    assert json.loads(p[0].read_text())["val"] == v[0]                   # rewritten whole


def test_cache_keys_seed_and_version(tmp_cache):
    seen = []
    def seeded(arch, seed):
        seen.append(seed); return demo_evaluate(arch, seed=seed)
    a, b = TrainedSpace(CELL, seeded, pool=20, seed=0), TrainedSpace(CELL, seeded, pool=20, seed=1)
    assert a.test[[0]][0] - b.test[[0]][0] == pytest.approx(0.1) and seen == [0, 1]     # seed= passed; cached apart
    c = TrainedSpace(CELL, seeded, pool=20, seed=0, cache_version="v2")
    c.val[[0]]; assert seen == [0, 1, 0]                                # a new cache_version evaluates again
    d = TrainedSpace(CELL, seeded, pool=20, seed=0); d.val[[0]]; assert seen == [0, 1, 0] and d.results[0]["cached"]
    assert a.result_path(a._rows[0]) != TrainedSpace(SequenceCell([[1, 2, 3, 4, 6]] * 4), seeded, pool=20).result_path(a._rows[0])


def test_a_graph_cell_space_searched_with_a_graph_predictor(tmp_cache):
    cell = GraphCell(["conv3", "conv1", "pool"], max_nodes=5)
    def evaluate(arch):
        adj, ops = arch                                                  # the user form: (adjacency, op names)
        return {"val": 80.0 + 2 * ops.count("conv3") + np.sum(adj) / 4, "edges": float(np.sum(adj))}
    sp = TrainedSpace(cell, evaluate, pool=200)
    h = run_search(sp, None, "hr", budget=15, seed=1, n_init=5, k=5, n_candidates=20, epochs=5)
    assert len(h) == 15 and h["val"].notna().all() and len(sp._rows) > 200 and "edges" in h
    assert json.loads(h["arch"].iloc[0])["ops"][0] == "input"


def test_load_space_route_and_configs(tmp_cache, tmp_path):
    from nasloss_nb.search import run_search_sweep
    from nasloss_nb.sweep import load_config
    spec = {"kind": "sequence", "choices": [[1, 2, 3, 4, 5]] * 3}
    sp = load_space("trained", cell=spec, evaluate="nasloss_nb.trained:demo_evaluate", pool=30, space_name="mine")
    assert (sp.name, sp.task, len(sp)) == ("mine", "default", 30) and sp.cell == SequenceCell(spec["choices"])
    with pytest.raises(InvalidParameterError, match="needs cell="): load_space("trained", evaluate="nasloss_nb.trained:demo_evaluate")
    assert len(load_space("trained", cell=spec, evaluate=demo_evaluate, pool=200)) == 125     # the whole 5^3 spec
    base = {"name": "x", "budget": 6, "seeds": 1, "n_init": 3, "k": 3, "n_candidates": 6, "epochs": 5, "methods": ["hr", "random"]}
    opts = {"cell": spec, "evaluate": "nasloss_nb.trained:demo_evaluate", "pool": 60}
    df = run_search_sweep({**base, "spaces": [{"space": "trained", "options": opts}]}, tmp_path / "o", progress=False)
    assert len(df) == 12 and set(df["label"]) == {"hr", "random"}
    again = run_search_sweep({**base, "spaces": [{"space": "trained", "options": opts}]}, tmp_path / "o", progress=False)
    pd.testing.assert_frame_equal(again, df)                            # stored: nothing runs again
    with pytest.raises(InvalidParameterError, match="unknown argument.*evaluat.*options of spaces entry trained"):
        run_search_sweep({**base, "spaces": [{"space": "trained", "options": {"evaluat": "x"}}]}, tmp_path / "p")
    with pytest.raises(InvalidParameterError, match="needs a whole table"):
        load_config({"name": "s", "spaces": [{"space": "trained", "n_train": [10], "options": opts}], "losses": ["mse"], "seeds": 1})


def test_on_a_local_dask_cluster_with_an_import_path_evaluate(tmp_cache):
    distributed = pytest.importorskip("distributed")
    cell = SequenceCell([[1, 2, 3, 4, 5]] * 3 + [[1, 2, 3, 4, 5, 6, 7, 8, "x"]])   # 'x': demo_evaluate raises
    path = "nasloss_nb.trained:demo_evaluate"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
            distributed.Client(lc) as client:
        with pytest.raises(InvalidParameterError, match="Dask workers cannot import a lambda"):
            TrainedSpace(cell, lambda a: {"val": 1.0}, pool=50, scheduler=client)
        sp = TrainedSpace(cell, path, pool=300, scheduler=client)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EvaluationWarning)
            h = run_search(sp, None, "random", budget=16, seed=2)
        ev = pd.DataFrame(sp.cluster.events())
    xs = h["arch"].str.contains('"x"')
    assert len(h) == 16 and xs.any() and (h["failed"] == xs).all() and h.loc[xs, "error"].str.startswith("ValueError").all()
    assert sorted(ev["event"].value_counts().to_dict().items()) == sorted({"start": 16, "done": 16 - xs.sum(), "failed": xs.sum()}.items())
    assert ev["worker"].nunique() == 2 and all(r.get("worker", "").startswith("tcp://") for r in sp.results.values() if not r.get("failed"))
    here = TrainedSpace(cell, path, pool=300)                           # the workers' results are in this machine's cache
    ok = h.loc[~xs, "row"].to_numpy()
    np.testing.assert_array_equal(here.val[ok], h.loc[~xs, "val"].to_numpy())
    assert all(r["cached"] for r in here.results.values())
