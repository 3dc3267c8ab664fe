"""How far a trial or a search run trained alone is from the same seed trained in its block (randomness='member').

    NASLOSS_DATA=../shared/data .venv/bin/python benchmarks/alone_vs_block.py                 # the GUIDE's figures
    NASLOSS_DATA=../shared/data .venv/bin/python benchmarks/alone_vs_block.py --randomness block   # as stored rows were made

With randomness='member' every seed draws its dropout masks, batch order and loss draws from its own streams, so
what is left between alone and in-a-block is the rounding of batched matrix products. Study: 30 seeds of the fig2
NB201 setting (1%, GCN, the loss's epochs) in blocks of 10 and one by one, max |delta| of Kendall tau and
Precision@0.5. Search: 30 NB201 CIFAR-10 runs (budget 100) in blocks of 10 and alone: how many runs query a
different sequence, and how many end on a different best cell. Prints figures; asserts nothing.
"""
import argparse, time
import numpy as np
import torch

ap = argparse.ArgumentParser()
ap.add_argument("--randomness", default="member", choices=["member", "block"])
ap.add_argument("--seeds", type=int, default=30)
ap.add_argument("--block", type=int, default=10)
ap.add_argument("--losses", nargs="*", default=["hr", "listmle"])
ap.add_argument("--search", nargs="*", default=["pw", "listmle"], help="search methods (empty: skip the search part)")
ap.add_argument("--budget", type=int, default=100)
args = ap.parse_args()
torch.set_num_threads(1)

from nasloss_nb.search import run_searches   # noqa: E402
from nasloss_nb.study import run_trial, run_trials       # noqa: E402
from nasloss_nb.spaces.base import load_space            # noqa: E402

sp, seeds, B, how = load_space("nb201", "cifar10"), list(range(args.seeds)), args.block, args.randomness
blocks = [seeds[i:i + B] for i in range(0, len(seeds), B)]
print(f"randomness={how!r}, {len(seeds)} seeds, blocks of {B}")
for loss in args.losses:
    t0 = time.perf_counter()
    inb = {r["seed"]: r for blk in blocks for r in run_trials(sp, loss, portion=1, seeds=blk, randomness=how)}
    tb = time.perf_counter() - t0; t0 = time.perf_counter()
    one = {s: run_trial(sp, loss, portion=1, seed=s, randomness=how) for s in seeds}
    ta = time.perf_counter() - t0
    d = {m: np.array([abs(one[s][m] - inb[s][m]) for s in seeds]) for m in ("kendall_tau", "precision@0.5")}
    print(f"study nb201 1% {loss}: max |delta tau| {d['kendall_tau'].max():.4f} (mean {d['kendall_tau'].mean():.4f}), "
          f"max |delta Precision@0.5| {d['precision@0.5'].max():.4f}; seeds with any tau difference "
          f"{int((d['kendall_tau'] > 0).sum())}/{len(seeds)}; {tb:.0f} s in blocks, {ta:.0f} s alone")
for method in args.search:
    kw = dict(randomness=how, loss_kwargs={"switch_at": 40} if method == "pw" else None)
    h = {s: g for blk in blocks for s, g in run_searches(sp, method, args.budget, seeds=blk, **kw).groupby("seed")}
    a = {s: run_searches(sp, method, args.budget, seeds=[s], batched=False, **kw) for s in seeds}   # = run_search
    seq = sum(h[s]["row"].tolist() != a[s]["row"].tolist() for s in seeds)
    first = [int(np.argmax(h[s]["row"].values != a[s]["row"].values)) + 1 for s in seeds
             if h[s]["row"].tolist() != a[s]["row"].tolist()]
    best = sum(h[s]["best_test"].iloc[-1] != a[s]["best_test"].iloc[-1] for s in seeds)
    print(f"search nb201 cifar10 {method}, budget {args.budget}: {seq}/{len(seeds)} runs query a different sequence"
          + (f" (first difference at query {min(first)}-{max(first)})" if first else "")
          + f"; {best}/{len(seeds)} end on a different best test accuracy")
