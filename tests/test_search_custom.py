"Searches on your own space: any space name through the reports, sampled tables (the replacement rule), early stops that say so, unchanged built-in histories"
import inspect, os, warnings
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from nasloss_nb.core import InvalidParameterError
from nasloss_nb.search import (SEARCH_DEFAULTS, SearchStoppedWarning, candidate_pool, SearchRun, SearchTable, best_found, consolidate_search,
                               final_results, run_search, run_search_sweep, run_searches, search_curves, search_figure,
                               search_findings, search_markdown, search_results, search_table)
from nasloss_nb.spaces.base import load_space
from nasloss_nb.spaces.toy import ToySpace

DATA = os.environ.get("NASLOSS_DATA")
needs_data = pytest.mark.skipif(not DATA, reason="needs NASLOSS_DATA")
RESULTS = Path(__file__).resolve().parents[1] / "data" / "results"
FAST = dict(n_init=4, k=4, n_candidates=8, epochs=2)


def _toy_as(name, task, cls=ToySpace, rows=None):
    "The toy table (or some of its rows) as a space of another name, as a user's TabularSpace subclass would be"
    toy = load_space("toy")
    Named = type("Named", (cls,), {"name": name})
    r = np.arange(len(toy)) if rows is None else np.asarray(rows)
    return Named(toy.codes[r], toy.val[r], toy.test[r], task=task, metric_names=toy.metric_names)


class WholeToy(ToySpace):
    "A toy table that knows its whole space: every 3 x 3 x 3 code is valid, measured or not"
    def is_valid(self, arch): return len(arch) == 3 and all(0 <= o < 3 for o in arch)


class MergedToy(ToySpace):
    "Choices 1 and 2 of the last position are one class (`canonical`), with no `rep` to tell `n_classes`"
    def canonical(self, arch): return (arch[0], arch[1], min(arch[2], 1))


def _nb201_sample(frac, seed):
    "NB201 CIFAR-10 restricted to a random `frac` of its cells, built as `nb201.load` builds the whole table"
    full = load_space("nb201", "cifar10")
    keep = np.sort(np.random.default_rng(seed).choice(len(full), int(frac * len(full)), replace=False))
    _, first, inv = np.unique(full.rep[keep], return_index=True, return_inverse=True)   # class representative inside the sample
    return type(full)(full.codes[keep], full.val[keep], full.test[keep], rep=first[inv], iso=full.iso, task=full.task,
                      metric_names=full.metric_names, notes=full.notes + " (a 30% sample)")


@pytest.mark.parametrize("name, tasks", [("mybench", ("b", "a")), ("table", ("my_results",))])
def test_any_space_name_goes_through_every_report(name, tasks):
    h = pd.concat([run_search(_toy_as(name, t), None, m, 12, seed=s, **FAST)
                   for t in tasks for m in ("pw", "hr", "random") for s in (0, 1)])
    assert "label" not in h and "key" not in h                           # exactly what run_search returns
    t = search_table(h)
    assert t["task"].unique().tolist() == sorted(tasks)                  # tasks of an unknown space: by name
    assert t["method"].tolist()[:3] == ["pw", "hr", "random"] and (t["value"].dropna() == "test (higher is better)").all()
    assert (t.dropna(subset=["runs"])["runs"] == 2).all()
    assert len(final_results(h)) == len(best_found(h)) == 6 * len(tasks)
    c = search_curves(h)
    assert set(c["label"]) == {"pw", "hr", "random"} and c["query"].max() == 12
    fig = search_figure(h)
    assert len(fig.layout.annotations) == len(tasks) and "test value: global best" in fig.layout.annotations[0].text
    assert fig.layout.yaxis.type == "log" and "lower is better" in fig.layout.title.text      # regret, whatever the unit
    assert name in search_markdown(h)
    f = search_findings(h)
    assert list(f.columns) == ["claim", "where", "evidence", "verdict"] and len(f) == len(tasks)


def test_runs_that_cannot_be_told_apart_are_refused():
    h = run_search(_toy_as("mybench", "a"), None, "random", 12, seed=0, n_init=4)
    with pytest.raises(InvalidParameterError, match="own `label`"):
        search_table(pd.concat([h, h]))
    two = pd.concat([h.assign(label="r1"), h.assign(label="r2")])      # a label per setting is enough
    assert search_table(two, reference="r1")["runs"].dropna().tolist() == [1, 1]


def test_keywords_are_explicit_and_documented():
    for f in (run_search, run_searches):
        ps = inspect.signature(f).parameters.values()
        assert not any(p.kind == p.VAR_KEYWORD for p in ps)
        for word in ("switch_at", "warmup", "weighted", "n_init", "budget", "'rea'", "'random'", "predictor", "epochs",
                     "replaced", "stopped", "SearchStoppedWarning"):
            assert word in inspect.getdoc(f), (f.__name__, word)
    assert inspect.signature(run_search).parameters["n_candidates"].default == SEARCH_DEFAULTS["n_candidates"]
    with pytest.raises(TypeError, match="epoch"):
        run_search("toy", None, "hr", 12, epoch=3)


def test_sampled_toy_reaches_its_budget_by_replacement():
    sample = _toy_as("toy-sample", "default", WholeToy, np.random.default_rng(1).choice(27, 15, replace=False))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SearchStoppedWarning)
        for m in ("hr", "rea"):
            h = run_searches(sample, m, 15, [0, 1, 2], **({"n_init": 4} if m == "rea" else FAST))
            assert h.groupby("seed").size().eq(15).all() and h.groupby("seed")["row"].nunique().eq(15).all()
            assert (h["stopped"] == "").all() and h.loc[h.iteration == 0, "replaced"].eq(0).all()
            if m == "hr": assert h["replaced"].sum() > 0 and h["skipped_mutations"].sum() > 0


def test_a_table_exhausted_early_warns_and_says_so():
    merged = _toy_as("tiny", "default", MergedToy, np.arange(15))       # 15 rows, 10 classes; n_classes sees 15
    for m in ("hr", "random", "rea"):
        with pytest.warns(SearchStoppedWarning, match=f"tiny/default, method {m}, seed 3: table exhausted after 10 of 15"):
            h = run_searches(merged, m, 15, [3], **(FAST if m == "hr" else {"n_init": 4}))
        assert len(h) == 10 and h["stopped"].str.startswith("table exhausted after 10 of 15 queries").all()
    with pytest.raises(InvalidParameterError, match="budget=16 is more than the 15"):   # plainly too big: refused up front
        run_searches(merged, "hr", 16, [0], **FAST)


def test_old_and_new_stored_runs_read_together(tmp_path):
    cfg = {"name": "t", "budget": 8, "seeds": 2, "n_init": 4, "k": 4, "n_candidates": 8, "epochs": 2,
           "spaces": [{"space": "toy"}], "methods": ["hr"]}
    new = run_search_sweep(cfg, tmp_path, progress=False)
    old = new.assign(key=new["key"] + "old", stopped=False).drop(columns="replaced")     # a part written before `replaced`
    old.iloc[:8].to_parquet(tmp_path / "parts" / "old.parquet", index=False)
    df = search_results(tmp_path)
    assert set(df["stopped"]) == {""} and df["replaced"].eq(0).all() and df["key"].nunique() == 3
    consolidate_search(tmp_path)                                           # one parquet file again
    assert pd.read_parquet(tmp_path / "results.parquet")["key"].nunique() == 3


@needs_data
def test_a_30_percent_sample_of_nb201_reaches_its_budget_with_replacements():
    sample = _nb201_sample(0.3, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SearchStoppedWarning)
        h = run_searches(sample, "hr", 100, [0, 1], epochs=5)
        r = run_searches(sample, "rea", 100, [0, 1])
    for x in (h, r):
        assert x.groupby("seed").size().eq(100).all() and (x["stopped"] == "").all()
    assert h.groupby("seed")["replaced"].sum().gt(0).all()
    assert h["skipped_mutations"].gt(0).any()


@needs_data
@pytest.mark.parametrize("method", ["random", "rea"])
def test_committed_baseline_runs_are_reproduced_exactly(method):
    c = search_results(RESULTS / "search_nb201")
    c = c[(c.task == "cifar10") & (c.label == method) & c.seed.isin([0, 1])].sort_values(["seed", "query"])
    h = run_searches("nb201", method, 100, [0, 1], task="cifar10")
    for col in ("row", "iteration", "val", "test", "best_test", "skipped_mutations"):
        assert h[col].tolist() == c[col].tolist(), col
    assert h["replaced"].eq(0).all() and (h["stopped"] == "").all()


@needs_data
@pytest.mark.parametrize("folder, label, n", [("search_nb201", "pw", 3), ("search_nb201", "hr", 2), ("search_nb101", "pw", 1)])
def test_committed_predictor_runs_replay_with_no_replacement(folder, label, n):
    "Each iteration's queried rows are among the candidates the search makes today, none of them replacements"
    c = search_results(RESULTS / folder)
    c = c[(c.label == label) & (c.seed < n)]
    cfg = {k: SEARCH_DEFAULTS[k] for k in ("n_candidates", "max_parents", "mutation_attempts")}
    for (space, task, seed), g in c.groupby(["space", "task", "seed"]):
        tab = SearchTable(load_space(space, task)); rows = g.sort_values("query")["row"].tolist()
        r = SearchRun(tab, int(seed), 10); budget = len(rows)
        assert r.rows == rows[:10]
        for it, got in g[g.iteration > 0].groupby("iteration")["row"]:
            n0 = len(r.rows)
            pool, _, extra = candidate_pool(tab, r, min(10, budget - n0), {**cfg, "k": 10})
            assert set(got) <= set(pool) and not extra, (space, task, seed, it)
            r.rows = rows[:n0 + len(got)]; r.seen = {tab.cls(x) for x in r.rows}   # as the run left it
