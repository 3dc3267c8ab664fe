"""The documentation site: `tools/build_docs.py` builds every notebook's page offline, then headless Chromium opens
the index and the API pages of `losses` and `search` as a reader would.

The build needs no browser. The Chromium part needs Playwright for Python (dev extras) and Debian's Chromium; without
them it skips, unless NASLOSS_BROWSER=required (as in CI), when it fails (as in tests/test_browser.py).
"""
import configparser
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from shared import browser_check, need_browser

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tools" / "build_docs.py"
bc = browser_check()

# symbols whose documentation the API pages must show: (module, name)
API = [("losses", "loss_fn"), ("losses", "hinge_rank"), ("search", "run_search"), (None, "search_table")]


def _page_of(mod, name):
    "The page and anchor nbdev's symbol index gives `name` (in `mod`, or in whichever module defines it)"
    from nasloss_nb._modidx import d
    hits = [v[0] for m, syms in d["syms"].items() for k, v in syms.items()
            if k == f"{m}.{name}" and (mod is None or m == f"nasloss_nb.{mod}")]
    assert hits, f"nasloss_nb._modidx has no entry for {name} (in {mod or 'any module'}): run nbdev_export"
    return sorted(hits)[0].split("#")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    "The whole site, built once into a temporary folder; README.md must come out of it unchanged"
    out = tmp_path_factory.mktemp("docs") / "_docs"
    readme = (REPO / "README.md").read_bytes()
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], cwd=REPO, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, f"tools/build_docs.py failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    assert (REPO / "README.md").read_bytes() == readme, "building the docs changed README.md"
    print(f"site built in {time.monotonic() - t0:.1f} s")
    return out


def test_every_notebook_has_a_page(site):
    from nbdev.doclinks import _nbpath2html
    nbs = [p for p in (REPO / "nbs").rglob("*.ipynb")      # nbdev's rule: no name starting with _ or . on the way
           if not any(part[0] in "_." for part in p.relative_to(REPO / "nbs").parts)]
    missing = [str(p) for p in nbs if not (site / _nbpath2html(p.relative_to(REPO / "nbs"))).is_file()]
    assert not missing, f"no page for {missing}"
    cfg = configparser.ConfigParser(delimiters=["="])
    cfg.read(REPO / "settings.ini")
    host = cfg["DEFAULT"]["doc_host"]
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert host not in text, f"{page.name} links to doc_host {host}, not within the site"
        remote = re.findall(r'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="(?:https?:)?//[^"]*"', text)
        assert not remote, f"{page.name} loads from the network: {remote[:3]}"


def _broken(url, site):
    "Why a link inside the site is broken (its file, or the element its #anchor names, is missing), or None"
    u = urlparse(url)
    path = Path(unquote(u.path))
    if site not in path.parents:
        return "points outside the site"
    if not path.is_file():
        return "no such file"
    if u.fragment and path.suffix == ".html" and f'id="{u.fragment}"' not in path.read_text():
        return f"no element with id {u.fragment!r}"
    return None


def test_pages_in_chromium(site, tmp_path):
    "Index and API pages load offline with no error; their links and images work; the API is listed"
    need_browser()
    from playwright.sync_api import sync_playwright
    want = {}                                   # page -> symbols (anchors) it must document
    for mod, name in API:
        page, anchor = _page_of(mod, name)
        want.setdefault(page, []).append((name, anchor))
    pages, outside, errors, figures = ["index.html", *want], [], [], 0
    home = tmp_path / "home"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=bc.find_chromium(), headless=True, args=bc.CHROMIUM_FLAGS,
                                     env={**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                                          "XDG_CACHE_HOME": str(home / ".cache")})
        try:
            ctx = browser.new_context(viewport={"width": 1300, "height": 900})
            ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://")
                      else (outside.append(r.request.url), r.abort()))
            for name in pages:
                pg = ctx.new_page()
                pg.on("pageerror", lambda e, n=name: errors.append(f"{n}: {e}"))
                pg.on("console", lambda m, n=name: errors.append(f"{n}: {m.text}") if m.type == "error" else None)
                pg.goto((site / name).as_uri(), wait_until="load")
                assert pg.locator("main h1").inner_text().strip(), f"{name}: no title"
                nav = pg.locator("nav a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
                assert {"index.html", *want} <= set(nav), f"{name}: the sidebar lacks pages: {nav}"
                links = pg.locator("a[href]").evaluate_all("as => as.map(a => a.href)")
                bad = {u: why for u in links if u.startswith("file://") and (why := _broken(u, site))}
                assert not bad, f"{name}: broken links {bad}"
                imgs = pg.locator("main img").evaluate_all(
                    "is => is.map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0 && i.naturalHeight > 0])")
                assert all(ok for _, ok in imgs), f"{name}: images that did not load: {[s for s, ok in imgs if not ok]}"
                figures += len(imgs) + pg.locator("main svg, main .plotly-graph-div").evaluate_all(
                    "es => es.filter(e => e.getBoundingClientRect().width * e.getBoundingClientRect().height > 0).length")
                for sym, anchor in want.get(name, []):
                    h = pg.locator(f'[id="{anchor}"]')
                    assert h.count() == 1 and h.inner_text().strip() == sym, f"{name}: no entry for {sym} (#{anchor})"
                    assert "def " + sym in h.locator("xpath=following::pre[1]").inner_text(), f"{name}: {sym} signature"
                if name == "losses.html":
                    assert "LOSSES" in pg.locator("main").inner_text(), "losses.html never names LOSSES"
                pg.screenshot(path=str(tmp_path / name.replace(".html", ".png")))
                pg.close()
        finally:
            browser.close()
    assert not outside, f"the pages asked the network for {outside[:5]}"
    assert not errors, f"browser errors: {errors[:5]}"
    assert figures >= 1, "no page opened shows a figure (img, svg or plotly chart)"
