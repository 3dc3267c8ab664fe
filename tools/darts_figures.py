"""The README's DARTS figures: each method's best cell (by val, over its runs) of a trained DARTS search, as PNG.

    .venv/bin/python tools/darts_figures.py data/results/search_darts_cpu --out docs/figures

Writes <out>/<folder>_<method>_best.png and prints what each shows. Needs Chromium (as the browser test).
"""
import argparse, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from plotly_png import save_png                                   # noqa: E402
from nasloss_nb.darts_net import genotype_figure                  # noqa: E402
from nasloss_nb.search import best_found, search_results          # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("results", help="a search results folder of a trained DARTS space")
ap.add_argument("--out", default="docs/figures")
args = ap.parse_args()
best = best_found(search_results(args.results))
Path(args.out).mkdir(parents=True, exist_ok=True)
for lab, g in best.groupby("label", sort=False):
    r = g.loc[g["val"].idxmax()]
    title = (f"{lab}: best cell of {len(g)} runs (seed {r['seed']}, query {r['query']}): val {r['val']:.2f}%, "
             f"test {r['test']:.2f}%, {r['params_m']:.3f}M parameters")
    p = save_png(genotype_figure(r["arch"], title=title), Path(args.out) / f"{Path(args.results).name}_{lab}_best.png")
    print(p, "|", title, "|", r["arch"])
