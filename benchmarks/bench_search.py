"""Speed of the PWLNAS search (nasloss_nb.search) on NAS-Bench-201 CIFAR-10, budget 100, GCN, one torch thread.

Prints:
  one run        one search (PW = HR -> MAPE) alone, and how much of it is predictor training
  20 runs        the 20 runs of one setting trained together (fit_many), as a ratio of one run's time
  steps          the training steps a run takes (sum over iterations of epochs x batches) and seconds per step,
                 the floor that explains the figures: training is nearly all of a run
  table 2        an estimate of the whole NB201 Table 2 reproduction (3 datasets x predictor methods x 20 runs,
                 plus the baselines), from the 20-run figure, on 1 and 2 worker processes

With --method auto (issue 21): one `auto` run (its default candidates, one stacked fit per iteration) and one
single-loss run (HR at auto's common epochs/lr) in the same process, alone and --runs together, and the ratio
of auto's time per run to the single loss's (target <= 2x). Its floor: one fit of as many GCN copies as auto has
candidates, all with one loss (HR), against one copy, on 60 rows (the stacked products alone, without auto's own
per-loss calls).

With --method bananas (issue 20): one `bananas` run (BANANAS_DEFAULTS: 5 path-encoding MLPs, ITS) alone, then
--runs runs together, and local search `ls` (no training) on the same --runs seeds, in the same process: seconds
per run of each.

Usage: NASLOSS_DATA=../shared/data .venv/bin/python benchmarks/bench_search.py [--device cuda] [--runs 20] [--method auto|bananas]
"""
import argparse, os, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np
import torch
from nasloss_nb.search import run_searches
from nasloss_nb.spaces.base import load_space

METHODS = ("pw", "mse", "hr", "listmle", "warp", "mape", "pw_smooth", "lambda_ndcg")   # search_nb201.yaml's


def steps_of(budget: int, n_init: int, k: int, epochs: int, batch: int) -> int:
    "Training steps of one run: each iteration trains epochs x ceil(n / batch) steps on the n queried so far"
    return sum(epochs * -(-n // batch) for n in range(n_init, budget, k))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--method", default="pw", choices=["pw", "auto", "bananas"])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    space = load_space("nb201", "cifar10")
    if a.method == "auto": return bench_auto(space, a)
    if a.method == "bananas": return bench_bananas(space, a)
    kw = dict(loss_kwargs={"warmup": "hr", "weighted": "mape", "switch_at": 40}, device=a.device)
    run_searches(space, "pw", 20, [99], n_init=10, k=10, epochs=2, device=a.device)          # warm-up: caches, kernels

    t0 = time.perf_counter(); one = run_searches(space, "pw", a.budget, [0], **kw); t_one = time.perf_counter() - t0
    train_one = one.groupby("iteration")["train_seconds"].first().sum()
    t0 = time.perf_counter(); many = run_searches(space, "pw", a.budget, range(a.runs), **kw); t_many = time.perf_counter() - t0
    steps = steps_of(a.budget, 10, 10, 200, 16)
    print(f"device {a.device}, {torch.get_num_threads()} torch thread(s), NB201 cifar10, budget {a.budget}, GCN, PW (HR -> MAPE @40)")
    print(f"one run        {t_one:7.1f} s   (predictor training {train_one:.1f} s = {train_one / t_one:.0%}; target <= 30 s)")
    print(f"{a.runs} runs together {t_many:6.1f} s = {t_many / t_one:.1f}x one run = {t_many / a.runs:.1f} s per run "
          f"(target <= 10x)")
    print(f"steps          {steps} training steps per run: {1e3 * train_one / steps:.2f} ms per step alone, "
          f"{1e3 * t_many / steps:.1f} ms per {a.runs}-run stacked step")
    n_settings = 3 * len(METHODS)
    base = 0.5                                                   # random search and REA: table look-ups, < 1 s per setting
    est1 = n_settings * t_many + 3 * 2 * base
    print(f"table 2        {n_settings} predictor settings x {a.runs} runs: about {est1 / 60:.0f} min on 1 worker, "
          f"{est1 / 120:.0f} min on 2 (target <= 60 min; budget and batch sizes are the same on all 3 datasets)")
    best = many.groupby("seed")["best_test"].last()
    print(f"(sanity: mean best-found test accuracy {best.mean():.3f}, {int(np.isclose(best, space.test.max()).sum())} of "
          f"{a.runs} runs found the global best {space.test.max():.3f})")


def bench_auto(space, a):
    "auto (default candidates) against one single-loss run, same process, same settings"
    from nasloss_nb.auto import AUTO_DEFAULTS, AUTO_OPTIM
    run_searches(space, "auto", 20, [99], n_init=10, k=10, epochs=2, device=a.device)          # warm-up
    out = {}
    for m in ("hr", "auto"):
        t0 = time.perf_counter(); run_searches(space, m, a.budget, [0], device=a.device, **AUTO_OPTIM); t1 = time.perf_counter() - t0
        tn = np.nan
        if a.runs > 1:
            t0 = time.perf_counter(); run_searches(space, m, a.budget, range(a.runs), device=a.device, **AUTO_OPTIM)
            tn = (time.perf_counter() - t0) / a.runs
        out[m] = (t1, tn)
    C = len(AUTO_DEFAULTS["candidates"])
    print(f"device {a.device}, {torch.get_num_threads()} torch thread(s), NB201 cifar10, budget {a.budget}, GCN, "
          f"epochs {AUTO_OPTIM['epochs']}, lr {AUTO_OPTIM['lr']}; auto = {C} candidates {list(AUTO_DEFAULTS['candidates'])}")
    print(f"one run        hr {out['hr'][0]:6.1f} s, auto {out['auto'][0]:6.1f} s: auto = {out['auto'][0] / out['hr'][0]:.2f}x a single-loss run (target <= 2x)")
    if a.runs > 1:
        print(f"{a.runs} runs together  per run: hr {out['hr'][1]:5.1f} s, auto {out['auto'][1]:5.1f} s: "
              f"auto = {out['auto'][1] / out['hr'][1]:.2f}x (target <= 2x)")
    print(f"floor          {C} GCN copies stacked with one loss (HR), 60 rows: {stack_floor(space, C, a):.2f}x one copy "
          f"(stacking alone, without {C} losses' own calls)")


def stack_floor(space, C, a, n=60):
    "fit_many time of C stacked GCN copies with one loss (HR) against one copy on the same n rows: faster of 2, alternating"
    from nasloss_nb.auto import AUTO_OPTIM
    from nasloss_nb.losses import loss_fn
    from nasloss_nb.predictors import make_predictor
    from nasloss_nb.train import fit_many
    rows = np.random.default_rng(0).choice(len(space), n, replace=False); y = space.val[rows] / 100
    best = {}
    for S in (1, C, 1, C):
        ms = [make_predictor("gcn", space) for _ in range(S)]
        t0 = time.perf_counter()
        fit_many(ms, loss_fn("hr"), np.stack([rows] * S), np.stack([y] * S), space, seeds=list(range(S)), device=a.device, **AUTO_OPTIM)
        best[S] = min(best.get(S, np.inf), time.perf_counter() - t0)
    return best[C] / best[1]


def bench_bananas(space, a):
    "bananas (its defaults) alone and --runs together, and ls on the same seeds: seconds per run"
    from nasloss_nb.bananas import BANANAS_DEFAULTS
    run_searches(space, "bananas", 20, [99], loss_kwargs={"epochs": 2}, device=a.device)   # warm-up: path encoding, kernels
    t0 = time.perf_counter(); run_searches(space, "bananas", a.budget, [0], device=a.device); t_one = time.perf_counter() - t0
    print(f"device {a.device}, {torch.get_num_threads()} torch thread(s), NB201 cifar10, budget {a.budget}; bananas = "
          f"{BANANAS_DEFAULTS['ensemble']} MLPs {BANANAS_DEFAULTS['num_layers']}x{BANANAS_DEFAULTS['hidden']}, "
          f"{BANANAS_DEFAULTS['epochs']} epochs, ITS")
    print(f"one run        bananas {t_one:6.1f} s")
    for m in ("bananas", "ls"):
        t0 = time.perf_counter(); h = run_searches(space, m, a.budget, range(a.runs), device=a.device); t = time.perf_counter() - t0
        best = h.groupby("seed")["best_test"].last()
        print(f"{a.runs} runs {m:8s} {t:7.1f} s = {t / a.runs:6.2f} s per run (mean best-found test {best.mean():.3f})")


if __name__ == "__main__":
    main()
