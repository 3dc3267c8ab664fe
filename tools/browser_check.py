#!/usr/bin/env python3
"""Run notebooks in a real JupyterLab in a real (headless) Chromium, change a widget, check the figure changed.

    python tools/browser_check.py --out docs/screenshots [notebook ...]

With no notebook, every notebook of TARGETS below is checked. For each notebook it:
  1. opens it in JupyterLab and runs all cells (the notebook is copied first: nothing in nbs/ is written);
  2. fails if a cell shows an error (traceback, an error on stderr), a figure's or widget's repr as text
     (`Figure({...`, a list of dicts) instead of the figure, or a widget that did not render
     ("Error displaying widget", "Loading widget..." that never ends), or a plotly figure that did not draw;
     and if text a person reads is not readable in full (JS_TEXT_DEFECTS): a table cell cut with "..." or by its
     box, titles of a figure drawn over each other or cut at its edge, a label ending in ")" with no "(", a widget
     label or input hint cut by its box, or two or more lines squeezed into under 3% of their y axis (past each line's
     first quarter) so that every one looks flat (checked again after every widget change);
  3. for a notebook in TARGETS: in the cell that shows its explorer, sets each widget (found by its ipywidgets
     `description` label) to a new value, and fails unless a plotly figure of that cell is redrawn (compared
     by the data and layout the browser holds), with the expected title when one is given (a button's change can
     also wait for a text its cell shows when the work it started is done: `Change.done`); a target with `upto`
     runs only the cells up to its explorer (its "Explore" section), not the tests below it;
  4. saves screenshots: NAME.png (JupyterLab with the explorer's cell in view) and NAME-cell.png (that cell),
     and on failure NAME-failure.png, NAME-console.log (browser console) and jupyterlab.log.

Everything started here (JupyterLab, its kernels, Chromium and Playwright's driver) is stopped on the way
out, also on failure, Ctrl-C or SIGTERM. JupyterLab runs on 127.0.0.1 on a free port with a random token,
with JUPYTER_CONFIG_DIR / JUPYTER_DATA_DIR / JUPYTER_RUNTIME_DIR / IPYTHONDIR in a temporary folder.

Needs Playwright for Python (`pip install playwright`; its driver is bundled, no `playwright install`) and
a Chromium: Debian's `apt-get install chromium` (/usr/bin/chromium), or set NASLOSS_CHROMIUM to another one.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Change:
    widget: str               # the ipywidgets `description` of the control to set (a Button: its text)
    value: object             # its new value: an option or toggle-button label, a number, a bool, a text
                              # (for a Button: ignored, it is pressed)
    figure: str | None = None  # text the changed figure's title or subplot titles must hold afterwards
                               # (None: any plotly figure of the widget's cell must change)
    redraws: bool = True       # False: only set it (e.g. before pressing a button); its shown value is checked
    done: str | None = None    # text the widget's cell shows once the work it started has ended (ipykernel 7 may say
                               # "idle" while a widget's callback still runs, e.g. a trial that a button trains)


@dataclass(frozen=True)
class Target:
    notebook: str                       # path from the repository root
    cell: str | None = None             # a text of the source of the cell that shows the widgets
                                        # (None: the first cell showing the first widget)
    changes: tuple[Change, ...] = ()    # done in order; each must redraw a figure of that cell
    source: str | None = None           # a notebook from outside nbs/: copied into the workspace as `notebook`
    upto: bool = False                  # run only the cells up to and including `cell` (its "Explore" section),
                                        # not its tests below: for a notebook whose tests train for a minute


# notebook, the cell showing the explorer (its "Explore" cell), then (widget by description label, new value, figure that must change)
TARGETS = [
    Target("nbs/04_losses.ipynb", cell="loss_explorer(loss=", changes=(   # shown as PW (A) vs WARP (B)
        Change("n_train", 20, figure="pw: loss"),          # PW's context: back in its warm-up phase
        Change("switch_at", 10, figure="pw: loss"),        # a PW hyperparameter: now past the switch again
        Change("loss B", "listmle", figure="listmle: loss"),  # another loss beside it
    )),
    Target("nbs/06_metrics.ipynb", cell="metric_explorer()", changes=(
        Change("damage", "noise"),                          # its mark moves to the noise row
        Change("amount", 8),
    )),
    Target("nbs/07_train.ipynb", cell='trial_explorer("nbgraph"', upto=True, changes=(   # the same explorer, opened at the top
        Change("space", "toy", redraws=False), Change("portion %", 50, redraws=False),   # of the notebook of `fit`
        Change("epochs", 10, redraws=False),
        Change("train", "press", figure="training loss", done="run 1 finished"),
    )),
    Target("nbs/09_study.ipynb", cell='trial_explorer("nbgraph"', upto=True, changes=(   # its tests train ~40 s: nbdev_test's
        Change("space", "toy", redraws=False),              # 27 cells: the check is the history, not the training
        Change("portion %", 50, redraws=False), Change("epochs", 15, redraws=False),
        Change("train", "press", figure="training loss", done="run 1 finished"),   # loss and held-out tau per epoch, a table row
        Change("loss", "warp", redraws=False),
        Change("train", "press", figure="training loss", done="run 2 finished"),   # run 2 joins run 1 on the same axes
    )),
    Target("nbs/12_report.ipynb", cell="results_explorer(load_studies(", changes=(
        Change("metric", "kendall_tau", figure="kendall_tau"),
        Change("view", "P@T and N@K"),
        Change("study", "fig3", figure="against the training size"),   # a study of sizes opens in the sizes view
        Change("view", "bars", figure="kendall_tau"),                  # 20 settings: one size per space, said so
        Change("study", "table1", figure="MLP (AP)"),                  # which column is which predictor
    )),
    Target("nbs/13_search.ipynb", cell="search_panel(", upto=True, changes=(     # driven by its visible controls only: a
        Change("space", "toy", redraws=False), Change("methods", "random", redraws=False),   # tiny search, then its
        Change("budget", 12, redraws=False), Change("runs", 2, redraws=False),              # regret figure
                                                                    # (a control already so is left as it is)
        Change("run", "press", done="done"),
    )),
    Target("nbs/15a_darts_train.ipynb", cell='darts_explorer("DARTS-V2"', upto=True, changes=(   # a tiny DARTS training:
        Change("epochs", 2, redraws=False), Change("train images", 1024, redraws=False),     # 64 steps on 1,024 images
        Change("use cache", False, redraws=False),                                           # trained here, not read
        Change("train", "press", figure="validation accuracy", done="run 1 finished"),
        Change("genotype", "every edge max_pool_3x3", redraws=False),
        Change("train", "press", figure="validation accuracy", done="run 2 finished"),       # run 2 beside run 1
    )),
]

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# text that must not be shown as a cell's output
ERROR_TEXT = re.compile(r"Traceback \(most recent call last\)|\b[A-Z]\w*(Error|Exception)\b(?!\w)")
REPR_TEXT = [
    (re.compile(r"\b(Figure|FigureWidget)\(\{"), "a plotly figure's repr"),
    (re.compile(r"^\s*\[\s*(Figure|FigureWidget)\("), "a list of figures' repr"),
    (re.compile(r"^\s*\[\s*\{\s*['\"](data|layout|frames)['\"]\s*:"), "a list of figure dicts"),
    (re.compile(r"<plotly\.graph_objs\.\w+ object at 0x"), "a plotly object's repr"),
    (re.compile(r"^\s*(VBox|HBox|Box|Dropdown|IntSlider|FloatSlider|Output|Tab|GridBox|AppLayout)\((children|options|value|layout|outputs)="),
     "an ipywidget's repr (its JavaScript did not render)"),
]
STUCK_WIDGET_TEXT = ("Error displaying widget", "Loading widget...", "Failed to load model class",
                     "Error creating view")
PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


class CheckFailed(Exception):
    "A notebook failed a check: the message names the notebook and what was missing"


class Interrupted(BaseException):
    "SIGTERM / SIGHUP: unwinds like Ctrl-C so that every `finally` stops what it started"


_stopping = []


def _on_signal(signum, frame):
    "The first SIGTERM / SIGHUP unwinds (cleaning up on the way); later ones must not break off that cleanup"
    if not _stopping:
        _stopping.append(signum)
        raise Interrupted(f"interrupted by signal {signum}")


# ---------------------------------------------------------------- processes

def _proc_start(pid: int) -> str | None:
    "Start time of a process (field 22 of /proc/PID/stat), to tell it from a later one with the same id"
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def descendants(pid: int) -> dict[int, str]:
    "Every living descendant of `pid` (children, grandchildren...) -> its start time (Linux /proc)"
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d.name))
    out, todo = {}, [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            st = _proc_start(c)
            if st is not None and c not in out:
                out[c] = st
                todo.append(c)
    return out


def alive(pids: dict[int, str]) -> list[int]:
    "Which of the recorded processes still run (same id and same start time; zombies count as gone)"
    live = []
    for pid, st in pids.items():
        if _proc_start(pid) == st:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                live.append(pid)
    return live


def kill_recorded(pids: dict[int, str], grace: float = 5.0) -> list[int]:
    "SIGTERM, then SIGKILL after `grace` s, each recorded process still running; returns those it had to kill"
    left = alive(pids)
    for pid in left:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    end = time.monotonic() + grace
    while alive({p: pids[p] for p in left}) and time.monotonic() < end:
        time.sleep(0.1)
    for pid in alive({p: pids[p] for p in left}):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


def mentioning(text: str) -> dict[int, str]:
    "Processes whose command line mentions `text` (our temporary folder): catches those that left our tree"
    out = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            try:
                if text.encode() in (d / "cmdline").read_bytes():
                    st = _proc_start(int(d.name))
                    if st:
                        out[int(d.name)] = st
            except OSError:
                pass
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- JupyterLab

class Lab:
    "A headless JupyterLab on 127.0.0.1 with a token, in a temporary workspace holding copies of the notebooks"

    def __init__(self, tmp: Path, log: callable):
        self.tmp, self.log = tmp, log
        self.root = tmp / "root"
        self.proc: subprocess.Popen | None = None
        self.token = secrets.token_hex(24)
        self.port = 0
        self.pids: dict[int, str] = {}      # every process of JupyterLab's seen (kernels included)
        self.logfile = tmp / "jupyterlab.log"

    # -- workspace: copies of nbs/, data/ and experiments/ (JupyterLab may write outputs and checkpoints, a
    #    notebook may write results, and the notebooks' own `nbdev_export()` cell writes a library next to
    #    settings.ini): nothing in the checkout is written
    def prepare(self, targets=()):
        self.root.mkdir(parents=True)
        shutil.copytree(REPO / "nbs", self.root / "nbs", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        for t in targets:
            if t.source:
                shutil.copy2(t.source, self.root / t.notebook)
        for f in ("settings.ini", "setup.py", "pyproject.toml", "README.md"):
            if (REPO / f).exists():
                shutil.copy2(REPO / f, self.root / f)
        for d in ("data", "experiments"):   # copies, not links: a notebook writing there must not write the repo
            if (REPO / d).is_dir():
                shutil.copytree(REPO / d, self.root / d, ignore=shutil.ignore_patterns("parts", ".ipynb_checkpoints"))
        settings = self.tmp / "lab-settings"
        for plugin, values in {
            "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},   # every cell in the DOM
            "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
            "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        }.items():
            p = settings / f"{plugin}.jupyterlab-settings"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(json.dumps(values))
        self.env = dict(os.environ)
        for k, sub in (("JUPYTER_CONFIG_DIR", "jupyter-config"), ("JUPYTER_DATA_DIR", "jupyter-data"),
                       ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"), ("IPYTHONDIR", "ipython")):
            (self.tmp / sub).mkdir()
            self.env[k] = str(self.tmp / sub)
        self.env["JUPYTER_PLATFORM_DIRS"] = "1"
        self.env.pop("JUPYTER_PATH", None)
        self.env.pop("JUPYTER_TOKEN", None)
        self.env.setdefault("NASLOSS_DATA", str(REPO.parent / "shared" / "data"))
        self.settings_dir = settings

    def start(self, timeout: float):
        for attempt in range(3):
            self.port = free_port()
            cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
                   "--port-retries=0", f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
                   "--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={self.settings_dir}",
                   f"--LabApp.workspaces_dir={self.tmp / 'lab-workspaces'}", "--ServerApp.open_browser=False",
                   "--LabApp.news_url=", "--ServerApp.log_level=INFO"]
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                cmd.append("--allow-root")
            with open(self.logfile, "ab") as logf:
                self.proc = subprocess.Popen(cmd, cwd=self.root, env=self.env, stdout=logf, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, start_new_session=True)
            self.pids[self.proc.pid] = _proc_start(self.proc.pid) or ""
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                if self.proc.poll() is not None:
                    break
                try:
                    self.api("GET", "/api/status", timeout=5)
                    self.log(f"JupyterLab up on 127.0.0.1:{self.port} (pid {self.proc.pid})")
                    return
                except OSError:
                    time.sleep(0.5)
            else:
                raise CheckFailed(f"JupyterLab did not answer on 127.0.0.1:{self.port} within {timeout:.0f} s; "
                                  f"its log:\n{self.log_tail()}")
            if "address already in use" not in self.log_tail().lower():
                raise CheckFailed(f"JupyterLab exited with code {self.proc.returncode} at start; its log:\n{self.log_tail()}")
            self.log(f"port {self.port} taken, retrying")
        raise CheckFailed("JupyterLab found no free port in 3 tries")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def api(self, method: str, path: str, timeout: float = 10):
        req = urllib.request.Request(self.url(path), method=method,
                                     headers={"Authorization": f"token {self.token}"},
                                     data=b"" if method in ("POST",) else None)
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
        return json.loads(body) if body else None

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-n:]
        except OSError:
            return "<no log>"

    def shutdown_kernels(self):
        "Shut down every kernel (between notebooks: one torch-importing kernel at a time)"
        self.remember_children()
        try:
            for k in self.api("GET", "/api/sessions", timeout=10) or []:
                self.api("DELETE", f"/api/sessions/{k['id']}", timeout=30)
            for k in self.api("GET", "/api/kernels", timeout=10) or []:
                self.api("DELETE", f"/api/kernels/{k['id']}", timeout=30)
        except Exception as e:  # noqa: BLE001 - stop() kills them anyway
            self.log(f"could not shut the kernels down through the API: {e!r}")

    def remember_children(self):
        "Record JupyterLab's kernels (they run in sessions of their own, so killing its group misses them)"
        if self.proc is not None:
            self.pids.update(descendants(self.proc.pid))

    def stop(self):
        if self.proc is None:
            return
        self.remember_children()
        if self.proc.poll() is None:
            try:  # the polite way first: kernels, then the server
                for k in self.api("GET", "/api/kernels", timeout=5) or []:
                    self.api("DELETE", f"/api/kernels/{k['id']}", timeout=15)
                self.api("POST", "/api/shutdown", timeout=10)
            except Exception as e:  # noqa: BLE001 - fall through to signals
                self.log(f"JupyterLab's shutdown API failed ({e!r}); using signals")
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGTERM)
                    self.proc.wait(10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(self.proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    self.proc.wait(5)
        left = kill_recorded(self.pids)
        if left:
            self.log(f"killed leftover JupyterLab processes {left}")


# ---------------------------------------------------------------- the browser side (JavaScript run in the page)

JS_APP_READY = """(path) => {
  const app = window.jupyterapp; if (!app || !app.shell) return 'no jupyterapp';
  const w = app.shell.currentWidget;
  if (!w || !w.context || w.context.path !== path) return 'notebook not open: ' + (w && w.context ? w.context.path : w && w.id);
  if (!w.content || !w.context.isReady) return 'notebook not loaded';
  const s = w.sessionContext;
  if (!s || !s.session || !s.session.kernel) return 'no kernel';
  if (s.session.kernel.status !== 'idle') return 'kernel ' + s.session.kernel.status;
  return 'ready';
}"""

JS_DIALOG = """() => { const d = document.querySelector('.jp-Dialog');
  return d ? (d.innerText || '').replace(/\\s+/g, ' ').trim().slice(0, 300) : null; }"""

JS_RUN_ALL = """() => {
  const app = window.jupyterapp;
  window.__bc_run = null; window.__bc_kstates = [];
  app.shell.currentWidget.sessionContext.statusChanged.connect((_, st) => window.__bc_kstates.push(st));
  Promise.resolve(app.commands.execute('notebook:run-all-cells')).then(
     r => { window.__bc_run = {ok: r !== false}; }, e => { window.__bc_run = {error: String(e)}; });
}"""

JS_RUN_UPTO = """(text) => {
  const app = window.jupyterapp, w = app.shell.currentWidget;
  const i = w.content.widgets.findIndex(c => c.model.type === 'code' && c.model.sharedModel.getSource().includes(text)
      && !/^\\s*#\\|\\s*export/.test(c.model.sharedModel.getSource()));
  if (i < 0) return -1;
  window.__bc_run = null; window.__bc_kstates = [];
  w.sessionContext.statusChanged.connect((_, st) => window.__bc_kstates.push(st));
  const last = i + 1 >= w.content.widgets.length;
  if (!last) w.content.activeCellIndex = i + 1;       // 'run all above' runs every cell before the active one
  Promise.resolve(app.commands.execute(last ? 'notebook:run-all-cells' : 'notebook:run-all-above')).then(
     r => { window.__bc_run = {ok: r !== false}; }, e => { window.__bc_run = {error: String(e)}; });
  return i;
}"""

JS_STATE = """() => {
  const w = window.jupyterapp.shell.currentWidget, s = w.sessionContext;
  const cells = w.content.widgets.map((c, i) => {
    const m = c.model, code = m.type === 'code';
    return {i, type: m.type, src: m.sharedModel.getSource().split('\\n').filter(l => l.trim())[0] || '',
            count: code ? m.executionCount : null, state: code ? (m.executionState || null) : null,
            outputs: code ? m.outputs.toJSON().map(o => ({
              type: o.output_type, name: o.name || null, ename: o.ename || null, evalue: o.evalue || null,
              mimes: o.data ? Object.keys(o.data) : [],
              text: String(o.text || (o.data && o.data['text/plain']) || '').slice(0, 3000)})) : []};
  });
  return {kernel: s.session && s.session.kernel ? s.session.kernel.status : 'none', run: window.__bc_run, cells,
          kstates: window.__bc_kstates || []};
}"""

# rendered outputs, in the DOM (this sees inside ipywidgets Output widgets, which the notebook model does not)
JS_DOM = """(stuck) => {
  const w = window.jupyterapp.shell.currentWidget;
  const cells = Array.from(w.content.node.querySelectorAll('.jp-Cell'));
  const out = [];
  cells.forEach((cell, i) => {
    cell.querySelectorAll('.jp-OutputArea-output').forEach(o => {
      const mime = o.getAttribute('data-mime-type') || '';
      out.push({cell: i, mime, text: (o.innerText || '').slice(0, 3000),
                stuck: stuck.filter(s => (o.innerText || '').includes(s))});
    });
  });
  const plots = Array.from(w.content.node.querySelectorAll('.js-plotly-plot')).map(p => ({
      cell: cells.indexOf(p.closest('.jp-Cell')), drawn: !!(p._fullLayout && p.querySelector('.main-svg')),
      w: p.getBoundingClientRect().width, h: p.getBoundingClientRect().height}));
  // per cell: how many of its own outputs are drawn ipywidgets views (a view holds a .jupyter-widgets element)
  const widgets = cells.map(cell => Array.from(cell.querySelectorAll('.jp-OutputArea-output'))
      .filter(o => o.parentElement.closest('.jp-OutputArea-output') === null)          // the cell's own outputs
      .filter(o => o.matches('.jupyter-widgets') || o.querySelector(':scope > .jupyter-widgets')).length);
  return {outputs: out, plots, widgets};
}"""

# a fingerprint of what the outputs show (text, figures and their data sizes): equal twice = the front end has caught up
JS_SHOWN = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const outs = Array.from(w.content.node.querySelectorAll('.jp-OutputArea-output'));
  const plots = Array.from(w.content.node.querySelectorAll('.js-plotly-plot'))
    .map(p => (p.data || []).map(d => (d.x || []).length + ':' + (d.y || []).length).join(','));
  return outs.length + '|' + outs.reduce((n, o) => n + (o.innerText || '').length, 0) + '|' + plots.join(';');
}"""

JS_CELL_TEXT = """(i) => (document.querySelectorAll('.jp-Notebook .jp-Cell')[i] || {}).innerText || ''"""

JS_FIND_CELL = """(text) => {
  const w = window.jupyterapp.shell.currentWidget;
  const i = w.content.widgets.findIndex(c => c.model.type === 'code' && c.model.sharedModel.getSource().includes(text)
      && !/^\\s*#\\|\\s*export/.test(c.model.sharedModel.getSource()));
  return i;
}"""

JS_FIND_WIDGET = """([desc, cellIndex]) => {
  const w = window.jupyterapp.shell.currentWidget;
  document.querySelectorAll('[data-bc-target]').forEach(e => e.removeAttribute('data-bc-target'));
  const cells = Array.from(w.content.node.querySelectorAll('.jp-Cell'));
  const root = cellIndex === null ? w.content.node : cells[cellIndex];
  const labels = Array.from(root.querySelectorAll('.jp-OutputArea .widget-label, .jp-OutputArea .widget-label-basic'))
     .filter(l => (l.textContent || '').trim() === desc);
  if (!labels.length) {      // a Button shows its description as its text, with no label
    const buttons = Array.from(root.querySelectorAll('.jp-OutputArea button.widget-button'))
       .filter(b => (b.textContent || '').trim() === desc);
    if (!buttons.length) return {found: 0};
    buttons[0].setAttribute('data-bc-target', '1');
    return {found: buttons.length, kind: 'button', cls: buttons[0].className,
            cell: cells.indexOf(buttons[0].closest('.jp-Cell')), current: null};
  }
  const box = labels[0].parentElement;     // an ipywidgets 8 control: its description label is a direct child
  box.setAttribute('data-bc-target', '1');
  const cls = box.className;
  const kind = cls.includes('widget-dropdown') ? 'dropdown' : cls.includes('widget-slider') ? 'slider'
    : cls.includes('widget-checkbox') ? 'checkbox' : cls.includes('widget-toggle-buttons') ? 'toggle'
    : cls.includes('widget-radio') ? 'radio' : cls.includes('widget-select') ? 'select'
    : (box.querySelector('input, textarea') ? 'text' : 'unknown');
  const sel = box.querySelector('select'), inp = box.querySelector('input, textarea'), ro = box.querySelector('.widget-readout');
  const on = box.querySelector('button.mod-active, input[type=radio]:checked');
  const current = sel ? (sel.selectedOptions[0] ? sel.selectedOptions[0].textContent : null)
    : ro ? ro.textContent : inp ? (inp.type === 'checkbox' ? String(inp.checked) : inp.value)
    : on ? (on.textContent || (on.parentElement && on.parentElement.textContent) || '').trim() : null;
  return {found: labels.length, kind, cls, cell: cells.indexOf(box.closest('.jp-Cell')), current};
}"""

JS_FIGURES = """(cellIndex) => {
  const w = window.jupyterapp.shell.currentWidget;
  const cells = Array.from(w.content.node.querySelectorAll('.jp-Cell'));
  const skip = (k, v) => (k.startsWith('_') || k === 'uid') ? undefined : (ArrayBuffer.isView(v) ? Array.from(v) : v);
  const text = t => typeof t === 'string' ? t : (t && t.text) || '';
  const titles = p => { const l = p.layout || {};     // as the figure was given (no 'Click to enter' placeholders)
    return [text(l.title), ...(l.annotations || []).map(a => text(a.text !== undefined ? a.text : a))].filter(t => t); };
  return Array.from(cells[cellIndex].querySelectorAll('.js-plotly-plot'))
    .map(p => ({titles: titles(p), traces: (p.data || []).length, drawn: !!(p._fullLayout && p.querySelector('.main-svg')),
                sig: JSON.stringify({data: p.data || [], layout: p.layout || {}}, skip)}));
}"""


# what a script can see of text a person cannot read: cut with "...", drawn over other text, cut at a figure's edge,
# a label that ends in ")" with no "(" (its start or middle was cut off), a widget label or hint cut by its box
JS_TEXT_DEFECTS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const cells = Array.from(w.content.node.querySelectorAll('.jp-Cell'));
  const cellOf = e => cells.indexOf(e.closest('.jp-Cell'));
  const txt = e => (e.textContent || '').replace(/\\s+/g, ' ').trim();
  const out = [];
  w.content.node.querySelectorAll('.jp-OutputArea td, .jp-OutputArea th').forEach(td => {
    const t = txt(td);
    if (t.length > 3 && /(\\.\\.\\.|\u2026)$/.test(t)) out.push({cell: cellOf(td), kind: 'a table cell cut with "..."', text: t.slice(-70)});
  });
  w.content.node.querySelectorAll('.js-plotly-plot').forEach(p => {
    const svg = p.querySelector('.main-svg'); if (!svg) return;
    const box = svg.getBoundingClientRect(), i = cellOf(p);
    const items = Array.from(p.querySelectorAll('text.annotation-text, text.gtitle, text.gtitle-subtitle, text[class$="title"]'))
      .map(e => ({e, t: txt(e), r: e.getBoundingClientRect()})).filter(a => a.t && a.r.width > 0 && a.r.height > 0);
    const seen = new Set();
    items.forEach(a => {
      if (seen.has(a.e)) return; seen.add(a.e);
      if (a.r.left < box.left - 1 || a.r.right > box.right + 1 || a.r.top < box.top - 1 || a.r.bottom > box.bottom + 1)
        out.push({cell: i, kind: 'text cut at the edge of a figure', text: a.t});
      if (/\\)$/.test(a.t) && !a.t.includes('(')) out.push({cell: i, kind: 'a label ending in ")" with no "(" (cut?)', text: a.t});
    });
    const uniq = items.filter((a, k) => items.findIndex(b => b.e === a.e) === k);
    for (let x = 0; x < uniq.length; x++) for (let y = x + 1; y < uniq.length; y++) {
      const a = uniq[x].r, b = uniq[y].r;
      const ox = Math.min(a.right, b.right) - Math.max(a.left, b.left), oy = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (ox > 2 && oy > 2) out.push({cell: i, kind: 'overlapping titles in a figure', text: uniq[x].t + ' | ' + uniq[y].t});
    }
  });
  // the bulk of the lines (each line's points after its first quarter, where a search's first random queries sit) of
  // two or more lines on one y axis filling under 3% of that axis: every line looks flat (Fig. 7's defect)
  w.content.node.querySelectorAll('.js-plotly-plot').forEach(p => {
    const fl = p._fullLayout, fd = p._fullData; if (!fl || !fd) return;
    const groups = {};
    fd.forEach(t => {
      if (t.visible !== true || (t.type !== 'scatter' && t.type !== 'scattergl')) return;
      const ys = Array.from(t.y || [], Number).filter(Number.isFinite);
      if (ys.length < 3) return;
      const ya = t.yaxis || 'y';
      (groups[ya] = groups[ya] || []).push(ys.slice(Math.ceil(ys.length / 4)));
    });
    Object.entries(groups).forEach(([ya, tails]) => {
      const ax = fl['yaxis' + ya.slice(1)];
      if (tails.length < 2 || !ax || !ax.range || ax.type === 'category' || ax.type === 'date') return;
      const f = ax.type === 'log' ? (v => v > 0 ? Math.log10(v) : NaN) : (v => v);
      const vals = tails.flat().map(f).filter(Number.isFinite), span = Math.abs(Number(ax.range[1]) - Number(ax.range[0]));
      if (!vals.length || !(span > 0)) return;
      const share = (Math.max(...vals) - Math.min(...vals)) / span;
      const name = (ax.title && ax.title.text) || (fl.title && fl.title.text) || ya;
      if (share < 0.03) out.push({cell: cellOf(p), kind: `${tails.length} traces squeezed into ${(100 * share).toFixed(1)}% of the y range`, text: name});
    });
  });
  w.content.node.querySelectorAll('.jp-OutputArea td, .jp-OutputArea th').forEach(td => {
    const st = getComputedStyle(td);
    if (td.scrollWidth > td.clientWidth + 1 && (st.textOverflow === 'ellipsis' || /hidden|clip/.test(st.overflowX)))
      out.push({cell: cellOf(td), kind: 'a table cell cut by its box', text: txt(td).slice(0, 70)});
  });
  const ctx = document.createElement('canvas').getContext('2d');
  w.content.node.querySelectorAll('.jp-OutputArea .widget-label, .jp-OutputArea .widget-label-basic').forEach(l => {
    if (l.offsetParent !== null && l.scrollWidth > l.clientWidth + 1) out.push({cell: cellOf(l), kind: 'a widget label cut by its box', text: txt(l)});
  });
  w.content.node.querySelectorAll('.jp-OutputArea input[placeholder], .jp-OutputArea textarea[placeholder]').forEach(e => {
    if (e.offsetParent === null || e.value || !e.placeholder) return;
    const s = getComputedStyle(e); ctx.font = s.font || (s.fontSize + ' ' + s.fontFamily);
    const room = e.clientWidth - parseFloat(s.paddingLeft || 0) - parseFloat(s.paddingRight || 0);
    if (ctx.measureText(e.placeholder).width > room + 1) out.push({cell: cellOf(e), kind: 'a hint cut by its input box', text: e.placeholder});
  });
  return out;
}"""


def text_defects(page) -> list[str]:
    "Text a person cannot read in full, as the browser lays it out (see JS_TEXT_DEFECTS), one message per case"
    out = []
    for d in page.evaluate(JS_TEXT_DEFECTS):
        msg = f"cell {d['cell']}: {d['kind']}: {_first(d['text'], 140)!r}"
        if msg not in out:
            out.append(msg)
    return out


# ---------------------------------------------------------------- checks of one notebook

def _plain(text) -> str:
    "A shown text with no-break spaces as spaces (ipywidgets shows an option's spaces so), stripped"
    return str(text).replace("\xa0", " ").strip()


def _same(shown, value) -> bool:
    "Whether a widget shows `value` (a checkbox shows true / false)"
    if isinstance(value, bool): return _plain(shown).lower() == str(value).lower()
    return _plain(shown) == str(value)


def _first(s: str, n: int = 90) -> str:
    s = s.strip().replace("\n", " ")
    return s if len(s) <= n else s[: n - 3] + "..."


def output_problems(state: dict, dom: dict) -> list[str]:
    "What the user would see wrong: errors, reprs shown instead of figures, widgets or plots not drawn"
    bad = []
    for c in state["cells"]:
        where = f"cell {c['i']} ({_first(c['src'], 60)!r})"
        for o in c["outputs"]:
            if o["type"] == "error":
                bad.append(f"{where} raised {o['ename']}: {_first(o['evalue'] or '', 200)}")
            elif o["type"] == "stream" and o["name"] == "stderr" and ERROR_TEXT.search(o["text"]):
                bad.append(f"{where} printed an error on stderr: {_first(o['text'], 200)!r}")
    raised = {c["i"] for c in state["cells"] if any(o["type"] == "error" for o in c["outputs"])}
    seen = set()
    for o in dom["outputs"]:
        where = f"cell {o['cell']}"
        for s in o["stuck"]:
            bad.append(f"{where}: a widget did not render ({s!r})")
        if o["mime"] == "application/vnd.jupyter.stderr" and o["cell"] not in raised and ERROR_TEXT.search(o["text"]):
            key = (o["cell"], o["text"][:200])
            if key not in seen:
                seen.add(key)
                bad.append(f"{where} shows an error: {_first(o['text'], 200)!r}")
        if o["mime"] in ("text/plain", "application/vnd.jupyter.stdout", "text/markdown"):
            for rx, what in REPR_TEXT:
                if rx.search(o["text"]):
                    bad.append(f"{where} shows {what} as text instead of drawing it: {_first(o['text'], 120)!r}")
                    break
    for c in state["cells"]:
        want = sum(WIDGET_MIME in o["mimes"] for o in c["outputs"])
        got = dom["widgets"][c["i"]] if c["i"] < len(dom["widgets"]) else 0
        if want > got:
            bad.append(f"cell {c['i']} ({_first(c['src'], 60)!r}): {want - got} of its {want} widgets did not render "
                       "(is the ipywidgets / jupyterlab_widgets front end installed?)")
    for c in state["cells"]:
        want = sum(PLOTLY_MIME in o["mimes"] for o in c["outputs"])
        got = sum(p["cell"] == c["i"] for p in dom["plots"])
        if want > got:
            bad.append(f"cell {c['i']} ({_first(c['src'], 60)!r}): {want - got} of its {want} plotly figures are not "
                       "drawn (is the jupyterlab-plotly front end, from the plotly package, installed?)")
    for p in dom["plots"]:
        if not p["drawn"]:
            bad.append(f"cell {p['cell']}: a plotly figure did not draw (no SVG)")
        elif p["w"] < 10 or p["h"] < 10:
            bad.append(f"cell {p['cell']}: a plotly figure has no size ({p['w']:.0f}x{p['h']:.0f} px)")
    return bad


def wait_settled(page, timeout: float, what: str, name: str) -> tuple[dict, dict]:
    "Wait until the kernel is idle, no widget says 'Loading widget...', and every plotly figure is drawn"
    end = time.monotonic() + timeout
    last = ""
    while True:
        state = page.evaluate(JS_STATE)
        dom = page.evaluate(JS_DOM, list(STUCK_WIDGET_TEXT))
        pending = []
        if state["kernel"] != "idle":
            pending.append(f"kernel {state['kernel']}")
        running = [c for c in state["cells"] if c["state"] == "running"]
        if running:
            pending.append(f"cell {running[0]['i']} ({_first(running[0]['src'], 60)!r}) running")
        loading = [o for o in dom["outputs"] if "Loading widget..." in o["stuck"]]
        if loading:
            pending.append(f"cell {loading[0]['cell']}: 'Loading widget...'")
        undrawn = [p for p in dom["plots"] if not p["drawn"]]
        if undrawn:
            pending.append(f"cell {undrawn[0]['cell']}: plotly figure not drawn yet")
        if not pending:
            shown = page.evaluate(JS_SHOWN)
            time.sleep(0.5)   # one more look: a redraw may be starting, or the front end still drawing queued outputs
            state2 = page.evaluate(JS_STATE)
            if state2["kernel"] == "idle" and not any(c["state"] == "running" for c in state2["cells"]) \
                    and page.evaluate(JS_SHOWN) == shown:
                return page.evaluate(JS_STATE), page.evaluate(JS_DOM, list(STUCK_WIDGET_TEXT))
            pending.append("the outputs are still changing")
        last = "; ".join(pending) or last
        if time.monotonic() > end:
            raise CheckFailed(f"{name}: {what}: still not settled after {timeout:.0f} s: {last}")
        time.sleep(0.5)


def set_widget(page, kind: str, value, name: str, desc: str, cls: str = ""):
    box = page.locator("[data-bc-target]")
    if kind in ("dropdown", "select"):
        sel = box.locator("select")
        labels = sel.locator("option").all_inner_texts()     # ipywidgets writes an option's spaces as no-break spaces
        plain = [_plain(s) for s in labels]
        if str(value) not in plain:
            raise CheckFailed(f"{name}: widget {desc!r} has no option {value!r}; options: {plain}")
        sel.select_option(label=labels[plain.index(str(value))].strip())
    elif kind == "slider":
        ro = box.locator(".widget-readout")
        ro.click()
        page.keyboard.press("Control+A")
        page.keyboard.type(str(value))
        page.keyboard.press("Enter")
    elif kind == "button":          # the value is ignored: a button is pressed
        box.click()
    elif kind == "checkbox":
        cb = box.locator("input[type=checkbox]")
        if cb.is_checked() != bool(value):
            cb.click()
    elif kind in ("toggle", "radio"):
        box.get_by_text(str(value), exact=True).first.click()
    elif kind == "text":
        inp = box.locator("input, textarea").first
        inp.fill(str(value))
        inp.press("Enter")
    else:
        raise CheckFailed(f"{name}: widget {desc!r} is of a kind this check cannot set ({kind}: class {cls!r})")


def check_notebook(page, lab: Lab, target: Target, out: Path, timeout: float, log, redraw_timeout: float = 90) -> dict:
    name = target.source or target.notebook       # how messages name it
    stem = Path(name).stem
    t0 = time.monotonic()
    page.goto(lab.url(f"/lab/tree/{target.notebook}?reset&token={lab.token}"), wait_until="domcontentloaded", timeout=120_000)
    end = time.monotonic() + 180
    status, dialog_since = "", None
    while time.monotonic() < end:
        status = page.evaluate(JS_APP_READY, target.notebook) if page.evaluate("() => !!window.jupyterapp") else "no jupyterapp"
        if status == "ready":
            break
        dialog = page.evaluate(JS_DIALOG)     # a modal dialog blocks the notebook until someone answers it
        dialog_since = (dialog_since or time.monotonic()) if dialog else None
        if dialog and time.monotonic() - dialog_since > 15:
            hint = (" (the notebook has no kernelspec in its metadata: add {'kernelspec': {'name': 'python3', "
                    "'display_name': 'Python 3', 'language': 'python'}})") if "Select Kernel" in dialog else ""
            raise CheckFailed(f"{name}: JupyterLab asks a question on opening it: {_first(dialog, 70)!r}{hint}")
        time.sleep(0.5)
    else:
        raise CheckFailed(f"{name}: JupyterLab did not open it with an idle kernel within 180 s (last: {status})")
    lab.remember_children()
    t_open = time.monotonic() - t0
    upto = None
    if target.upto and target.cell is not None:
        upto = page.evaluate(JS_RUN_UPTO, target.cell)
        if upto < 0:
            raise CheckFailed(f"{name}: no code cell contains {target.cell!r} (the cell that should show the widgets)")
        log(f"{name}: open with an idle kernel in {t_open:.1f} s; running the cells up to cell {upto} (its explorer)")
    else:
        log(f"{name}: open with an idle kernel in {t_open:.1f} s; running all cells")
        page.evaluate(JS_RUN_ALL)
    end = time.monotonic() + timeout
    while True:
        st = page.evaluate(JS_STATE)
        if st["run"] is not None:
            break
        running = [c for c in st["cells"] if c["state"] == "running"] or \
                  [c for c in st["cells"] if c["type"] == "code" and c["count"] is None]
        where = f"cell {running[0]['i']} ({_first(running[0]['src'], 80)!r})" if running else "?"
        if st["kernel"] in ("dead", "unknown", "none", "autorestarting", "restarting"):
            raise CheckFailed(f"{name}: the kernel is {st['kernel']} (out of memory? crashed?) while running {where}")
        if time.monotonic() > end:
            raise CheckFailed(f"{name}: running all cells took over {timeout:.0f} s; stuck at {where}")
        time.sleep(1)
    state, dom = wait_settled(page, 120, "after running all cells", name)
    lab.remember_children()
    t_run = time.monotonic() - t0 - t_open
    code = [c for c in state["cells"] if c["type"] == "code" and (upto is None or c["i"] <= upto)]
    problems = output_problems(state, dom) + text_defects(page)
    not_run = [c for c in code if c["count"] is None and c["src"]]
    died = [k for k in ("dead", "autorestarting", "restarting") if k in state["kstates"]]
    if died:
        problems.insert(0, f"the kernel died while running all cells (it went {'/'.join(died)}: out of memory? "
                           f"a crash?)" + (f"; from cell {not_run[0]['i']} ({_first(not_run[0]['src'], 60)!r}) "
                                           f"nothing ran" if not_run else ""))
    elif not_run and not problems:
        problems.append(f"{len(not_run)} code cells did not run, from cell {not_run[0]['i']} "
                        f"({_first(not_run[0]['src'], 60)!r})")
    if problems:
        raise CheckFailed(f"{name}: " + "; ".join(problems))
    log(f"{name}: {len(code)} code cells ran in {t_run:.1f} s; {len(dom['plots'])} plotly figures, "
        f"{sum(dom['widgets'])} widget views, no error or repr shown")
    result = {"notebook": name, "open_s": round(t_open, 1), "run_s": round(t_run, 1), "cells": len(code),
              "plots": len(dom["plots"]), "widgets": sum(dom["widgets"]), "screenshots": []}

    widget_cells = [i for i, n in enumerate(dom["widgets"]) if n]      # screenshot: widgets first, else a figure
    shot_cell = widget_cells[0] if widget_cells else dom["plots"][0]["cell"] if dom["plots"] else None
    cell_index = None
    if target.cell is not None:
        cell_index = page.evaluate(JS_FIND_CELL, target.cell)
        if cell_index < 0:
            raise CheckFailed(f"{name}: no code cell contains {target.cell!r} (the cell that should show the widgets)")
        shot_cell = cell_index
    result["changes"] = []
    for ch in target.changes:
        where = f"cell {cell_index} ({target.cell!r})" if cell_index is not None else "the notebook"
        found = page.evaluate(JS_FIND_WIDGET, [ch.widget, cell_index])
        if not found["found"]:
            raise CheckFailed(f"{name}: no widget with description {ch.widget!r} is shown in {where}")
        if found["found"] > 1:
            log(f"{name}: {found['found']} widgets in {where} have description {ch.widget!r}; using the first")
        if found["current"] is not None and _same(found["current"], ch.value) and not ch.redraws:
            log(f"{name}: {ch.widget!r} already shows {ch.value!r}")
            result["changes"].append({"widget": ch.widget, "value": ch.value, "s": 0})
            continue
        if found["current"] is not None and _same(found["current"], ch.value):
            raise CheckFailed(f"{name}: widget {ch.widget!r} already has the value {ch.value!r}: pick another in TARGETS")
        if not ch.redraws:
            set_widget(page, found["kind"], ch.value, name, ch.widget, found["cls"])
            end = time.monotonic() + 10
            while not _same(page.evaluate(JS_FIND_WIDGET, [ch.widget, cell_index])["current"], ch.value):
                if time.monotonic() > end:
                    now = page.evaluate(JS_FIND_WIDGET, [ch.widget, cell_index])["current"]
                    raise CheckFailed(f"{name}: set {found['kind']} {ch.widget!r} to {ch.value!r}, but it shows {now!r}")
                time.sleep(0.2)
            wait_settled(page, 60, f"after setting {ch.widget!r}", name)
            log(f"{name}: {ch.widget!r} {found['current']!r} -> {ch.value!r} (set; no redraw expected)")
            result["changes"].append({"widget": ch.widget, "value": ch.value, "s": 0})
            continue
        before = page.evaluate(JS_FIGURES, found["cell"])
        if not before and found["kind"] != "button":      # a button may draw the cell's first figure (a trial's curves)
            raise CheckFailed(f"{name}: no plotly figure in cell {found['cell']} (the one showing {ch.widget!r}) "
                              "before changing it")
        old_sigs = {f["sig"] for f in before}
        t1 = time.monotonic()
        set_widget(page, found["kind"], ch.value, name, ch.widget, found["cls"])
        deadline, changed = time.monotonic() + redraw_timeout, []
        while True:
            after = page.evaluate(JS_FIGURES, found["cell"])
            changed = [f for f in after if f["drawn"] and f["sig"] not in old_sigs]
            if ch.figure is not None:
                changed = [f for f in changed if any(ch.figure in t for t in f["titles"])]
            if changed and all(f["drawn"] for f in after):
                break
            if time.monotonic() > deadline:
                what = f"a figure titled *{ch.figure}*" if ch.figure else "a figure"
                raise CheckFailed(
                    f"{name}: setting {found['kind']} {ch.widget!r} from {found['current']!r} to {ch.value!r} did not "
                    f"redraw {what} in cell {found['cell']} within {redraw_timeout:.0f} s; its figures now: "
                    f"{[f['titles'][:2] for f in after]}")
            time.sleep(0.3)
        while ch.done is not None and ch.done not in page.evaluate(JS_CELL_TEXT, found["cell"]):
            if time.monotonic() > deadline:
                raise CheckFailed(f"{name}: after {'pressing' if found['kind'] == 'button' else 'setting'} {ch.widget!r}, cell "
                                  f"{found['cell']} did not show {ch.done!r} within {redraw_timeout:.0f} s")
            time.sleep(0.3)
        state, dom = wait_settled(page, 60, f"after setting {ch.widget!r}", name)
        problems = output_problems(state, dom) + text_defects(page)
        if problems:
            raise CheckFailed(f"{name}: after setting {ch.widget!r} to {ch.value!r}: " + "; ".join(problems))
        dt = time.monotonic() - t1
        log(f"{name}: {ch.widget!r} {found['current']!r} -> {ch.value!r} redrew {len(changed)} figure(s) "
            f"in {dt:.1f} s: {[f['titles'][:1] for f in changed]}")
        result["changes"].append({"widget": ch.widget, "value": ch.value, "s": round(dt, 1)})
        shot_cell = found["cell"]

    out.mkdir(parents=True, exist_ok=True)
    cell = page.locator(".jp-Notebook .jp-Cell").nth(shot_cell if shot_cell is not None else 0)
    area = cell.locator(".jp-Cell-outputArea") if shot_cell is not None else cell
    page.evaluate("() => { const a = window.jupyterapp; if (!a.shell.leftCollapsed) a.commands.execute('application:toggle-left-area');"
                  " document.activeElement && document.activeElement.blur(); }")
    page.mouse.move(2, 300)                                     # off the figures: no hover labels, no modebar
    time.sleep(0.5)
    area.evaluate("e => e.scrollIntoView({block: 'start'})")
    time.sleep(0.3)
    page.screenshot(path=str(out / f"{stem}.png"))             # JupyterLab, the explorer at the top of the view
    # the whole output: the notebook scrolls inside the page, so make the page as tall as the output first
    height = area.evaluate("e => e.getBoundingClientRect().height")
    vp = page.viewport_size
    page.set_viewport_size({"width": vp["width"], "height": int(min(max(vp["height"], height + 200), 4000))})
    time.sleep(0.5)
    area.evaluate("e => e.scrollIntoView({block: 'start'})")
    time.sleep(0.3)
    area.screenshot(path=str(out / f"{stem}-cell.png"))
    page.set_viewport_size(vp)
    result["screenshots"] += [str(out / f"{stem}.png"), str(out / f"{stem}-cell.png")]
    log(f"{name}: screenshots {stem}.png, {stem}-cell.png in {out}")
    return result


# ---------------------------------------------------------------- driver

def find_chromium() -> str | None:
    "$NASLOSS_CHROMIUM when set (and only it), else Debian's /usr/bin/chromium or a chromium on PATH"
    if os.environ.get("NASLOSS_CHROMIUM"):
        return os.environ["NASLOSS_CHROMIUM"] if Path(os.environ["NASLOSS_CHROMIUM"]).is_file() else None
    for c in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if c and Path(c).exists():
            return c
    return None


def _save_failure(page, lab: Lab, t: Target, out: Path, console: list[str], log):
    "NAME-failure.png (what the page showed), NAME-console.log (the browser's console) and jupyterlab.log"
    stem = Path(t.source or t.notebook).stem
    try:
        out.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out / f"{stem}-failure.png"))
        (out / f"{stem}-console.log").write_text("\n".join(console) + "\n")
        shutil.copy2(lab.logfile, out / "jupyterlab.log")
        log(f"failure screenshot and logs: {out / (stem + '-failure.png')}, {stem}-console.log, jupyterlab.log")
    except Exception as e:  # noqa: BLE001 - the failure itself is what matters
        log(f"could not save the failure screenshot or logs: {e!r}")


def run(targets: list[Target], out: Path, timeout: float = 300, keep: bool = False, log=print,
        report: dict | None = None, keep_going: bool = False, redraw_timeout: float = 90) -> dict:
    """Check each target in one JupyterLab and one browser; raises CheckFailed (after cleaning up) on the first
    failure, or with keep_going after trying every target. `report` (filled also on failure): per-notebook results, total_s, and the ids of every process
    started (pids) with those still running after cleanup (left_running, normally empty)"""
    from playwright.sync_api import sync_playwright
    chromium = find_chromium()
    if chromium is None:
        raise CheckFailed("no Chromium: `apt-get install -y chromium` (Debian), or set NASLOSS_CHROMIUM")
    old = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    tmp = Path(tempfile.mkdtemp(prefix="nasloss-browser-"))
    lab = Lab(tmp, log)
    mine: dict[int, str] = {}           # Playwright's driver and Chromium
    report = {} if report is None else report
    report.update(results=[], pids={}, tmp=str(tmp))
    t0 = time.monotonic()
    console: list[str] = []
    page = None
    try:
        lab.prepare(targets)
        lab.start(timeout=120)
        with sync_playwright() as pw:
            home = tmp / "chromium-home"     # Chromium's crash database and caches go under $HOME, not ~
            ctx = pw.chromium.launch_persistent_context(
                str(tmp / "chromium-profile"), executable_path=chromium, headless=True, args=CHROMIUM_FLAGS,
                viewport={"width": 1400, "height": 1000}, device_scale_factor=1,
                env={**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                     "XDG_CACHE_HOME": str(home / ".cache")})
            mine.update(descendants(os.getpid()))
            failures = []
            try:
                for t in targets:
                    console.clear()
                    page = ctx.new_page()     # a fresh tab per notebook (closing one skips 'leave page?')
                    page.on("console", lambda m: console.append(f"[{m.type}] {m.text}"))
                    page.on("pageerror", lambda e: console.append(f"[pageerror] {e}"))
                    try:
                        report["results"].append(check_notebook(page, lab, t, out, timeout, log, redraw_timeout))
                    except Exception as e:  # a check, or the browser (a Playwright timeout, a crash)
                        err = e if isinstance(e, CheckFailed) else \
                            CheckFailed(f"{t.source or t.notebook}: {type(e).__name__}: {_first(str(e), 600)}")
                        _save_failure(page, lab, t, out, console, log)
                        if not keep_going:
                            raise err from (None if err is e else e)
                        log(f"FAIL: {err}")
                        failures.append(str(err))
                    except (KeyboardInterrupt, Interrupted):
                        _save_failure(page, lab, t, out, console, log)   # what it was doing when stopped
                        raise
                    finally:
                        lab.shutdown_kernels()
                        page.close()
                if failures:
                    raise CheckFailed(f"{len(failures)} of {len(targets)} notebooks failed:\n  " + "\n  ".join(failures))
            finally:
                mine.update(descendants(os.getpid()))
                try:
                    ctx.close()
                except Exception as e:  # noqa: BLE001
                    log(f"closing Chromium failed: {e!r}")
    finally:
        mine.update({p: s for p, s in descendants(os.getpid()).items() if p != (lab.proc.pid if lab.proc else -1)
                     and p not in lab.pids})
        lab.stop()
        left = kill_recorded({p: s for p, s in mine.items() if p not in lab.pids})
        if left:
            log(f"killed leftover browser processes {left}")
        stray = mentioning(str(tmp))   # e.g. Chromium's crash handler, which detaches from its parent
        if stray:
            mine.update(stray)
            log(f"killed processes still using {tmp}: {kill_recorded(stray)}")
        report["pids"] = {str(p): s for p, s in {**lab.pids, **mine}.items()}
        still = alive({**lab.pids, **mine})
        report["left_running"] = still
        if still:
            log(f"WARNING: processes still running after cleanup: {still}")
        for s, h in old.items():
            signal.signal(s, h)
        if keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        report["total_s"] = round(time.monotonic() - t0, 1)
    return report


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*", help="notebooks (paths from the repo root); default: every target")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots", help="folder for the screenshots")
    ap.add_argument("--timeout", type=float, default=300, help="seconds to run all cells of one notebook")
    ap.add_argument("--report", type=Path, help="write a JSON report (timings, screenshots, process ids) here")
    ap.add_argument("--keep", action="store_true", help="keep the temporary JupyterLab workspace")
    ap.add_argument("--keep-going", action="store_true", help="check every notebook, then report all failures")
    ap.add_argument("--cell", help="for notebooks not in TARGETS: a text of the cell that shows the widgets")
    ap.add_argument("--change", action="append", default=[], metavar="DESCRIPTION=VALUE",
                    help="for notebooks not in TARGETS: set this widget (VALUE as JSON, else as text) and check a "
                         "figure of its cell redraws; repeat for several, done in order")
    ap.add_argument("--set", action="append", default=[], metavar="DESCRIPTION=VALUE",
                    help="like --change, but no redraw is expected (e.g. before a button's --change NAME=press)")
    ap.add_argument("--redraw-timeout", type=float, default=90, help="seconds a widget change may take to redraw")
    a = ap.parse_args(argv)
    changes = []     # in command-line order, --set and --change mixed
    raw = argv if argv is not None else sys.argv[1:]
    pairs = []
    for i, x in enumerate(raw):
        if x in ("--set", "--change") and i + 1 < len(raw):
            pairs.append((x, raw[i + 1]))
        elif x.startswith(("--set=", "--change=")):
            pairs.append(tuple(x.split("=", 1)))
    for opt, c in pairs:
        if "=" not in c:
            ap.error(f"{opt} {c!r}: write DESCRIPTION=VALUE")
        k, v = c.split("=", 1)
        try:
            v = json.loads(v)
        except ValueError:
            pass
        changes.append(Change(k, v, redraws=opt == "--change"))
    by_path = {t.notebook: t for t in TARGETS}
    targets = []
    for nb in a.notebooks or list(by_path):
        p = Path(nb).resolve()
        if not p.is_file():
            ap.error(f"no notebook {nb}")
        try:
            key = f"nbs/{p.relative_to(REPO / 'nbs').as_posix()}"
            targets.append(by_path.get(key, Target(key, cell=a.cell, changes=tuple(changes))))
        except ValueError:   # from elsewhere: run it beside the project's notebooks (same working folder)
            targets.append(Target(f"nbs/_browser_check_{p.name}", cell=a.cell, changes=tuple(changes), source=str(p)))
    report: dict = {}
    try:
        run(targets, a.out.resolve(), timeout=a.timeout, keep=a.keep,
            log=lambda m: print(f"[browser_check] {m}", flush=True), report=report, keep_going=a.keep_going,
            redraw_timeout=a.redraw_timeout)
        rc = 0
    except CheckFailed as e:
        print(f"[browser_check] FAIL: {e}", file=sys.stderr, flush=True)
        rc = 1
    except (KeyboardInterrupt, Interrupted) as e:
        print(f"[browser_check] interrupted ({e or 'Ctrl-C'}); everything started was stopped", file=sys.stderr)
        rc = 130
    if a.report:
        a.report.write_text(json.dumps({**report, "rc": rc}, indent=1))
    if rc == 0:
        print(f"[browser_check] ok: {len(targets)} notebooks in {report.get('total_s')} s", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
