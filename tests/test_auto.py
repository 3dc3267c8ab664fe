"The `auto` search (issue 21): credit and selection rules, bad input refused before any work, a toy run, select_loss, configs"
import warnings
from pathlib import Path
import numpy as np
import pytest
import torch
from nasloss_nb.auto import (AUTO_DEFAULTS, auto_weights, batch_credit, check_auto, proposal_scores, select_loss,
                             stacked_loss)
from nasloss_nb.core import InvalidParameterError, NasLossError
from nasloss_nb.search import load_search_config, run_search, run_searches
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
    with pytest.raises(InvalidParameterError, match="too few"): select_loss(load_space("toy"), np.arange(4), ["hr"], top=3)


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
