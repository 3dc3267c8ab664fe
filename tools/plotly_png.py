"""Save plotly figures as PNG with the same headless Chromium the browser test uses (no kaleido needed).

    from tools.plotly_png import save_png; save_png(fig, "docs/figures/x.png")
"""
import tempfile
from pathlib import Path


def save_png(fig, path, scale: float = 1.0) -> Path:
    "Render `fig` (plotly, its plotly.js inlined: no network) in Chromium and save a PNG of exactly its size"
    from playwright.sync_api import sync_playwright
    from browser_check import find_chromium
    exe = find_chromium()
    if exe is None: raise SystemExit("no Chromium: apt-get install chromium, or set NASLOSS_CHROMIUM")
    w, h = int(fig.layout.width or 900), int(fig.layout.height or 500)
    with tempfile.TemporaryDirectory() as d:
        page_file = Path(d) / "fig.html"
        page_file.write_text(fig.to_html(include_plotlyjs=True, full_html=True, config={"staticPlot": True}))
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
            page = b.new_page(viewport={"width": w + 40, "height": h + 40}, device_scale_factor=scale)
            page.goto(page_file.as_uri()); page.wait_for_selector(".main-svg")
            page.locator(".plotly-graph-div").first.screenshot(path=str(path))
            b.close()
    return Path(path)
