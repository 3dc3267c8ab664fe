"Sweeps across processes: a process pool, a Dask LocalCluster, and a sweep killed mid-run then resumed"
import os, signal, subprocess, sys, time
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
import yaml
from nasloss_nb.sweep import results, run_sweep

CFG = {"name": "t", "spaces": [{"space": "toy", "n_train": [10, 14]}], "losses": ["mse", "hr", "listmle"],
       "seeds": 4, "seed_block": 2, "epochs": 8}
COLS = ["kendall_tau", "precision@10", "n@5"]


def _table(df):
    return df.set_index("key")[COLS].sort_index()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    "The sweep run in this process, once"
    return _table(run_sweep(CFG, tmp_path_factory.mktemp("ref"), progress=False))


def test_process_pool_gives_the_same_table(reference, tmp_path):
    df = run_sweep(CFG, tmp_path, workers=2, progress=False)
    assert len(df) == 2 * 3 * 4 and df["key"].is_unique
    pd.testing.assert_frame_equal(_table(df), reference, atol=1e-6, rtol=0)


def test_dask_local_cluster_gives_the_same_table(reference, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        df = run_sweep(CFG, tmp_path, scheduler=cluster.scheduler_address, progress=False)
    pd.testing.assert_frame_equal(_table(df), reference, atol=1e-6, rtol=0)


def test_killed_sweep_resumes_without_loss_or_duplicates(reference, tmp_path):
    cfg = tmp_path / "cfg.yaml"; cfg.write_text(yaml.safe_dump(CFG))
    out = tmp_path / "runs"
    exe = Path(sys.executable).parent / "nasloss"
    proc = subprocess.Popen([str(exe), "study", str(cfg), "--out", str(out), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "parts").glob("*.parquet"))) < 4 and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL); proc.wait()
    kept = {p.stem for p in (out / "parts").glob("*.parquet")}
    assert 0 < len(kept) < 24, f"kill landed at {len(kept)} stored trials"
    before = results(out).set_index("key")[COLS]
    df = run_sweep(cfg, out, progress=False)
    assert len(df) == 24 and df["key"].is_unique
    pd.testing.assert_frame_equal(_table(df), reference, atol=1e-6, rtol=0)      # as if never interrupted
    pd.testing.assert_frame_equal(_table(df).loc[sorted(before.index)], before.sort_index(), atol=0, rtol=0)  # kept as written
