"""The `auto` search and study (issue 21): credit and selection rules, bad input refused before any work, toy runs,
select_loss, run_trials(loss='auto'), configs, reports across folders"""
import warnings
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
import torch
from nasloss_nb.auto import (AUTO_DEFAULTS, auto_weights, batch_credit, check_auto, proposal_scores, select_loss,
                             stacked_loss)
from nasloss_nb.core import InvalidParameterError, NasLossError
from nasloss_nb.search import load_search_config, run_search, run_searches
from nasloss_nb.study import run_trial, run_trials
from nasloss_nb.spaces.base import load_space

FAST = dict(n_init=4, k=4, n_candidates=8, epochs=2)
CONFIGS = Path(__file__).resolve().parents[1] / "experiments" / "configs"


def test_credit_is_top_view_in_batch_units():
    val = np.array([0.9, 0.5, 0.1, 0.3])
    s = np.array([[4, 3, 2, 1], [1, 2, 3, 4], [1, 4, 3, 2]])
    np.testing.assert_allclose(batch_credit(s, val, top=1), [1.0, 0.25, 0.5])
    np.testing.assert_allclose(batch_credit(s, val, top=2), [1.0, 0.25, 0.5])
    np.testing.assert_allclose(batch_credit(s, np.full(4, 0.7), top=1), [1, 1, 1])     # a flat batch: nobody loses
    assert batch_credit(s, np.array([np.nan, 0.5, 0.1, 0.3]), top=1)[0] == 0.0          # a failed value is the worst


def test_weights_follow_the_leader_and_softmax():
    np.testing.assert_array_equal(auto_weights(np.zeros((0, 4))), [1, 0, 0, 0])         # no credit: the first candidate
    np.testing.assert_array_equal(auto_weights(np.array([[0.5, 0.5, 0.1]])), [1, 0, 0])  # ties: the earlier
    w = auto_weights(np.array([[0.0, 1.0], [0.0, 1.0]]), temperature=0.5)
    assert w[1] > w[0] and np.isclose(w.sum(), 1)
    np.testing.assert_array_equal(proposal_scores(np.array([[3., 1., 2.]]), np.array([1.])), [3., 1., 2.])
    ens = proposal_scores(np.array([[3., 1., 2.], [1., 3., 2.]]), np.array([0.5, 0.5]))
    np.testing.assert_allclose(ens, [0.5, 0.5, 0.5])


def test_stacked_loss_applies_each_candidate_to_its_slice():
    a = lambda p, t, mask=None: p.sum() * 0 + 1.0
    b = lambda p, t, mask=None: p.sum() * 0 + 3.0
    pred = torch.zeros(4, 5, requires_grad=True)        # 2 runs x 2 candidates, run-major
    assert float(stacked_loss([a, b])(pred, torch.zeros(4, 5)).detach()) == 2.0
    seen = []
    f = lambda p, t, mask=None: (seen.append(p[:, 0].tolist()), p.sum())[1]
    stacked_loss([f, f])(torch.arange(4.)[:, None].repeat(1, 3), torch.zeros(4, 3))
    assert seen == [[0.0, 2.0], [1.0, 3.0]]


@pytest.mark.parametrize("kw, msg", [({"candidates": ["hr", "nope"]}, "nope"), ({"candidates": []}, "non-empty"),
                                     ({"candidates": "hr"}, "non-empty list"), ({"candidates": ["hr", "hr"]}, "distinct"),
                                     ({"candidates": ["hr", "pw"]}, "pw"), ({"top": 0}, "top"), ({"top": 5}, "top"),
                                     ({"temperature": -0.1}, "temperature"), ({"temperature": float("inf")}, "temperature"),
                                     ({"tempreature": 1}, "unknown"), ({"candidate_kwargs": {"warp": {}}}, "candidate_kwargs"), ({"candidate_kwargs": {"hr": {"margn": 1}}}, "margn")])
def test_bad_settings_fail_before_any_work(kw, msg, monkeypatch):
    import nasloss_nb.auto as auto
    monkeypatch.setattr(auto, "_fit_candidates", lambda *a, **k: pytest.fail("trained before checking"))
    kw = {"candidates": ["hr", "mse"], **kw}
    with pytest.raises(NasLossError, match=msg):
        run_search("toy", None, "auto", 12, loss_kwargs=kw, **FAST)


def test_single_candidate_is_that_loss_and_says_so():
    with pytest.warns(UserWarning, match="single candidate 'hr' is that loss"):
        h = run_search("toy", None, "auto", 12, loss_kwargs={"candidates": ["hr"]}, **FAST)
    assert set(h.auto_loss[h.iteration > 0]) == {"hr"}


def test_toy_run_records_loss_credits_and_cost():
    h = run_searches("toy", "auto", 16, seeds=[0, 1], loss_kwargs={"candidates": ["hr", "mse", "warp"], "top": 2}, **FAST)
    assert len(h) == 32 and set(h.method) == {"auto"}
    it = h[h.iteration > 0]
    assert {"auto_loss", "credit_hr", "credit_mse", "credit_warp"} <= set(h.columns)
    assert it[["credit_hr", "credit_mse", "credit_warp"]].apply(lambda c: c.between(0, 1)).all().all()
    assert h.loc[h.iteration == 0, "credit_hr"].isna().all()
    assert set(it.loc[it.iteration == 1, "auto_loss"]) == {"hr"}
    assert (it.train_seconds > 0).all()
    a = run_searches("toy", "hr", 16, seeds=[0], **FAST)      # same initial sample as every method
    assert h[(h.seed == 0) & (h.iteration == 0)].row.tolist() == a[a.iteration == 0].row.tolist()


def test_auto_is_deterministic():
    kw = dict(loss_kwargs={"candidates": ["hr", "mse"]}, **FAST)
    a, b = run_search("toy", None, "auto", 12, 3, **kw), run_search("toy", None, "auto", 12, 3, **kw)
    assert a.row.tolist() == b.row.tolist() and a.auto_loss.tolist() == b.auto_loss.tolist()


def test_select_loss_reports_mean_and_uncertainty():
    out = select_loss(load_space("toy"), np.arange(27), ["hr", "mse"], repeats=3, epochs=2)
    assert list(out.loss) == ["hr", "mse"] and out.credit.between(0, 1).all() and out.se.notna().all()
    assert out.attrs["chosen"] in ("hr", "mse")
    with pytest.raises(NasLossError, match="nope"): select_loss(load_space("toy"), np.arange(27), ["hr", "nope"])
    with pytest.raises(InvalidParameterError, match="too few"): select_loss(load_space("toy"), np.arange(4), ["hr", "mse"], top=3)


@pytest.mark.parametrize("name", ["transnas", "nb201", "nb101", "nbgraph"])
def test_auto_configs_match_the_committed_settings(name):
    a, c = load_search_config(CONFIGS / f"search_auto_{name}.yaml"), load_search_config(CONFIGS / f"search_{name}.yaml")
    assert [m["method"] for m in a["methods"]] == ["auto"]
    for k in ("budget", "seeds", "n_init", "k", "n_candidates", "max_parents", "mutation_attempts", "predictor"):
        assert a[k] == c[k], k
    assert [(s["space"], s["task"]) for s in a["spaces"]] == [(s["space"], s["task"]) for s in c["spaces"]]


def test_config_refuses_bad_auto_settings():
    cfg = {"budget": 12, "seeds": 1, "spaces": [{"space": "toy"}], "methods": [{"method": "auto", "kwargs": {"candidates": ["zz"]}}]}
    with pytest.raises(NasLossError, match="zz"): load_search_config(cfg)


# --- the study side: select_loss and run_trials(loss="auto") ---------------------------------------------------------
TRIAL = dict(n_train=20, epochs=3, predictor_kwargs={"dropout": 0.0})
RESULTS = CONFIGS.parents[1] / "data" / "results"


@pytest.fixture
def no_training(monkeypatch):
    "Any training at all fails the test: bad input must be refused before it"
    import nasloss_nb.auto as auto, nasloss_nb.study as study
    boom = lambda *a, **k: pytest.fail("trained before checking")
    for mod, name in ((auto, "_fit_candidates"), (study, "fit_many"), (study, "fit")): monkeypatch.setattr(mod, name, boom)


@pytest.mark.parametrize("kw, msg", [({"loss_kwargs": {"candidates": ["hr", "nope"]}}, "nope"),
                                     ({"loss_kwargs": {"candidates": []}}, "non-empty"),
                                     ({"loss_kwargs": {"candidates": ["hr", "pw"]}}, "pw"),
                                     ({"loss_kwargs": {"repeats": 0}}, "repeats=0"),
                                     ({"loss_kwargs": {"holdout": 1.0}}, "holdout=1.0"),
                                     ({"loss_kwargs": {"top": 0}}, "top=0"),
                                     ({"loss_kwargs": {"temperature": 0.5}}, "temperature is a search setting"),
                                     ({"loss_kwargs": {"candidate_kwargs": {"hr": {"margn": 1}}}}, "margn"),
                                     ({"lr_grid": [1e-3, 1e-2]}, "lr_grid with loss='auto'"),
                                     ({"n_train": 4}, "too few")])
def test_trial_auto_refuses_bad_settings_before_any_work(kw, msg, no_training):
    with pytest.raises(NasLossError, match=msg):
        run_trials("toy", "auto", seeds=[0, 1], **{**TRIAL, **kw})


def test_select_loss_refuses_bad_settings_before_any_work(no_training):
    toy = load_space("toy")
    for kw, msg in [(dict(candidates=[]), "non-empty"), (dict(candidates=["hr", "zz"]), "zz"), (dict(repeats=0), "repeats=0"),
                    (dict(holdout=0.0), "holdout=0.0"), (dict(candidates=["hr", "mse"], top=20), "too few")]:
        with pytest.raises(NasLossError, match=msg): select_loss(toy, np.arange(27), **kw)


def test_single_candidate_trial_is_that_loss_and_says_so(monkeypatch):
    import nasloss_nb.auto as auto                        # the trial trains; only a selection must not run
    monkeypatch.setattr(auto, "_fit_candidates", lambda *a, **k: pytest.fail("a single candidate was selected by training"))
    with pytest.warns(UserWarning, match="single candidate 'warp': it is that loss"):
        a = run_trial("toy", "auto", seed=2, loss_kwargs={"candidates": ["warp"]}, **TRIAL)
    b = run_trial("toy", "warp", seed=2, **TRIAL)
    assert a["auto_loss"] == "warp" and np.isnan(a["auto_credit"])
    np.testing.assert_allclose(a["kendall_tau"], b["kendall_tau"], atol=1e-9)


def test_trial_auto_records_its_choice_and_trains_it_as_a_plain_trial():
    kw = dict(loss_kwargs={"candidates": ["hr", "mse", "listmle"], "repeats": 2}, **TRIAL)
    rows = run_trials("toy", "auto", seeds=[0, 1, 2], **kw)
    alone = [run_trial("toy", "auto", seed=s, **kw) for s in (0, 1, 2)]
    for r, a in zip(rows, alone):
        assert r["loss"] == "auto" and r["auto_loss"] in ("hr", "mse", "listmle") and 0 <= r["auto_credit"] <= 1
        assert set(eval(r["auto_credits"])) == {"hr", "mse", "listmle"} and r["train_seconds"] >= r["select_seconds"] > 0
        assert r["lr"] == (5e-3 if r["auto_loss"] == "listmle" else 1e-3)          # the chosen loss's own default lr
        plain = run_trial("toy", a["auto_loss"], seed=a["seed"], **TRIAL)            # same rows, seed, loss: the same model
        np.testing.assert_allclose(a["kendall_tau"], plain["kendall_tau"], atol=1e-9)
        assert a["n_train"] == plain["n_train"] == 20


def test_study_config_expresses_auto_and_matches_fig2():
    from nasloss_nb.sweep import load_config, settings
    a, f = load_config(CONFIGS / "study_auto_fig2.yaml"), load_config(CONFIGS / "fig2.yaml")
    assert [l["loss"] for l in a["losses"]] == ["auto"]
    for k in ("spaces", "seeds", "seed_block", "predictors", "test_set", "epochs", "lr", "batch_size", "weight_decay", "randomness"):
        assert a[k] == f[k], k
    with pytest.raises(NasLossError, match="repeats=0"):
        load_config({"spaces": [{"space": "toy", "n_train": [10]}], "losses": [{"loss": "auto", "kwargs": {"repeats": 0}}]})


def test_committed_auto_trials_are_the_fig2_trials_of_the_losses_they_chose():
    "Under 'member' an auto row's predictor is its chosen loss trained alone on the seed's rows: fig2's row of that loss"
    import json
    from nasloss_nb.runs import made_on
    from shared import CROSS_MACHINE
    a, f = (pd.read_parquet(RESULTS / n / "results.parquet") for n in ("study_auto_fig2", "fig2"))
    for d, n in ((a, "study_auto_fig2"), (f, "fig2")):      # the CPU kind of each row (rows from 2026-12-06 on record it)
        d["made_on"] = made_on(d, json.loads((RESULTS / n / "meta.json").read_text()))
    assert set(a["randomness"]) == set(f["randomness"]) == {"member"}
    m = a.merge(f, left_on=["space", "task", "seed", "auto_loss"], right_on=["space", "task", "seed", "loss"], suffixes=("", "_fig2"))
    assert len(m) == len(a) == 150
    same = m[m["made_on"] == m["made_on_fig2"]]     # made on one CPU kind: the very same trial, to the last bit
    assert len(same) >= 110
    for c in ("n_train", "kendall_tau", "spearman", "precision@0.5", "n@10", "final_train_loss", "lr", "epochs"):
        assert (same[c] == same[f"{c}_fig2"]).all(), c
    other = m[m["made_on"] != m["made_on_fig2"]]    # seeds 10-29 of NB101 and Cora, added on another kind: within its spread
    for c in ("n_train", "lr", "epochs"): assert (other[c] == other[f"{c}_fig2"]).all(), c
    for c in ("kendall_tau", "spearman"): assert (other[c] - other[f"{c}_fig2"]).abs().max() <= CROSS_MACHINE, c


def test_report_pairs_the_auto_folder_with_the_committed_one():
    from nasloss_nb.cli import merge_search, pairing_note
    from nasloss_nb.auto import auto_findings
    df = merge_search([RESULTS / "search_transnas", RESULTS / "search_auto_transnas"])
    assert pairing_note(df).endswith("every space/task/seed starts from the same initial sample in all its runs.")
    af = auto_findings(df)
    assert len(af) == 4 and (af["runs"] == 20).all() and af["p vs pw"].between(0, 1).all()
