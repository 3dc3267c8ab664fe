"""Helpers several test files share: a `nasloss` run in its own process group, child processes read from /proc,
waiting for stored parts, and the browser check (tools/browser_check.py) with its skip-or-fail rule"""
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).parent / "nasloss"
CROSS_MACHINE = 0.03   # |delta| of a trial's rank correlations between two CPU kinds: 1.5x the largest of 63 rows; of 1,200 more (fig2 vs fig3), the largest is 0.0286 (GUIDE, Reliability)


def nasloss(command: str, cfg_path, out, *extra) -> subprocess.Popen:
    "`nasloss study|search CFG --out OUT --quiet` in its own process group, so a Ctrl-C to the group reaches only it"
    # SIGINT back to its default in the child: a suite started in the background (nohup, `cmd &`) hands its
    # children an ignored SIGINT, which Python then keeps ignoring, as it should for a user's background job
    return subprocess.Popen([str(EXE), command, str(cfg_path), "--out", str(out), "--quiet", *map(str, extra)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def children(pid: int) -> list[int]:
    "Process ids whose parent is `pid` (Linux /proc)"
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit(): continue
        try: stat = (d / "stat").read_text()
        except OSError: continue
        if int(stat.rsplit(") ", 1)[1].split()[1]) == pid: out.append(int(d.name))
    return out


def alive(pid: int) -> bool:
    "Whether process `pid` runs (a zombie counts as ended)"
    try: return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except OSError: return False


def wait_parts(out: Path, n: int, procs, timeout: float = 300) -> None:
    "Wait until `out/parts` holds `n` stored parts, a process of `procs` ends, or `timeout` seconds pass"
    deadline = time.time() + timeout
    while time.time() < deadline and len(list((Path(out) / "parts").glob("*.parquet"))) < n and all(p.poll() is None for p in procs):
        time.sleep(0.05)


def browser_check():
    "tools/browser_check.py as a module (loaded once per process)"
    spec = importlib.util.spec_from_file_location("browser_check", REPO / "tools" / "browser_check.py")
    bc = sys.modules.setdefault("browser_check", importlib.util.module_from_spec(spec))
    if not hasattr(bc, "find_chromium"): spec.loader.exec_module(bc)
    return bc


INSTALL = ("install them with `.venv/bin/pip install -c constraints.txt -e '.[dev]'` (Playwright for Python; "
           "never `playwright install`) and `apt-get install -y chromium` (Debian; or set NASLOSS_CHROMIUM)")


def need_browser() -> None:
    "Skip without Playwright or Chromium; fail instead when NASLOSS_BROWSER=required (as in CI)"
    missing = []
    if importlib.util.find_spec("playwright") is None: missing.append("Playwright for Python")
    if browser_check().find_chromium() is None: missing.append("Chromium (/usr/bin/chromium)")
    if missing:
        msg = f"{' and '.join(missing)} not found: {INSTALL}"
        if os.environ.get("NASLOSS_BROWSER") == "required": pytest.fail(f"NASLOSS_BROWSER=required, but {msg}")
        pytest.skip(msg)
