"""DARTS training speed (issue 13): images per second of `darts_train.train_network` at each fidelity.

    .venv/bin/python benchmarks/bench_darts.py                                   # CPU, 1 thread
    .venv/bin/python benchmarks/bench_darts.py --device cuda                     # fp32 / channels-last / bf16 autocast
    .venv/bin/python benchmarks/bench_darts.py --fidelities paper --steps 50 --device cuda

Prints figures; asserts nothing. The images are random tensors of each fidelity's data-set shape (speed does
not depend on pixel values, and CIFAR-10 is not on this machine); the loop is the library's own
`train_network` (the same batches, SGD, clipping and cosine schedule as a real training). Every ratio compares
runs in this process. Seconds per epoch = train images of the fidelity / images per second.
"""
import argparse, os, time
from dataclasses import replace
import numpy as np
import torch

ap = argparse.ArgumentParser()
ap.add_argument("--device", default="cpu")
ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
ap.add_argument("--fidelities", nargs="+", default=["smoke", "cpu", "paper"])
ap.add_argument("--steps", type=int, default=None, help="timed steps per figure (default: 12 on CPU, 4 at paper; 50 on CUDA)")
ap.add_argument("--repeats", type=int, default=2, help="timed runs per figure, interleaved across variants; the best is kept")
ap.add_argument("--variants", nargs="+", default=None, choices=["fp32", "channels_last", "amp", "channels_last+amp"],
                help="memory format / precision variants (default: fp32 and channels_last on CPU, all four on CUDA)")
ap.add_argument("--genotypes", nargs="+", default=["darts_v2", "all_sep_conv_3x3", "all_max_pool_3x3"],
                help="darts_v2, or all_<op> (every edge the same op)")
args = ap.parse_args()
from nasloss_nb.core import InvalidParameterError, check_device     # noqa: E402
try: args.device = check_device(args.device)                       # e.g. --device cuda on a CPU-only torch: say so now
except InvalidParameterError as e: raise SystemExit(f"bench_darts.py: {e}")
torch.set_num_threads(args.threads)
cuda = args.device.startswith("cuda")
steps_of = lambda fname: args.steps or (50 if cuda else 4 if fname == "paper" else 12)
variants = args.variants or (["fp32", "channels_last", "amp", "channels_last+amp"] if cuda else ["fp32", "channels_last"])

from nasloss_nb.darts_net import DartsNet, params_m, parse_genotype_str     # noqa: E402
from nasloss_nb.darts_train import DATASETS, FIDELITIES, train_network     # noqa: E402

DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
            "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
            "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")

def genotype(name: str):
    "DARTS-V2, or a genotype with the same op on every edge"
    if name == "darts_v2": return parse_genotype_str(DARTS_V2)
    op = name.removeprefix("all_")
    cell = [(op, 0), (op, 1), (op, 0), (op, 1), (op, 0), (op, 2), (op, 1), (op, 3)]
    return parse_genotype_str(f"Genotype(normal={cell}, normal_concat=[2, 3, 4, 5], reduce={cell}, reduce_concat=[2, 3, 4, 5])")

def synthetic(fid, n: int) -> dict:
    "A data dict like `fidelity_data`'s, with `n` random training images of the fidelity's data-set shape"
    info, g = DATASETS[fid.dataset], torch.Generator().manual_seed(0)
    shape = (info["in_channels"], info["size"], info["size"])
    x = torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8).to(args.device)
    y = torch.randint(0, info["classes"], (n,), generator=g).to(args.device)
    one = (x[:1], y[:1])
    return {"train": (x, y), "val": one, "test": one, "dataset": fid.dataset,
            "mean": torch.full((1, shape[0], 1, 1), 0.5, device=args.device),
            "std": torch.full((1, shape[0], 1, 1), 0.25, device=args.device)}

def images_per_s(fid, geno, variant: str, steps: int) -> tuple[float, float]:
    "Training images per second of `steps` steps (after 2 warm-up steps) and the model's params (M)"
    cl, amp = "channels_last" in variant, "amp" in variant
    info = DATASETS[fid.dataset]
    torch.manual_seed(0)
    net = DartsNet(geno, fid.c, fid.layers, info["classes"], info["in_channels"]).to(args.device)
    warm = replace(fid, epochs=1, select="last")
    train_network(net, synthetic(fid, 2 * fid.batch_size), warm, channels_last=cl, amp=amp)    # warm-up: 2 steps
    data = synthetic(fid, steps * fid.batch_size)
    if cuda: torch.cuda.synchronize()
    t0 = time.perf_counter()
    train_network(net, data, warm, channels_last=cl, amp=amp)
    if cuda: torch.cuda.synchronize()
    return steps * fid.batch_size / (time.perf_counter() - t0), params_m(net)

load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
print(f"device {args.device}, torch {torch.__version__}, threads {torch.get_num_threads()}, best of {args.repeats}, "
      f"load average at start {load:.2f} on {os.cpu_count()} cores")
if cuda: print("GPU:", torch.cuda.get_device_name())
if os.environ.get("NASLOSS_DATA"):                      # the real data path: decoded once, then read from the npz cache
    from nasloss_nb.darts_train import fidelity_data
    fidelity_data(FIDELITIES["cpu"], device=args.device)
    t0 = time.perf_counter(); fidelity_data(FIDELITIES["cpu"], device=args.device)
    print(f"data: fidelity_data('cpu') from the tensor cache {time.perf_counter() - t0:.2f} s "
          f"(60,000 Fashion-MNIST images; once per training)")
rows = []
for fname in args.fidelities:
    fid = FIDELITIES[fname]
    n_train = fid.train_subset or int(round(DATASETS[fid.dataset]["n_train"] * (1 - fid.val_fraction)))
    for gname in args.genotypes:
        best = {}
        for _ in range(args.repeats):                  # interleaved, so a load change hits every variant alike
            for v in variants:
                ips, pm = images_per_s(fid, genotype(gname), v, steps_of(fname))
                best[v] = max(best.get(v, (0, pm)), (ips, pm))
        for v in variants:
            ips, pm = best[v]
            rows.append((fname, gname, v, ips, pm, n_train / ips))
            print(f"{fname:6s} {gname:18s} {v:18s} {steps_of(fname):3d} steps {ips:9.1f} img/s  params {pm:.3f}M  "
                  f"epoch ({n_train} images) {n_train / ips:8.1f} s  x{fid.epochs} epochs = {fid.epochs * n_train / ips / 60:7.1f} min",
                  flush=True)
base = {(f, g): ips for f, g, v, ips, *_ in rows if v == "fp32"}
print("\nratios against fp32, same fidelity and genotype (>1 = faster):")
for f, g, v, ips, *_ in rows:
    if v != "fp32": print(f"  {f:6s} {g:18s} {v:18s} x{ips / base[f, g]:.2f}")
print("ratios against darts_v2, same fidelity, fp32 (the cost spread of the space):")
for (f, g), ips in base.items():
    if g != "darts_v2" and (f, "darts_v2") in base: print(f"  {f:6s} {g:18s} x{ips / base[f, 'darts_v2']:.2f}")
print(f"load average at end {os.getloadavg()[0]:.2f}")
