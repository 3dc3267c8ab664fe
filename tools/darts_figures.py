"""The README's DARTS figures: each method's best cell (by val, over its runs) of a trained DARTS search, as PNG.

    .venv/bin/python tools/darts_figures.py data/results/search_darts_cpu --out docs/figures

Writes <out>/<folder>_<method>_best.png and prints what each shows. Needs Chromium (as the browser test).
"""
import argparse, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from plotly_png import save_png                                   # noqa: E402
from nasloss_nb.darts_space import best_cells                     # noqa: E402
from nasloss_nb.search import search_results                      # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("results", help="a search results folder of a trained DARTS space")
ap.add_argument("--out", default="docs/figures")
args = ap.parse_args()
Path(args.out).mkdir(parents=True, exist_ok=True)
for lab, _, fig in best_cells(search_results(args.results)):
    p = save_png(fig, Path(args.out) / f"{Path(args.results).name}_{lab}_best.png")
    print(p, "|", fig.layout.title.text)
