"""Core-library speed figures (issue: spaces, graphs, metrics). Prints a table; asserts nothing.

    NASLOSS_DATA=../shared/data .venv/bin/python benchmarks/bench_core.py

Every figure is the best of a few repeats; each comes with a ratio against a baseline run in the same process,
because absolute times on a shared 2-core machine are noisy.
"""
import os, sys, tempfile, time
import numpy as np

os.environ["NASLOSS_CACHE"] = tempfile.mkdtemp(prefix="nasloss-bench-")  # cold caches, then warm ones
from nasloss_nb.spaces.base import TabularSpace, load_space          # noqa: E402
from nasloss_nb.encodings import dense_graphs, pyg_batch             # noqa: E402
from nasloss_nb.metrics import kendall_tau, n_at_k, precision_at_t   # noqa: E402


def best(f, repeat=3):
    "Best wall time of `repeat` calls of f, and its last result"
    ts, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter(); out = f(); ts.append(time.perf_counter() - t0)
    return min(ts), out


def row(what, secs, base=None, base_name=""):
    ratio = f"{base / secs:8.1f}x faster than {base_name}" if base else ""
    print(f"{what:<54} {secs:8.3f} s  {ratio}")


SPACES = [("toy", None), ("nb201", "cifar10"), ("nb101", None), ("transnas-micro", "class_scene"),
          ("transnas-macro", "class_scene"), ("nbgraph", "cora"), ("nbgraph", "proteins"), ("darts", None)]

print("== loading a space: first load (parse + verify + write cache) vs cached load")
for name, task in SPACES:
    try:
        cold, sp = best(lambda: load_space(name, task), repeat=1)
    except Exception as e:  # a missing data root is reported, not fatal
        print(f"{name}/{task}: skipped ({type(e).__name__}: {e})"); continue
    warm, _ = best(lambda: load_space(name, task))
    row(f"cached load {name}/{sp.task} ({len(sp)} archs)", warm, cold, "first load")

print("\n== whole-space dense graph tensors, NAS-Bench-201 (15,625 cells)")
nb201 = load_space("nb201", "cifar10")
def fresh_dense():
    nb201._cache.clear(); os.environ["NASLOSS_CACHE"] = tempfile.mkdtemp(prefix="nasloss-bench-")
    return dense_graphs(nb201)
loop, _ = best(lambda: TabularSpace.graphs(nb201), repeat=1)
vec, g = best(fresh_dense)
row("dense adj/x/mask for all NB201 (no cache)", vec, loop, "per-arch to_graph loop")
cached, _ = best(lambda: (nb201._cache.clear(), dense_graphs(nb201)))
row("dense adj/x/mask for all NB201 (disk cache)", cached, loop, "per-arch to_graph loop")

print("\n== PyG sparse batch of all NB201 graphs")
from torch_geometric.data import Batch, Data  # noqa: E402
idx = np.arange(len(nb201))
ref, _ = best(lambda: Batch.from_data_list([Data(x=g["x"][i][g["mask"][i]], edge_index=g["adj"][i].nonzero().T)
                                            for i in idx]), repeat=1)
ours, _ = best(lambda: pyg_batch(g, idx))
row("pyg_batch from dense tensors", ours, ref, "list of Data + Batch.from_data_list")

print("\n== metrics over 423,624 items (the size of NAS-Bench-101)")
rng = np.random.default_rng(0)
t, p = rng.random(423_624), rng.random(423_624)
small = 3000
naive, _ = best(lambda: np.sign(t[:small, None] - t[None, :small]).__mul__(np.sign(p[:small, None] - p[None, :small])).sum(), repeat=1)
naive_full = naive * (len(t) / small) ** 2
kt, _ = best(lambda: kendall_tau(t, p))
row("kendall_tau (tau-b, O(n log n))", kt, naive_full, "O(n^2) pairs (extrapolated)")
row("precision_at_t t=0.5", best(lambda: precision_at_t(t, p, 0.5))[0])
row("n_at_k k=10", best(lambda: n_at_k(t, p, 10))[0])
