"The report's sections on the committed results (no papermill): Table 1 says which predictor is which and what the paper states; Fig. 7 is regret"
from pathlib import Path
import pytest
from nasloss_nb.reproduce import load_params, report_items

ROOT = Path(__file__).parent.parent


def _items(name, tmp_path):
    return report_items(name, load_params(name, "committed", tmp_path, ROOT), ROOT)


def test_table1_names_each_predictor_and_shows_the_papers_statements(tmp_path):
    items = _items("table1", tmp_path)
    kind, title, fig = items[0]
    assert kind == "figure" and "left to right: MLP (AP), Transformer (PINAT)" in title
    heads = [a.text.split("<br>")[0] for a in fig.layout.annotations]
    assert heads[:2] == ["<b>MLP (AP)</b>", "<b>Transformer (PINAT)</b>"]            # the columns say it too
    tables = {t: o for k, t, o in items if k == "table"}
    paper = tables["The paper's Table 1 (as its text states it) beside ours"]
    assert paper[["predictor", "paper: best loss"]].drop_duplicates().values.tolist() == [["MLP (AP)", "listmle"], ["Transformer (PINAT)", "warp"]]
    assert len(paper) == 5 and not paper["verdict"].eq("not run").any()              # 3 MLP metrics, 2 Transformer
    assert paper["metric"].str.contains(r"\((?:higher|lower) is better\)").all()
    ours = tables["Table 1: N@10, Precision@0.5 and Kendall tau per predictor and loss (ours)"]
    assert set(ours["predictor"]) == {"MLP (AP)", "Transformer (PINAT)"}
    note = next(o for k, t, o in items if k == "note")
    assert "MLP" in note and "Transformer" in note and "holds back" in note



def test_table1_n_at_10_panels_are_log_from_1_so_a_collapsed_loss_hides_no_other_bar(tmp_path):
    import numpy as np
    fig = _items("table1", tmp_path)[0][2]
    n10 = [t for t in fig.data if t.type == "bar" and t.yaxis and fig.layout[t.yaxis.replace("y", "yaxis")].type == "log"]
    assert len(n10) == 2                                               # the N@10 row, one panel per predictor
    for t in n10:
        ax = fig.layout[t.yaxis.replace("y", "yaxis")]
        assert ax.range[0] == 0 and 10 ** ax.range[1] > max(t.y)    # from N@K = 1 to above the tallest bar
        heights = np.log10(np.array(t.y, float)) / ax.range[1]
        assert heights.min() > 0.2, dict(zip(t.x, t.y))              # the best loss's bar is a fifth of the axis, at least
    transformer = dict(zip(n10[1].x, n10[1].y))
    assert transformer["listmle"] > 100 * transformer["hr"]           # the collapse a linear axis could not show beside HR

def test_fig7_is_regret_on_a_log_axis_and_darts_shows_val_and_test(tmp_path):
    fig7 = [f for k, t, f in _items("search", tmp_path) if k == "figure"]
    assert len(fig7) == 4
    for f in fig7:
        axes = [f.layout[a] for a in f.layout if a.startswith("yaxis")]
        assert all(a.type == "log" and a.title.text == "regret to the global best (log)" for a in axes)
        assert "lower is better" in f.layout.title.text
    darts = _items("darts", tmp_path)
    figs = [(t, f) for k, t, f in darts if k == "figure" and "regret" in f.layout.title.text]
    assert [t.split(",")[0] for t, _ in figs] == ["Best-so-far val accuracy against queries", "Test accuracy of the best-by-val architecture so far"]
    assert all(f.layout.yaxis.title.text == "regret to the best reached (log)" for _, f in figs)
    assert any(k == "note" and "test curve" in t for k, t, _ in darts)


@pytest.mark.parametrize("name, on", [("search", True), ("darts", True), ("fig2", True), ("table1", True)])
def test_reproduce_embeds_plotlyjs_where_a_notebook_asks(name, on, tmp_path):
    "The experiment notebooks embed plotly.js only with standalone=True (a JupyterLab run would save 4.8 MB); reproduce's copies are read elsewhere"
    for mode in ("committed", "rerun", "smoke"):
        assert load_params(name, mode, tmp_path, ROOT).get("standalone") is on
