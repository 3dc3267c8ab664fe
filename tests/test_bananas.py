"BANANAS (`nasloss_nb.bananas`): the path encoding on the real cells, the ensemble on NB201, and the search method"
import os
import numpy as np
import pandas as pd
import pytest
from nasloss_nb.bananas import (BANANAS_DEFAULTS, check_bananas, ensemble_scores, fit_ensemble, path_encoding,
                                path_len, path_vocabulary)
from nasloss_nb.metrics import kendall_tau
from nasloss_nb.spaces.base import load_space

DATA = os.environ.get("NASLOSS_DATA")
needs_data = pytest.mark.skipif(not DATA, reason="needs NASLOSS_DATA")


@needs_data
@pytest.mark.parametrize("name, full, lengths, auto", [
    ("nb201", 155, [0, 5, 25, 125], 155),          # the paper's 155 paths, all kept
    ("nb101", 364, [1, 3, 9, 27, 81, 243], 40),    # 3^0 + ... + 3^5 = 364, truncated to the first 40 (<= 3 ops)
    ("transnas-micro", 84, [0, 4, 16, 64], 84),    # NB201's cell with 4 ops, all kept
])
def test_path_vocabulary_sizes(name, full, lengths, auto):
    sp = load_space(name)
    voc = path_vocabulary(sp)
    assert len(voc) == full and [sum(len(p) == n for p in voc) for n in range(len(lengths))] == lengths
    assert voc == sorted(voc, key=lambda p: (len(p), p))                       # deterministic order: shortest first
    enc = path_encoding(sp, path_len(sp, "auto"))
    assert tuple(enc.shape) == (len(sp), auto) and set(enc.unique().tolist()) <= {0.0, 1.0}
    assert (enc.sum(1) >= 1).all() if name != "nb101" else True


@needs_data
def test_nb201_paths_by_hand():
    "NB201 |3x3~0|+|3x3~0|pool~1|+|skip~0|3x3~1|skip~2|: four paths, two of them (3x3, 3x3)"
    sp = load_space("nb201")
    t = list(sp.node_types)
    row = 1                                                                    # the cell printed in the docstring
    assert sp.arch_str(tuple(sp.codes[row].tolist())) == "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    c, p, s = t.index("nor_conv_3x3"), t.index("avg_pool_3x3"), t.index("skip_connect")
    voc = path_vocabulary(sp)
    got = {voc[i] for i in path_encoding(sp)[row].nonzero().flatten().tolist()}
    assert got == {(s,), (c, c), (c, s), (c, p, s)}                       # 0->3 skip; 0->1->3; 0->2->3; 0->1->2->3


@needs_data
def test_ensemble_ranks_unseen_nb201_cells():
    sp = load_space("nb201")
    rng = np.random.default_rng(0)
    rows = rng.choice(len(sp), 300, replace=False)
    train, test = rows[:100], rows[100:]
    models = fit_ensemble(sp, train[None], sp.val[train][None] / 100, [0], check_bananas(None))[0]
    mean, std = ensemble_scores(models, sp, test)
    assert kendall_tau(sp.val[test], mean) > 0.4 and (std > 0).all()


# --- the search method -------------------------------------------------------------------------------------------
NOTIME = ["train_seconds", "predict_seconds"]
SMALL = dict(n_init=5, k=5, n_candidates=10, loss_kwargs={"epochs": 20})


def test_bananas_is_a_registered_training_strategy():
    from nasloss_nb.search import BASELINES, STRATEGIES
    assert "bananas" in STRATEGIES and "bananas" in STRATEGIES.names() and "bananas" not in BASELINES
    assert type(STRATEGIES["bananas"]).__name__ == "Bananas" and STRATEGIES["bananas"].trains


def test_bananas_on_toy_pairs_with_every_method_and_repeats_itself():
    from nasloss_nb.pool import SearchTable, initial_sample
    from nasloss_nb.search import run_search, run_searches
    toy = load_space("toy")
    h = run_searches(toy, "bananas", 20, [0, 1, 2], **SMALL)
    tab = SearchTable(toy)
    for s, g in h.groupby("seed"):
        assert len(g) == 20 and (g["stopped"] == "").all()
        assert g["row"].iloc[:5].tolist() == initial_sample(toy, 5, s).tolist()           # same start as every method
        assert len({tab.cls(x) for x in g["row"]}) == 20                                 # never a class twice
        assert g["iteration"].tolist() == [0] * 5 + [1] * 5 + [2] * 5 + [3] * 5           # k = 5 per iteration
        assert g["score"].iloc[5:].notna().all() and g["score"].iloc[:5].isna().all()    # the ITS draw of each query
    assert set(h["loss"]) == {"bananas"} and set(h.loc[h.iteration > 0, "phase"]) == {"mape"}
    one = run_search(toy, None, "bananas", 20, 1, **SMALL)
    again = run_search(toy, None, "bananas", 20, 1, **SMALL)
    pd.testing.assert_frame_equal(one.drop(columns=NOTIME), again.drop(columns=NOTIME))  # same seed, same history
    pd.testing.assert_frame_equal(one.drop(columns=NOTIME), h[h.seed == 1].reset_index(drop=True).drop(columns=NOTIME))
    other = run_search(toy, None, "bananas", 20, 5, **SMALL)
    assert other["row"].tolist() != one["row"].tolist()                                  # another seed, another run


@pytest.mark.parametrize("kwargs, match", [
    (dict(loss_kwargs={"ensemble": 1}), "ensemble"),
    (dict(loss_kwargs={"ensembel": 3}), "ensembel"),
    (dict(loss_kwargs={"lr": -1.0}), "lr"),
    (dict(loss_kwargs={"loss": "nope"}), "nope"),
    (dict(loss_kwargs={"max_path_len": "long"}), "long"),
    (dict(loss_kwargs={"epochs": 5}, epochs=10), "twice"),
    (dict(predictor_kwargs={"hidden": 8}), "predictor_kwargs"),
    (dict(n_init=30), "n_init"),
])
def test_bananas_refuses_bad_settings_before_any_work(kwargs, match):
    from nasloss_nb.core import NasLossError
    from nasloss_nb.search import run_searches
    calls = []
    with pytest.raises(NasLossError, match=match):
        run_searches("toy", "bananas", 20, [0], callback=calls.append, **kwargs)
    assert calls == []                                                                   # refused before the first query


def test_shared_epochs_and_lr_replace_bananas_own():
    from nasloss_nb.bananas import Bananas
    cfg = dict(loss_kwargs={"ensemble": 3}, predictor_kwargs=None, epochs=7, lr=0.5)
    s = Bananas().settings("bananas", cfg)["bananas"]
    assert (s["ensemble"], s["epochs"], s["lr"], s["batch_size"]) == (3, 7, 0.5, BANANAS_DEFAULTS["batch_size"])


@needs_data
@pytest.mark.parametrize("name, budget", [("nb201", 40), ("nb101", 30)])
def test_bananas_on_real_tables(name, budget):
    from nasloss_nb.pool import SearchTable, initial_sample, parents_of
    from nasloss_nb.search import run_searches
    sp = load_space(name)
    h = run_searches(sp, "bananas", budget, [0, 1], loss_kwargs={"epochs": 30})
    tab = SearchTable(sp)
    for s, g in h.groupby("seed"):
        assert len(g) == budget and g["row"].iloc[:10].tolist() == initial_sample(sp, 10, s).tolist()
        assert len({tab.cls(x) for x in g["row"]}) == budget
        if name != "nb201": continue                   # NB101's candidates come from NPENAS's operator, not neighbours
        for it in range(1, g["iteration"].max() + 1):  # each candidate: a one-change neighbour of one of the 5 best so far
            before, now = g[g.iteration < it], g[(g.iteration == it) & (g.replaced == 0)]
            near = {tab.cls(int(x)) for p in parents_of(tab, before["row"].tolist(), 5) for x in tab.neighbours(p)}
            assert {tab.cls(int(x)) for x in now["row"]} <= near, (s, it)
