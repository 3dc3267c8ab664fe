"The report takes `run_trials` rows of a user's own space (any name) as they come; `recommend` answers a size query with 95% CIs"
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from nasloss_nb.report import findings, recommend, results_markdown, study_figure, summary
from nasloss_nb.spaces.base import TabularSpace
from nasloss_nb.study import run_trials


class MyBench(TabularSpace):
    "A chain input -> op -> op -> op -> output, 4 ops per position: 64 architectures, none of them a built-in space"
    name, label = "mybench", "a user's own table"
    node_types, max_nodes, graph_key = ("input", "a", "b", "c", "d", "output"), 5, "mybench-test"

    def to_graph(self, arch):
        adj = np.eye(5, k=1, dtype=np.uint8)
        return adj, np.array([0, *(o + 1 for o in arch), 5])


@pytest.fixture(scope="module")
def rows():
    codes = np.array([(a, b, c) for a in range(4) for b in range(4) for c in range(4)], np.int8)
    val = 60 + codes @ np.array([3.0, 2.0, 1.0]) + np.sin(codes.sum(1))
    bench = MyBench(codes, val, val + np.cos(codes @ np.array([1.0, 5.0, 7.0])), task="runs-2024",
                    metric_names={"val": "my accuracy", "test": "my accuracy"})
    return [r for loss in ("mse", "hr", "warp") for n in (12, 24, 48)
            for r in run_trials(bench, loss, "mlp", n_train=n, seeds=[0, 1, 2], epochs=3)]


def test_report_takes_raw_rows(rows):
    assert isinstance(rows, list) and "label" not in rows[0] and rows[0]["space"] == "mybench"
    sm = summary(rows)
    assert len(sm) == 9 and set(sm["label"]) == {"mse", "hr", "warp"} and (sm["seeds"] == 3).all()
    assert "| mybench | runs-2024 | 12 | hr |" in results_markdown(rows)
    assert len(findings(rows)) > 0 and study_figure(rows).layout.annotations[0].text == "mybench/runs-2024<br>n=12"
    default = recommend(rows)                                        # no query: one row per setting, as before
    assert default["n_train"].tolist() == [12, 24, 48] and "note" not in default
    assert (default["compared"] == "3 losses x 3+ seeds").all()


@pytest.mark.parametrize("asked,near", [(30, 24), (40, 48), (35, 48), (5, 12), (24, 24), (1000, 48)])
def test_recommend_nearest_size(rows, asked, near):
    # by ratio: 30/24 = 1.25 < 48/30 = 1.6; 35/24 = 1.46 > 48/35 = 1.37 (by difference 35 would take 24)
    out = recommend(rows, space="mybench", predictor="mlp", n_train=asked)
    assert out["n_train"].unique().tolist() == [near]
    said = "studied" if asked == near else f"nearest studied {near}"
    assert out["note"].unique().tolist() == [f"asked {asked}, {said} (studied: 12, 24, 48)"]


def test_recommend_ci(rows):
    out = recommend(rows, space="mybench", task="runs-2024", n_train=30)
    assert sorted(out["label"]) == ["hr", "mse", "warp"] and (out["seeds"] == 3).all()
    raw = pd.DataFrame(rows)
    raw = raw[raw["n_train"] == 24]
    for m in ("kendall_tau", "precision@0.5", "n@10"):
        assert ((out[f"{m} low"] <= out[f"{m} mean"]) & (out[f"{m} mean"] <= out[f"{m} high"])).all()
        assert (out[f"{m} verdict"] == "best").sum() == 1 and set(out[f"{m} verdict"]) <= {"best", "tied", "worse"}
        for _, r in out.iterrows():                                   # the 95% t-interval over the three seeds
            v = raw.loc[raw["loss"] == r["label"], m].to_numpy()
            if np.ptp(v) == 0: continue
            lo, hi = stats.t.interval(0.95, len(v) - 1, loc=v.mean(), scale=stats.sem(v))
            np.testing.assert_allclose([r[f"{m} mean"], r[f"{m} low"], r[f"{m} high"]], [v.mean(), lo, hi], rtol=1e-9)
    assert (out["kendall_tau high"] - out["kendall_tau low"] > 0).all()   # tau varies over seeds: a real width
    first = out["precision@0.5 mean"].to_numpy()
    assert (np.diff(first) <= 0).all()                                 # best first by the first metric
    assert out["precision@0.5 verdict"].iloc[0] == "best"


def test_recommend_query_errors(rows):
    with pytest.raises(KeyError, match="valid: mybench"): recommend(rows, space="nb201")
    with pytest.raises(KeyError, match="valid: runs-2024"): recommend(rows, task="cifar10")
    with pytest.raises(ValueError, match="n_train"): recommend(rows, n_train=0)
