"The strategy registry (one protocol, histories unchanged) and local search `ls` (White et al. 2020) on toy and real tables"
import os, warnings
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from nasloss_nb.core import InvalidParameterError, UnknownNameError
from nasloss_nb.search import (BASELINES, STRATEGIES, SearchStoppedWarning, Strategy, SearchTable, initial_sample,
                               load_search_config, run_search_sweep, run_searches, search_results, search_settings)
from nasloss_nb.spaces.base import load_space

DATA = os.environ.get("NASLOSS_DATA")
needs_data = pytest.mark.skipif(not DATA, reason="needs NASLOSS_DATA")
RESULTS = Path(__file__).resolve().parents[1] / "data" / "results"
NOTIME = ["train_seconds", "predict_seconds"]


def _ls_checks(h, space, budget, n_init, seeds):
    "No class queried twice, the budget met exactly, the first n_init queries random's, each later query a neighbour or a restart"
    r = run_searches(space, "random", budget, seeds, n_init=n_init)
    tab = SearchTable(space)
    for s in seeds:
        g = h[h.seed == s]
        assert len(g) == budget and (g["stopped"] == "").all()
        assert len({tab.cls(x) for x in g["row"]}) == budget                      # never an architecture (class) twice
        assert g["row"].iloc[:n_init].tolist() == r[r.seed == s]["row"].iloc[:n_init].tolist() == \
            initial_sample(space, n_init, s).tolist()                             # pairs with every method by seed
        rows, climb = g["row"].tolist(), g["iteration"].tolist()
        assert climb[:n_init] == [0] * n_init and all(np.diff(climb[n_init:]) >= 0) and climb[n_init] >= 1
        queried = set(rows[:n_init])
        for i in range(n_init, budget):                                          # a neighbour of a queried arch, or a restart
            restart = climb[i] > (climb[i - 1] if i > n_init else 1)   # the best initial may have no queryable neighbour
            assert restart or any(rows[i] in tab.neighbours(q).tolist() for q in queried), (s, i)
            queried.add(rows[i])


def test_registry_maps_every_method_to_a_strategy():
    assert list(STRATEGIES) == ["random", "rea", "auto", "ls", "bananas"] and BASELINES == ("random", "rea", "ls")
    assert STRATEGIES["pw"] is STRATEGIES["mse"] is STRATEGIES.fallback and STRATEGIES["pw"].trains
    assert all(isinstance(STRATEGIES[m], Strategy) for m in STRATEGIES.names())
    with pytest.raises(UnknownNameError, match="unknown search method 'bohb'.*valid: .*ls"):
        run_searches("toy", "bohb", 10)


def test_ls_on_toy():
    toy = load_space("toy")
    h = run_searches(toy, "ls", 20, [0, 1, 2, 3], n_init=5)
    _ls_checks(h, toy, 20, 5, [0, 1, 2, 3])
    again = run_searches(toy, "ls", 20, [2], n_init=5)                             # deterministic per seed, alone or in a block
    pd.testing.assert_frame_equal(again.drop(columns=NOTIME), h[h.seed == 2].reset_index(drop=True).drop(columns=NOTIME))
    assert set(h["loss"]) == {""} and h["score"].isna().all() and h["replaced"].eq(0).all()
    whole = run_searches(toy, "ls", 27, [0], n_init=5)                             # the whole table, no repeat
    assert whole["row"].nunique() == 27


def test_ls_refuses_predictor_settings():
    with pytest.raises(InvalidParameterError, match="trains no predictor"):
        run_searches("toy", "ls", 12, loss_kwargs={"margin": 0.1})
    with pytest.raises(InvalidParameterError, match="smaller than n_init"):
        run_searches("toy", "ls", 4, n_init=5)


def test_ls_config_validates_and_runs_through_the_store(tmp_path):
    cfg = {"name": "t", "budget": 12, "seeds": 2, "n_init": 4, "spaces": [{"space": "toy"}], "methods": ["ls", "random"]}
    c = load_search_config(cfg)
    assert [m["method"] for m in c["methods"]] == ["ls", "random"]
    st = search_settings(c)[0]
    assert st["method"] == "ls" and "epochs" not in st and "population" not in st   # its key hashes only what it uses
    with pytest.raises(InvalidParameterError, match="baseline 'ls' takes no kwargs"):
        load_search_config({**cfg, "methods": [{"method": "ls", "kwargs": {"x": 1}}]})
    with pytest.raises(UnknownNameError, match="valid: .*ls"):
        load_search_config({**cfg, "methods": ["lss"]})
    df = run_search_sweep(cfg, tmp_path, progress=False)
    assert df.groupby("key").size().eq(12).all() and set(df["label"]) == {"ls", "random"}
    ls = df[df.label == "ls"].sort_values(["seed", "query"])
    assert ls["row"].tolist() == run_searches("toy", "ls", 12, [0, 1], n_init=4)["row"].tolist()


def test_a_registered_strategy_runs_through_the_loop():
    "Adding a strategy is registering one: the loop, checks and history take it as it is"
    class Worst(Strategy):
        "Queries the unqueried row of lowest val, one per step"
        def step(self, tab, runs, it, budget, cfg):
            for r in runs:
                order = np.argsort(tab.space.val, kind="stable")
                r.add([next(int(x) for x in order if tab.cls(int(x)) not in r.seen)], [np.nan], it, "", 0.0, 0.0, 0)
                r.seen.add(tab.cls(r.rows[-1]))
    STRATEGIES.register("worst")(Worst())
    try:
        h = run_searches("toy", "worst", 9, [0, 1], n_init=4)
        assert h.groupby("seed").size().eq(9).all() and h.groupby("seed")["iteration"].max().eq(5).all()
        assert "worst" in load_search_config({"budget": 9, "spaces": [{"space": "toy"}], "methods": ["worst"]})["methods"][0]["method"]
    finally:
        dict.pop(STRATEGIES, "worst")


@needs_data
def test_ls_on_real_tables_at_smoke_size():
    nb201 = load_space("nb201", "cifar10")
    h = run_searches(nb201, "ls", 40, [0, 1], n_init=10)
    _ls_checks(h, nb201, 40, 10, [0, 1])
    nb101 = load_space("nb101")                                   # a 30,001-cell subset: most neighbours are outside
    h = run_searches(nb101, "ls", 30, [0], n_init=10)
    _ls_checks(h, nb101, 30, 10, [0])
    assert h["skipped_mutations"].gt(0).any()


@needs_data
def test_ls_on_a_sample_of_nb201_skips_neighbours_outside_the_table():
    full = load_space("nb201", "cifar10")
    keep = np.sort(np.random.default_rng(0).choice(len(full), int(0.3 * len(full)), replace=False))
    _, first, inv = np.unique(full.rep[keep], return_index=True, return_inverse=True)
    sample = type(full)(full.codes[keep], full.val[keep], full.test[keep], rep=first[inv], iso=full.iso, task=full.task,
                        metric_names=full.metric_names, notes=full.notes + " (a 30% sample)")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SearchStoppedWarning)
        h = run_searches(sample, "ls", 60, [0, 1])
    _ls_checks(h, sample, 60, 10, [0, 1])
    assert h["skipped_mutations"].gt(0).all() or h["skipped_mutations"].sum() > 0


@needs_data
@pytest.mark.parametrize("method", ["random", "rea"])
def test_committed_nb101_baseline_runs_are_reproduced_row_for_row(method):
    "NB101's REA mutates by NPENAS's operator (`space.mutants`): its committed runs replay exactly too"
    c = search_results(RESULTS / "search_nb101")
    c = c[(c.label == method) & c.seed.isin([0, 1])].sort_values(["seed", "query"])
    h = run_searches("nb101", method, 150, [0, 1])
    for col in ("row", "iteration", "val", "test", "best_val", "best_test", "skipped_mutations"):
        assert h[col].tolist() == c[col].tolist(), col
    assert h["replaced"].eq(0).all() and (h["stopped"] == "").all()
