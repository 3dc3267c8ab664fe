"""One DARTS training on a fresh one-thread Dask worker, with and without `cluster.keep_freed_memory`.

    NASLOSS_DATA=../shared/data .venv/bin/python benchmarks/bench_darts_worker.py [--fidelity smoke] [--runs 2]

Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, so freed memory goes back to the system after
nearly every step and is page-faulted in again; `train_on_worker` raises glibc's thresholds first. Prints each
training's seconds, minor page faults and val accuracy, and the ratio; asserts nothing. Each setting gets its own
fresh worker (the setting is process-wide and cannot be undone). No result cache is read or written.
"""
import argparse, resource, time
import numpy as np
from distributed import Client, LocalCluster

def one_training(keep: bool, fidelity: str) -> tuple[float, int, float]:
    import torch
    from nasloss_nb.cluster import keep_freed_memory
    from nasloss_nb.darts_train import train_genotype
    from nasloss_nb.spaces.darts import sample_genotypes
    torch.set_num_threads(1)
    if keep: keep_freed_memory()
    g = sample_genotypes(1, np.random.default_rng(0))[0]
    f0, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
    r = train_genotype(g, fidelity=fidelity, cache=False)
    return time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0, r["val"]

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--fidelity", default="smoke")
    ap.add_argument("--runs", type=int, default=2, help="trainings per setting, on the same worker")
    args = ap.parse_args()
    best = {}
    for keep in (False, True):
        with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as lc, Client(lc) as c:
            env = c.run(lambda: __import__("os").environ.get("MALLOC_TRIM_THRESHOLD_"))
            for i in range(args.runs):
                s, faults, val = c.submit(one_training, keep, args.fidelity, pure=False).result()
                best[keep] = min(best.get(keep, s), s)
                print(f"{'kept' if keep else 'Dask default'} (worker MALLOC_TRIM_THRESHOLD_={list(env.values())[0]}) run {i}: "
                      f"{s:.1f} s, {faults:,} minor page faults, val {val:.2f}%", flush=True)
    print(f"{args.fidelity} training on a Dask worker, freed memory kept: x{best[False] / best[True]:.2f} faster (best of {args.runs})")
