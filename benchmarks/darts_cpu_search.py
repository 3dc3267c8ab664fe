"Budget-20 PW (HR -> MAPE at 15, k=5) then random search, seed 0, DARTS at the cpu fidelity on Fashion-MNIST; resumable through the default result cache. Run from the repository root: NASLOSS_DATA=../shared/data .venv/bin/python benchmarks/darts_cpu_search.py"
import os, time, torch
torch.set_num_threads(1)
from nasloss_nb.darts_space import trained_darts
from nasloss_nb.search import run_search
sp = trained_darts("cpu")
for m in ("pw", "random"):
    t0 = time.perf_counter()
    h = run_search(sp, None, m, budget=20, seed=0, k=5, **({"loss_kwargs": {"switch_at": 15}} if m == "pw" else {}),
                   callback=lambda h, m=m: print(m, len(h), "queried", f"{time.perf_counter() - t0:.0f}s", os.getloadavg()[0], flush=True))
    h.to_csv(f"data/results/darts_cpu_search/search_cpu_{m}.csv", index=False)
    print(m, "done", f"{time.perf_counter() - t0:.0f}s", h.iloc[-1][["best_val", "best_test"]].to_dict(), flush=True)
