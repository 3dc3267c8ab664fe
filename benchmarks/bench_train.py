"""Study speed figures (loss study): one GCN trial, whole-space prediction, the plain sparse-PyG baseline, batched seeds.

    NASLOSS_DATA=../shared/data .venv/bin/python benchmarks/bench_train.py            # CPU
    NASLOSS_DATA=../shared/data .venv/bin/python benchmarks/bench_train.py --device cuda   # the GPU machine

Prints figures; asserts nothing. Every comparison runs both sides in this process, on the same data.
"""
import argparse, os, time
import numpy as np
import torch
from torch import nn

ap = argparse.ArgumentParser()
ap.add_argument("--device", default="cpu")
ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest for these small models here)")
ap.add_argument("--seeds", type=int, default=30, help="seeds trained together in the batched figure")
ap.add_argument("--epochs", type=int, default=None, help="default: the loss's default (200)")
PARTS = ("trial", "sparse", "many", "vectorise", "layout", "compile", "floor", "predict", "nb101", "live", "randomness",
         "denormal")
ap.add_argument("--parts", nargs="+", default=[p for p in PARTS if p != "denormal"], choices=PARTS,
                help="figures to measure (default all but 'denormal', which takes about 30 min; 'sparse' and 'many' need "
                     "'trial', their baseline)")
args = ap.parse_args()
if {"sparse", "many"} & set(args.parts) and "trial" not in args.parts: ap.error("'sparse' and 'many' need 'trial'")
torch.set_num_threads(args.threads)

from nasloss_nb.losses import loss_fn, optim_defaults      # noqa: E402
from nasloss_nb.predictors import make_predictor           # noqa: E402
from nasloss_nb.spaces.base import load_space              # noqa: E402
from nasloss_nb.spaces.nb101 import NB101Space, enumerate_cells  # noqa: E402
from nasloss_nb.study import run_trial, run_trials         # noqa: E402
from nasloss_nb.train import _adam, predict                # noqa: E402

dev, E = args.device, args.epochs or optim_defaults("hr")["epochs"]
print(f"device {dev}, torch threads {torch.get_num_threads()}, epochs {E}")
sp = load_space("nb201", "cifar10")
run_trial(sp, "hr", "gcn", portion=1, seed=0, epochs=2, device=dev)   # warm caches (features, kernels)

def adam_stepper(loss_of, params):
    "A function doing one Adam step on `loss_of()` per call, with Adam built as `fit` builds it"
    opt = _adam(params, 1e-3, 1e-4)
    def one():
        loss = loss_of(); opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    return one

def wall(fn) -> float:
    "Seconds that `fn()` takes, with the GPU's queue drained before and after"
    if dev == "cuda": torch.cuda.synchronize()
    t0 = time.perf_counter(); fn()
    if dev == "cuda": torch.cuda.synchronize()
    return time.perf_counter() - t0

def step_ms(loss_of, params, steps: int, warmup: int, repeats: int = 3) -> float:
    "Best over `repeats` of the mean ms of one Adam step on `loss_of()` (as `fit` builds Adam), after `warmup` steps"
    one = adam_stepper(loss_of, params)
    def timed():
        for _ in range(warmup): one()
        return wall(lambda: [one() for _ in range(steps)]) / steps * 1e3
    return min(timed() for _ in range(repeats))

if "trial" in args.parts:
    t0 = time.perf_counter()
    r = run_trial(sp, "hr", "gcn", portion=1, seed=0, epochs=E, device=dev)
    one = time.perf_counter() - t0
    print(f"one GCN trial, NB201 cifar10 1% ({r['n_train']} archs, {E} epochs, HR) incl. judging all 15,625: {one:.2f} s "
          f"(train {r['train_seconds']:.2f} s, predict+judge {one - r['train_seconds']:.2f} s); tau {r['kendall_tau']:.3f}")

# --- the same trial through a plain sparse PyG pipeline: a Data object per graph, GCNConv, DataLoader -------------
from torch_geometric.data import Data                      # noqa: E402
from torch_geometric.loader import DataLoader              # noqa: E402
from torch_geometric.nn import GCNConv, global_mean_pool   # noqa: E402


class SparseGCN(nn.Module):
    "The same predictor written the plain PyG way: GCNConv along and against the edges, mean pool, MLP head"
    def __init__(self, f, h=144, layers=3):
        super().__init__()
        dims = [f] + [h] * layers
        self.fw = nn.ModuleList(GCNConv(a, b) for a, b in zip(dims, dims[1:]))
        self.bw = nn.ModuleList(GCNConv(a, b) for a, b in zip(dims, dims[1:]))
        self.head = nn.Sequential(nn.Linear(h, 128), nn.ReLU(), nn.Dropout(0.1), nn.Linear(128, 1))
        self.drop = nn.Dropout(0.1)

    def forward(self, d):
        h, rev = d.x, d.edge_index.flip(0)
        for f, b in zip(self.fw, self.bw): h = self.drop(torch.relu(0.5 * (f(h, d.edge_index) + b(h, rev))))
        return self.head(global_mean_pool(h, d.batch)).squeeze(-1)


def sparse_trial():
    "Build Data objects, train with a DataLoader, predict the whole space with a DataLoader, judge"
    from nasloss_nb.encodings import dense_graphs
    from nasloss_nb.study import judge
    g = dense_graphs(sp)
    data = [Data(x=g["x"][i][g["mask"][i]], edge_index=g["adj"][i].nonzero().T) for i in range(len(sp))]
    rng = np.random.default_rng(0)
    train = sp.index(sp.sample(156, rng))
    y = torch.as_tensor(sp.val[train] / 100, dtype=torch.float32)
    for i, t in zip(train, y): data[i].y = t
    torch.manual_seed(0)
    model = SparseGCN(g["x"].shape[-1]).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, E)
    hr = loss_fn("hr")
    loader = DataLoader([data[i] for i in train], batch_size=16, shuffle=True)
    for _ in range(E):
        for b in loader:
            b = b.to(dev); loss = hr(model(b), b.y)
            opt.zero_grad(); loss.backward(); opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        for d in data: d.y = torch.zeros(())
        pred = torch.cat([model(b.to(dev)).cpu() for b in DataLoader(data, batch_size=1024)]).numpy()
    return judge(sp.test, pred)

if "live" in args.parts:   # the trial explorer's work: the same trial with a loss curve drawn every E/25 epochs, then the figure
    from nasloss_nb.trial_explorer import loss_curve_figure, trial_figure   # noqa: E402
    t0 = time.perf_counter(); run_trial(sp, "hr", "gcn", portion=1, seed=0, epochs=E, device=dev); plain = time.perf_counter() - t0
    hist = []
    def on_epoch(e, l):
        hist.append(l)
        if e % max(1, E // 25) == 0: loss_curve_figure(hist, E).to_plotly_json()
    t0 = time.perf_counter()
    r = run_trials(sp, "hr", "gcn", portion=1, seeds=[0], batched=False, epochs=E, device=dev, callback=on_epoch, keep_predictions=True)[0]
    trial_figure(sp, r).to_plotly_json(); live = time.perf_counter() - t0
    print(f"live trial (trial_explorer's work: loss curve redrawn every {max(1, E // 25)} epochs + whole-space figure): {live:.2f} s "
          f"= {live / plain:.2f}x the plain trial ({plain:.2f} s) in this process")

if "sparse" in args.parts:
    t0 = time.perf_counter(); sr = sparse_trial(); sparse = time.perf_counter() - t0
    print(f"the same trial, plain sparse PyG (Data per graph, GCNConv, DataLoader): {sparse:.2f} s "
          f"-> ours {sparse / one:.1f}x faster (tau {sr['kendall_tau']:.3f})")

# --- seeds trained together -------------------------------------------------------------------------------------
S = args.seeds
if "many" in args.parts:
    t0 = time.perf_counter()
    rows = run_trials(sp, "hr", "gcn", portion=1, seeds=list(range(S)), epochs=E, device=dev)
    many = time.perf_counter() - t0
    print(f"{S} seeds of that setting trained together: {many:.2f} s = {many / one:.1f}x one seed "
          f"({many / S:.2f} s per trial; tau mean {np.mean([x['kendall_tau'] for x in rows]):.3f})")

if "randomness" in args.parts:   # each seed's own dropout and loss streams ('member') against one stream per block ('block')
    for loss, pred in (("hr", "gcn"), ("listmle", "gcn"), ("hr", "transformer")):
        E3 = E if pred == "gcn" else max(1, E // 10)
        t = {"block": [], "member": []}
        for _ in range(2):                                   # alternating, two rounds: the faster of each
            for how in ("block", "member"):
                t0 = time.perf_counter()
                run_trials(sp, loss, pred, portion=1, seeds=list(range(10)), epochs=E3, device=dev, randomness=how)
                t[how].append(time.perf_counter() - t0)
        b, m = min(t["block"]), min(t["member"])
        print(f"10 seeds together, {loss}/{pred}, {E3} epochs: randomness='block' {b:.2f} s, 'member' {m:.2f} s -> {m / b:.2f}x")

if "denormal" in args.parts:   # training with denormal floats flushed to zero (train.flush_denormals) against computing with them
    import contextlib
    import nasloss_nb.train as train_mod
    keep, cols = train_mod.flush_denormals, ("kendall_tau", "spearman", "precision@0.5", "precision@1", "n@10", "final_train_loss")
    for space, task, portion, loss in (("nb201", "cifar10", 1, "hr"), ("nb101", None, 0.1, "listmle"), ("nbgraph", "cora", 3, "hr")):
        t, rows = {}, {}
        for how in ("flushed", "kept"):                      # one round: the kept side takes minutes (NAS-Bench-Graph: ~15)
            train_mod.flush_denormals = keep if how == "flushed" else contextlib.nullcontext
            t0 = time.perf_counter()
            rows[how] = run_trials(space, loss, "gcn", task=task, portion=portion, seeds=list(range(10)), epochs=E, device=dev)
            t[how] = time.perf_counter() - t0
        train_mod.flush_denormals = keep
        same = sum(all(a[c] == b[c] for c in cols) for a, b in zip(rows["flushed"], rows["kept"]))
        print(f"{space} {portion}%, {loss}, 10 seeds together, {E} epochs: denormals flushed {t['flushed']:.1f} s, kept "
              f"{t['kept']:.1f} s -> {t['kept'] / t['flushed']:.2f}x faster; rows identical (tau, P@T, N@10, final loss): {same} of 10")

# --- the two ways of vectorising seeds, and the prediction batch size, each compared in this process -------------
from nasloss_nb.train import fit_many                      # noqa: E402
rows_s = np.stack([sp.index(sp.sample(156, np.random.default_rng(s))) for s in range(S)])
y_s, hr_fn, E2 = sp.val[rows_s] / 100, loss_fn("hr"), max(1, E // 10)
def timed_fit(vec):
    ms = []
    for s in range(S): torch.manual_seed(s); ms.append(make_predictor("gcn", sp))
    t0 = time.perf_counter(); fit_many(ms, hr_fn, rows_s, y_s, sp, seeds=list(range(S)), epochs=E2, device=dev, vectorise=vec)
    return time.perf_counter() - t0
if "vectorise" in args.parts:
    timed_fit("stacked")                                   # warm-up
    tv, ts = timed_fit("vmap"), timed_fit("stacked")
    print(f"{S} seeds x {E2} epochs: torch.func.vmap {tv:.2f} s, hand-stacked forward_many {ts:.2f} s -> {tv / ts:.2f}x")

if "layout" in args.parts:   # one stacked training step, with the Linear weights as stacked or as fit_many keeps them
    from torch.func import stack_module_state
    from nasloss_nb.predictors import stacked_params
    ms = [make_predictor("gcn", sp).to(dev).train() for _ in range(S)]
    feats = ms[0].features(sp, dev)
    batch = {k: v[torch.as_tensor(rows_s[:, :16], device=dev)] for k, v in feats.items()}
    yb = torch.as_tensor(y_s[:, :16], dtype=torch.float32, device=dev)
    def layout_ms(stack):                                  # a fresh stacked copy of the S models per repeat
        def once():
            params = stack(ms)[0]
            return step_ms(lambda: hr_fn(ms[0].forward_many(params, batch), yb) * S, list(params.values()),
                           steps=20, warmup=2, repeats=1)
        return min(once() for _ in range(3))
    t_plain, t_t = layout_ms(stack_module_state), layout_ms(stacked_params)
    print(f"one training step of {S} stacked GCNs (batch 16): weights as stacked [S, out, in] {t_plain:.1f} ms, "
          f"transposed leaves [S, in, out] (fit_many) {t_t:.1f} ms -> {t_plain / t_t:.2f}x")

if "compile" in args.parts:   # one single-seed training step, eager against torch.compile of forward + loss (not used by fit)
    torch.manual_seed(0)
    mc = make_predictor("gcn", sp).to(dev).train()
    fc = mc.features(sp, dev)
    bc = {k: v[torch.arange(16, device=dev)] for k, v in fc.items()}
    yc = torch.rand(16, device=dev)
    eager = lambda b, y: hr_fn(mc(b), y)
    t0 = time.perf_counter()
    comp = torch.compile(eager, dynamic=False); comp(bc, yc).backward()
    t_compile = time.perf_counter() - t0
    t_e, t_c = (step_ms(lambda: f(bc, yc), list(mc.parameters()), steps=300, warmup=20) for f in (eager, comp))
    print(f"one GCN training step (1 seed, batch 16, HR): eager {t_e:.2f} ms, torch.compile'd forward+loss {t_c:.2f} ms "
          f"-> {t_e / t_c:.2f}x, after {t_compile:.0f} s of compiling")

if "floor" in args.parts:   # the matrix products of a step replayed alone: the arithmetic this predictor needs, without the rest
    from torch.profiler import ProfilerActivity, profile
    GEMMS = {"aten::mm": 0, "aten::bmm": 0, "aten::addmm": 1, "aten::baddbmm": 1}   # name -> index of its first factor

    def gemm_replay(run, calls_per_run: int, repeats: int = 20) -> tuple[float, float, int]:
        "(ms, GFLOP) of the matrix products that one `run()` makes, per call of `run`, replayed alone on fresh contiguous tensors; and their count"
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof: run()
        ops = []
        for e in prof.events():
            if e.name not in GEMMS: continue
            shp = [tuple(x) for x in e.input_shapes if x][GEMMS[e.name]:]
            a, b = torch.randn(shp[0], device=dev), torch.randn(shp[1], device=dev)
            if GEMMS[e.name]: ops.append((torch.baddbmm if a.dim() == 3 else torch.addmm, (torch.randn((a @ b).shape, device=dev), a, b)))
            else: ops.append((torch.matmul, (a, b)))
        flop = sum(2 * x[-2].numel() * x[-1].shape[-1] for _, x in ops)
        def replay():
            for f, x in ops: f(*x)
        replay()
        best = min(wall(replay) for _ in range(repeats))
        return best * 1e3 / calls_per_run, flop / 1e9 / calls_per_run, len(ops) // calls_per_run

    @torch.no_grad()
    def predict_replay(batch) -> tuple[float, float, int]:
        "`gemm_replay` of one eval-mode forward of the single-seed GCN `m1` on `batch` (a prediction batch)"
        m1.eval()
        try: return gemm_replay(lambda: m1(batch), 1)
        finally: m1.train()

    torch.manual_seed(0)
    m1 = make_predictor("gcn", sp).to(dev).train()
    f1 = m1.features(sp, dev)
    rows1 = torch.as_tensor(rows_s[:, :16], device=dev)
    b1, y1 = {k: v[rows1[0]] for k, v in f1.items()}, torch.as_tensor(y_s[0, :16], dtype=torch.float32, device=dev)
    loss1 = lambda: hr_fn(m1(b1), y1)
    t1, step1 = step_ms(loss1, list(m1.parameters()), steps=300, warmup=20), adam_stepper(loss1, list(m1.parameters()))
    g1, fl1, n1 = gemm_replay(lambda: [step1() for _ in range(10)], 10)
    g8 = predict_replay({k: v[:512] for k, v in f1.items()})[0]   # judging the trial: all NB201 cells in batches of 512
    steps, batches = E * -(-156 // 16), -(-len(sp) // 512)
    print(f"one training step (1 seed, batch 16, HR): {t1:.2f} ms; its {n1} matrix products replayed alone {g1:.2f} ms "
          f"({g1 / t1:.0%} of the step, {fl1 * 1e3:.0f} MFLOP at {fl1 / g1 * 1e3:.0f} GFLOP/s) -> the {steps:,} steps of a "
          f"{E}-epoch NB201 1% trial need {steps * g1 / 1e3:.1f} s of matrix products ({steps * t1 / 1e3:.1f} s in all), "
          f"and predicting its {len(sp):,} cells ({batches} batches of 512) {batches * g8 / 1e3:.2f} s more")
    from nasloss_nb.predictors import stacked_params
    msS = [make_predictor("gcn", sp).to(dev).train() for _ in range(S)]
    pS, _ = stacked_params(msS)
    bS = {k: v[rows1] for k, v in f1.items()}
    yS = torch.as_tensor(y_s[:, :16], dtype=torch.float32, device=dev)
    stepS = adam_stepper(lambda: hr_fn(msS[0].forward_many(pS, bS), yS) * S, list(pS.values()))
    gS, flS, nS = gemm_replay(lambda: [stepS() for _ in range(3)], 3)
    print(f"one training step of {S} stacked seeds: its {nS} matrix products replayed alone {gS:.2f} ms ({flS * 1e3:.0f} MFLOP "
          f"at {flS / gS * 1e3:.0f} GFLOP/s) -> {S} seeds take at least {gS / t1:.1f}x one seed's whole step")
    # NB101 shapes: 7 nodes (NB201's first 7; the 7 op types stand in for NB101's 5)
    gP, flP, _ = predict_replay({"x": f1["x"][:512, :7], "mask": f1["mask"][:512, :7],
                                 "a_fwd": f1["a_fwd"][:512, :7, :7], "a_bwd": f1["a_bwd"][:512, :7, :7]})
    nb = -(-423_624 // 512)
    print(f"whole-space prediction: the matrix products of one batch of 512 seven-node cells take {gP:.2f} ms ({flP * 1e3:.0f} "
          f"MFLOP at {flP / gP * 1e3:.0f} GFLOP/s) -> NB101's 423,624 cells ({nb} batches) need {nb * gP / 1e3:.1f} s of them")

if "predict" in args.parts:
    m201 = make_predictor("gcn", sp)
    def timed_predict(bs):
        t0 = time.perf_counter(); predict(m201, sp, batch_size=bs, device=dev); return time.perf_counter() - t0
    timed_predict(8192); timed_predict(512)                # warm-up
    p_big, p_small = timed_predict(8192), timed_predict(512)
    print(f"predicting all 15,625 NB201 cells: batches of 8192 {p_big:.2f} s, of 512 (default) {p_small:.2f} s -> {p_big / p_small:.1f}x")

# --- whole-space prediction at NAS-Bench-101 size ---------------------------------------------------------------
if "nb101" in args.parts:
    codes = enumerate_cells()
    big = NB101Space(codes, np.zeros(len(codes)), np.zeros(len(codes)), hashes=np.zeros(len(codes), "S1"),
                     task="all-cells", metric_names={"val": "none", "test": "none"})
    m = make_predictor("gcn", big)
    m.features(big, dev)                                   # build the whole-space tensors once
    t0 = time.perf_counter(); p = predict(m, big, device=dev); pred_s = time.perf_counter() - t0
    print(f"whole-space GCN prediction of all {len(big):,} NB101 cells (7 nodes, hidden 144): {pred_s:.2f} s "
          f"({len(big) / pred_s:,.0f} cells/s)")
