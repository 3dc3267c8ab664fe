"`nasloss reproduce` end to end: every experiment notebook at smoke size, the offline report, resume, bad input, quickstart"
import contextlib, io, json, re, shutil
from unittest import mock
from pathlib import Path
import pytest
from nasloss_nb.cli import main
from nasloss_nb.core import InvalidParameterError, NasLossError, UnknownNameError
from nasloss_nb.reproduce import EXPERIMENTS, ReproduceFailed, experiment_names, load_params, reproduce

ROOT = Path(__file__).parent.parent
PLOTLY = "application/vnd.plotly.v1+json"


def _outputs(nb: Path) -> list[dict]:
    return [o for c in json.loads(nb.read_text())["cells"] for o in c.get("outputs", [])]


def _cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: code = main(list(argv))
        except SystemExit as e: code = e.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    "`reproduce all --smoke` once for the module: (output folder, status table)"
    out = tmp_path_factory.mktemp("reproduce")
    return out, reproduce("all", out, smoke=True, root=ROOT)


def test_every_notebook_runs_at_smoke_size(smoke):
    out, table = smoke
    assert table["experiment"].tolist() == list(EXPERIMENTS) and (table["status"] == "ok").all() and table["ran"].all()
    assert not (ROOT / "data" / "results" / "search").exists()               # smoke results stay in out/
    for name in EXPERIMENTS:
        nb = out / "notebooks" / f"{name}.ipynb"
        outs = _outputs(nb)
        assert not [o for o in outs if o["output_type"] == "error"], name
        figs = [o for o in outs if PLOTLY in o.get("data", {})]
        assert figs and all("text/html" in o["data"] for o in figs), f"{name}: no figure drawn as HTML"
        assert sum("plotly.js v" in "".join(o.get("data", {}).get("text/html", "")) for o in outs) == 1, f"{name}: plotly.js not embedded once"
        text = "".join("".join(o.get("data", {}).get("text/plain", "")) + "".join(o.get("text", "")) for o in outs)
        assert "Figure({" not in text and "[Figure" not in text, f"{name}: a figure's repr was printed"
        marker = json.loads(nb.with_suffix(".done.json").read_text())
        assert marker["status"] == "ok" and str(out) in json.dumps(marker["params"]), marker


def test_report_holds_every_figure_and_table_it_names(smoke):
    out, table = smoke
    page = (out / "report.html").read_text()
    assert Path(table.attrs["report"]) == out / "report.html"
    assert page.count("* plotly.js v") == 1                                  # embedded once, inline
    assert not re.search(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=", page), "the report fetches something"
    toc = page[page.index('<nav id="toc">'):page.index("</nav>")]
    named = re.findall(r'<a href="#([\w-]+)" data-kind="(\w+)">', toc)
    assert {n.split("-")[0] for n, _ in named} == set(EXPERIMENTS)
    for name in EXPERIMENTS: assert any(n.startswith(name + "-") and k == "figure" for n, k in named), name
    for anchor, kind in named:
        m = re.search(rf'<div id="{anchor}" data-kind="{kind}">(.*?)(?=<div id="[\w-]+" data-kind=|</section>)', page, re.S)
        assert m, anchor
        assert {"figure": "Plotly.newPlot", "table": "<table", "note": 'class="note"'}[kind] in m.group(1), anchor
    assert ">paper</th>" in page                                             # the search table's paper column


def test_resume_reruns_only_deleted_and_failed_notebooks(smoke):
    out, _ = smoke
    again = reproduce("all", out, smoke=True, root=ROOT)
    assert not again["ran"].any() and (again["status"] == "ok").all()
    (out / "notebooks" / "fig4.ipynb").unlink()
    bad = {**load_params("fig6", "smoke", out, ROOT), "smoke_epochs": 0}     # fails in the notebook's check cell
    with pytest.raises(ReproduceFailed, match=r"1 of 1 notebooks failed .*\nfig6: InvalidParameterError: smoke_epochs=0: need an integer >= 1"):
        with mock.patch("nasloss_nb.reproduce.load_params", lambda *a: bad):
            reproduce(["fig6"], out, smoke=True, root=ROOT)
    assert "the notebook failed: InvalidParameterError" in (out / "report.html").read_text()
    assert not (out / "notebooks" / "fig6.done.json").exists()                # a failed notebook leaves no marker
    third = reproduce("all", out, smoke=True, root=ROOT).set_index("experiment")
    assert third["ran"].to_dict() == {n: n in ("fig4", "fig6") for n in EXPERIMENTS} and (third["status"] == "ok").all()


def test_unknown_experiment_lists_the_valid_ones():
    with pytest.raises(UnknownNameError, match="unknown experiment 'fig9'; valid: fig2, fig3, fig4, fig5, fig6, table1, search, darts, all"):
        experiment_names(["fig2", "fig9"])
    code, _, err = _cli("reproduce", "fig9")
    assert code == 2 and "invalid choice: 'fig9'" in err and "'table1', 'search', 'darts', 'all'" in err, err


def test_bad_parameter_file_fails_before_anything_runs(tmp_path):
    root = tmp_path / "repo"
    (root / "experiments" / "params").mkdir(parents=True)
    shutil.copy(ROOT / "settings.ini", root); (root / "nbs").symlink_to(ROOT / "nbs")
    (root / "experiments" / "params" / "fig2.yaml").write_text("committed: {results: data/results/fig2, run_smok: false}\n")
    with pytest.raises(UnknownNameError, match=r"unknown parameter\(s\) run_smok of e01_loss_study.ipynb; valid: results, config"):
        reproduce(["fig2"], tmp_path / "out", root=root)
    assert not (tmp_path / "out").exists()
    with pytest.raises(InvalidParameterError, match="choose one"): reproduce("fig2", tmp_path / "o", smoke=True, rerun=True)


def test_quickstart_at_a_tiny_size(tmp_path):
    code, out, err = _cli("quickstart", "--out", str(tmp_path / "q"), "--seeds", "2", "--epochs", "1", "--quiet")
    assert code == 0, err
    assert "| nbgraph | cora | gcn | 3% | 786 | 8 losses x 2+ seeds |" in out and "16 trials (16 trained" in err, (out, err)
    page = (tmp_path / "q" / "report.html").read_text()
    assert page.count("* plotly.js v") == 1 and "Plotly.newPlot" in page and "MAPE" in page
    code, out2, err = _cli("quickstart", "--out", str(tmp_path / "q"), "--seeds", "2", "--epochs", "1", "--quiet")
    assert code == 0 and "(0 trained" in err and out2 == out, err                # resumed: nothing retrained, same table


@pytest.mark.parametrize("mode", ["rerun", "smoke"])
def test_every_config_a_mode_runs_exists_and_validates(mode, tmp_path):
    "What --rerun / --smoke would train is a valid sweep or search config (checked without training anything)"
    from nasloss_nb.search import load_search_config
    from nasloss_nb.sweep import load_config
    for name in EXPERIMENTS:
        p = load_params(name, mode, tmp_path, ROOT)
        assert str(tmp_path / "results") in json.dumps(p), (name, p)             # never data/results
        if "parts" in p: paths = [Path(p["configs"]) / f"{x}.yaml" for x in p["parts"]]
        else: paths = [Path(c) for c in ([p["config"]] if isinstance(p["config"], str) else p["config"])]
        assert paths, name
        for c in paths: (load_search_config if name in ("search", "darts") else load_config)(ROOT / c)
