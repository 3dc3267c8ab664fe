"""The explorers in a real JupyterLab in a real (headless) Chromium: tools/browser_check.py, run as a user would.

Needs Playwright for Python (in the dev extras) and a Chromium (`apt-get install -y chromium` on Debian).
Without them these tests skip, unless NASLOSS_BROWSER=required (as in CI), when they fail.
Screenshots go to a temporary folder, or to $NASLOSS_SCREENSHOTS when set (e.g. docs/screenshots).
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from shared import browser_check, need_browser

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tools" / "browser_check.py"
bc = browser_check()


def _run(args, tmp_path, timeout=400, sigterm_after=None):
    "Run the script; returns (rc, output, report). On its timeout: SIGTERM (it cleans up), then SIGKILL"
    report, logf = tmp_path / "report.json", tmp_path / "browser_check.log"
    cmd = [sys.executable, str(SCRIPT), "--report", str(report), *map(str, args)]
    with open(logf, "w") as f:
        p = subprocess.Popen(cmd, cwd=REPO, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
    t0 = time.monotonic()
    while p.poll() is None:
        if sigterm_after and sigterm_after(logf.read_text()):
            p.send_signal(signal.SIGTERM)
            sigterm_after = None
        if time.monotonic() - t0 > timeout:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            pytest.fail(f"browser_check ran over {timeout} s:\n{logf.read_text()}")
        time.sleep(0.2)
    rep = json.loads(report.read_text()) if report.exists() else {}
    return p.returncode, logf.read_text(), rep


def _nothing_left(rep):
    "Every process the script started (JupyterLab, kernels, Playwright's driver, Chromium) has ended"
    assert rep.get("pids"), f"the report names no process: {rep}"
    pids = {int(k): v for k, v in rep["pids"].items()}
    deadline = time.monotonic() + 10           # zombies are reaped by their parent's exit; give it a moment
    while bc.alive(pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not bc.alive(pids), f"still running after browser_check: {bc.alive(pids)}"
    assert not bc.mentioning(rep["tmp"]), f"processes still use {rep['tmp']}: {bc.mentioning(rep['tmp'])}"
    assert not Path(rep["tmp"]).exists(), f"temporary workspace {rep['tmp']} left behind"


def _notebook(path, sources):
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, str(path))
    return path


def test_every_explorer_is_a_target():
    "Each `*_explorer` of the library is opened and driven by a target of browser_check (no browser needed to check that)"
    import re
    defined = {m for f in (REPO / "nasloss_nb").rglob("*.py") for m in re.findall(r"^def (\w+_explorer)\(", f.read_text(), re.M)}
    targeted = {name for t in bc.TARGETS for name in defined if t.cell and t.cell.startswith(name + "(") and t.changes}
    assert defined and defined == targeted, f"explorers without a browser_check target: {sorted(defined - targeted)}"


def test_explorers_in_jupyterlab(tmp_path):
    "Every target runs without an error or a repr on show, its widget redraws its figure, screenshots are saved"
    need_browser()
    out = Path(os.environ.get("NASLOSS_SCREENSHOTS") or tmp_path / "screenshots")
    rc, log, rep = _run(["--out", out], tmp_path, timeout=600)
    assert rc == 0, f"browser_check failed (screenshot and console log in {out}):\n{log}"
    assert [r["notebook"] for r in rep["results"]] == [t.notebook for t in bc.TARGETS]
    for t, r in zip(bc.TARGETS, rep["results"]):
        assert len(r["changes"]) == len(t.changes), f"{t.notebook}: not every widget change ran: {r}"
        for png in r["screenshots"]:
            data = Path(png).read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, f"{png} is not a real screenshot"
    _nothing_left(rep)


FIGURE_WIDGET = """import ipywidgets as W, plotly.graph_objects as go
fig = go.FigureWidget(go.Bar(y=[1, 2, 3]), layout=dict(title="letter a"))
pick = W.Dropdown(options=["a", "b"], description="pick")
def redraw(c):
    fig.data[0].y = [3, 2, 1]; fig.layout.title = "letter " + c["new"]
pick.observe(redraw, "value")
W.VBox([pick, fig])"""

UNREADABLE = [     # what a person cannot read in full, each a class of defect the check must name
    "import pandas as pd\npd.DataFrame({'claim': ['weighted losses lead precision@0.5 on every space ' * 2]})",  # cut at 50
    "from plotly.subplots import make_subplots\n"                       # subplot titles wider than their columns
    "make_subplots(cols=3, subplot_titles=['transnas-macro/class_scene n=10'] * 3).update_layout(width=420)",
    "go.Figure(go.Scatter(y=[1, 2])).update_layout(xaxis_title='s.d. of the mean over )')",   # the start of a label lost
    "import ipywidgets as W\nW.Text(description='weighted_kwargs of the loss', layout=W.Layout(width='300px'),"
    " placeholder='JSON, e.g. {\"lower_bound\": 0.05, \"weighting\": \"exp_gt\"}')",   # a label and a hint cut by their box
    "go.Figure([go.Scatter(y=[60, 12, 5.6, 5.5, 5.6, 5.5, 5.5, 5.5]), go.Scatter(y=[45, 9, 5.7, 5.6, 5.6, 5.6, 5.6, 5.6])])",
                                              # every line flat: its first points set the y range (Fig. 7 before issue 22)
    "from IPython.display import HTML\nHTML(\"<table><tr><td style='max-width: 90px; overflow: hidden; white-space: nowrap'>"
    "weighted losses lead precision@5 on every space</td></tr></table>\")",          # a table cell cut by its box
]

READABLE_LINES = ("from plotly.subplots import make_subplots\nf = make_subplots(cols=2)\n"   # not flat: lines that differ,
                  "f.add_scatter(y=[1, 2, 3, 4], row=1, col=1).add_scatter(y=[4, 3, 2, 1], row=1, col=1)\n"   # and one step line alone
                  "f.add_scatter(y=[0] * 10 + [1] * 190, line_shape='hv', row=1, col=2)")

NO_REDRAW = """import ipywidgets as W, plotly.graph_objects as go
from IPython.display import display
out, pick = W.Output(), W.Dropdown(options=["a", "b"], description="pick")   # pick redraws nothing
with out: display(go.Figure(go.Bar(y=[1, 2])))
W.VBox([pick, out])"""


def test_catches_what_a_user_would_see_wrong_and_stops_everything(tmp_path):
    """Errors, reprs and a broken widget fail, naming each cell; a widget that redraws nothing fails; a FigureWidget
    passes; then SIGTERM while a cell runs: exit 130, and JupyterLab, the kernels and Chromium are all gone.
    (One JupyterLab for all of it: each start costs ~15 s on a loaded 2-core machine.)"""
    need_browser()
    bad = _notebook(tmp_path / "bad.ipynb", [
        "import plotly.graph_objects as go\nfig = go.Figure(go.Bar(y=[1, 2]))\nfig",   # fine: drawn
        "print(fig)",                                                                  # a figure's repr
        "[go.Figure(), go.Figure()]",                                                  # a list's repr
        "import sys; print('just a warning', file=sys.stderr)",                        # fine: not an error
        "from IPython.display import display\n"                                        # a widget view whose model
        "display({'application/vnd.jupyter.widget-view+json': {'model_id': 'gone', "   # the front end cannot find
        "'version_major': 2, 'version_minor': 0}, 'text/plain': 'VBox()'}, raw=True)",
        *UNREADABLE,                                                                   # text cut or drawn over
        READABLE_LINES,                                                                # fine
        "raise ValueError('boom')",
    ])
    good = _notebook(tmp_path / "figure_widget.ipynb", [FIGURE_WIDGET])
    stuck = _notebook(tmp_path / "no_redraw.ipynb", [NO_REDRAW])
    slow = _notebook(tmp_path / "slow.ipynb", ["import time\nfor _ in range(1200): time.sleep(0.1)"])
    rc, log, rep = _run(["--out", tmp_path / "out", "--keep-going", "--change", "pick=b", "--redraw-timeout", "5",
                         bad, good, stuck, slow], tmp_path,
                        sigterm_after=lambda text: f"{slow}: open with an idle kernel" in text)
    assert rc == 130, log
    fails = {l.split("FAIL: ", 1)[1].split(": ", 1)[0]: l for l in log.splitlines() if "] FAIL: " in l}
    assert set(fails) == {str(bad), str(stuck)}, log
    for cell, what in ((1, "a plotly figure's repr"), (2, "a plotly figure's repr"), (4, "a widget did not render"),
                       (5, 'a table cell cut with "..."'), (6, "overlapping titles in a figure"),
                       (7, 'a label ending in ")" with no "("'), (8, "a widget label cut by its box"),
                       (8, "a hint cut by its input box"), (9, "2 traces squeezed into"), (10, "a table cell cut by its box"),
                       (12, "raised ValueError: boom")):
        assert re.search(rf"cell {cell}\b", fails[str(bad)]), f"cell {cell} not reported:\n{log}"
        assert what in fails[str(bad)], f"cell {cell}: {what!r} not reported:\n{log}"
    for fine in (0, 3, 11):
        assert not re.search(rf"cell {fine}\b", fails[str(bad)]), fails[str(bad)]
    assert "'pick' from 'a' to 'b' did not redraw a figure" in fails[str(stuck)], log
    assert f"{good}: 'pick' 'a' -> 'b' redrew 1 figure(s)" in log, log
    assert [r["notebook"] for r in rep["results"]] == [str(good)]
    for name in ("bad-failure.png", "bad-console.log", "no_redraw-failure.png", "figure_widget-cell.png",
                 "slow-failure.png"):
        assert (tmp_path / "out" / name).exists(), name
    assert len(rep["pids"]) >= 4, rep        # JupyterLab, its kernels, Playwright's driver and Chromium at least
    _nothing_left(rep)
