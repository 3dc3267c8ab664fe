"DARTS trainings on a Dask cluster (issue 13): one per worker, streamed into the cache, a killed worker's training rerun"
import os, signal, threading, time
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
import torch
from nasloss_nb.core import InvalidParameterError, NasLossError
from nasloss_nb import darts_train as dt

distributed = pytest.importorskip("distributed")
DATA = Path(os.environ.get("NASLOSS_DATA", Path(__file__).parents[2] / "shared" / "data"))
needs_data = pytest.mark.skipif(not (DATA / "fashion-mnist").is_dir(), reason="needs the shared Fashion-MNIST files")
MICRO = {"name": "micro", "c": 4, "layers": 3, "train_subset": 256, "val_subset": 128, "test_subset": 128}


@pytest.fixture
def cluster(tmp_cache):
    "A LocalCluster of 2 one-thread worker processes (they inherit the test's empty cache) and its client"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
            distributed.Client(lc) as client:
        yield client


@needs_data
def test_two_workers_train_at_smoke_and_a_killed_worker_loses_one_training(cluster, tmp_cache):
    from nasloss_nb.darts_space import trained_darts
    sp = trained_darts("smoke", pool=30, scheduler=cluster)
    assert sp.cluster.resources is None                  # one-thread workers: no resource needed
    rows = [0, 1, 2]
    done = threading.Thread(target=sp.train_rows, args=(rows,)); done.start()
    t0 = time.time()
    while sum(e["event"] == "start" for e in sp.cluster.events()) < 2:     # both workers busy
        assert time.time() - t0 < 120 and done.is_alive(); time.sleep(0.2)
    victim = next(e for e in sp.cluster.events() if e["event"] == "start")
    os.kill(victim["pid"], signal.SIGKILL)               # the worker dies mid-training
    done.join(600); assert not done.is_alive()
    ev = sp.cluster.events()
    starts = pd.Series([tuple(e["arch"]) for e in ev if e["event"] == "start"]).value_counts()
    killed = tuple(victim["arch"])
    assert starts[killed] == 2                           # the killed worker's architecture ran again...
    assert starts.drop(killed).eq(1).all() and len(starts) == 3   # ...and nothing else did
    assert {e["pid"] for e in ev} - {victim["pid"]}      # another process trained it
    files = list((tmp_cache / "darts-train").rglob("*.json"))
    assert len(files) == 3 and not list((tmp_cache / "darts-train").rglob("*.tmp"))   # streamed into this machine's cache, whole
    from nasloss_nb.data import load_npz                 # the image cache is whole too; if the kill hit its write,
    assert all(load_npz(f) is not None for f in tmp_cache.glob("*.npz"))   # the dead writer's temp goes at the next read
    assert not list(tmp_cache.rglob("*.tmp"))
    for r in rows:
        res = sp.results[r]
        assert not res["cached"] and 0 <= res["val"] <= 100 and res["params_m"] > 0 and res["worker"].startswith("tcp://")
        again = dt.cached_result(sp._rows[r], "fashion-mnist", sp.fidelity, 0)
        assert again["val"] == res["val"] and again["test"] == res["test"]
    assert len({e["worker"] for e in ev if e["event"] == "done"}) >= 2     # both workers trained


@needs_data
def test_search_sweep_sends_trainings_to_local_workers_and_resumes(tmp_cache, tmp_path):
    from nasloss_nb.search import run_search_sweep
    cfg = {"name": "darts_micro", "budget": 4, "seeds": 1, "seed_block": 1, "n_init": 2, "k": 2, "n_candidates": 10,
           "epochs": 10, "spaces": [{"space": "darts-trained", "options": {"fidelity": MICRO, "pool": 50},
                                     "kwargs": {"pw": {"switch_at": 2}}}],
           "methods": [{"method": "pw", "kwargs": {"warmup": "hr", "weighted": "mape"}}, "random"]}
    out = tmp_path / "out"
    df = run_search_sweep(cfg, out, workers=2, progress=False)
    assert len(df) == 8 and set(df["label"]) == {"pw", "random"} and df["val"].between(0, 100).all()
    assert (df["params_m"] > 0).all() and (df["arch_train_seconds"] > 0).all()    # each architecture's size and cost
    from nasloss_nb.search import best_found, search_markdown
    best = best_found(df)
    assert len(best) == 2 and (best["val"].to_numpy() == df.groupby("label")["best_val"].last().to_numpy()).all()
    assert "Best architecture (by val) of each run" in search_markdown(df) and best["arch"].iloc[0] in search_markdown(df)
    files = list((tmp_cache / "darts-train").rglob("*.json"))
    assert len(files) == df["arch"].nunique() and (out / "results.parquet").exists()
    # the worker-trained result matches one trained here (same seed; CPU kernels differ in the last bits)
    from nasloss_nb.darts_net import to_arch
    arch = to_arch(df[df["query"] == 1].iloc[0]["arch"])              # the history's DARTS Genotype text
    here = dt.train_genotype(arch, fidelity=dt.get_fidelity(MICRO), seed=0, cache=False)
    remote = dt.cached_result(arch, "fashion-mnist", dt.get_fidelity(MICRO), 0)
    np.testing.assert_allclose(here["loss_curve"], remote["loss_curve"], rtol=2e-2)
    stamp = {f: f.stat().st_mtime_ns for f in files}
    again = run_search_sweep(cfg, out, workers=1, progress=False)       # all stored: nothing runs, nothing retrained
    assert len(again) == 8 and {f: f.stat().st_mtime_ns for f in files} == stamp


def test_workers_with_several_threads_are_refused_before_anything_runs(tmp_cache):
    from nasloss_nb.darts_space import Cluster, trained_darts
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as lc, \
            distributed.Client(lc) as client:
        with pytest.raises(InvalidParameterError, match=r"\(2 threads\) would run several trainings.*--nthreads 1"):
            trained_darts("smoke", pool=10, scheduler=client)
        assert not client.get_events("nasloss-train")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None,
                                  resources={"train": 1}) as lc, distributed.Client(lc) as client:
        assert Cluster(client).resources == {"train": 1}     # declared: each training asks for the one unit


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal of 'cuda' where torch has none")
def test_a_device_the_machine_lacks_is_refused_before_anything_runs(tmp_cache):
    from nasloss_nb.darts_space import trained_darts
    from nasloss_nb.spaces.darts import sample_genotypes
    with pytest.raises(InvalidParameterError, match="device='cuda': this torch .* sees no CUDA GPU"):
        dt.train_genotype(sample_genotypes(1, np.random.default_rng(0))[0], "fashion-mnist", "smoke", device="cuda")
    with pytest.raises(InvalidParameterError, match="sees no CUDA GPU"): trained_darts("smoke", pool=5, device="cuda")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as lc, \
            distributed.Client(lc) as client:
        with pytest.raises(InvalidParameterError, match=r"device='cuda:1' is not on Dask worker\(s\) \w+://.*: this torch .* sees no CUDA GPU"):
            trained_darts("smoke", pool=5, scheduler=client, device="cuda:1")
        assert not client.get_events("nasloss-train")        # nothing was sent
        assert trained_darts("smoke", pool=5, scheduler=client, device="auto").device == "auto"   # each worker decides
    assert not list(tmp_cache.rglob("*.json"))


def test_bad_cluster_and_space_arguments(tmp_cache, tmp_path):
    from nasloss_nb.darts_space import Cluster, trained_darts
    from nasloss_nb.search import run_search, run_search_sweep
    from nasloss_nb.sweep import load_config
    with pytest.raises(NasLossError, match="cannot reach the Dask scheduler 'tcp://127.0.0.1:9'"):
        Cluster("tcp://127.0.0.1:9", timeout=2)
    with pytest.raises(InvalidParameterError, match="scheduler=8786"): Cluster(8786)
    if not (DATA / "fashion-mnist").is_dir(): return
    sp = trained_darts("smoke", pool=5)
    with pytest.raises(InvalidParameterError, match="budget=10 is more than the 5 distinct.*raise its pool="):
        run_search(sp, None, "random", budget=10, seed=0, n_init=2)
    assert not sp.results                                 # refused before anything trained
    with pytest.raises(InvalidParameterError, match="unknown training option"): trained_darts("smoke", pool=5, amp2=True)
    base = {"name": "x", "budget": 4, "n_init": 2, "k": 2, "methods": ["random"]}
    with pytest.raises(InvalidParameterError, match="unknown argument.*fidelty.*options of spaces entry darts-trained"):
        run_search_sweep({**base, "spaces": [{"space": "darts-trained", "options": {"fidelty": "cpu"}}]}, tmp_path / "o")
    with pytest.raises(InvalidParameterError, match="unknown fidelity field"):
        run_search_sweep({**base, "spaces": [{"space": "darts-trained", "options": {"fidelity": {"name": "q", "chans": 2}}}]},
                         tmp_path / "o")
    assert not (tmp_path / "o").exists()                  # nothing written
    study = {"name": "s", "spaces": [{"space": "darts-trained", "n_train": [10]}], "losses": ["mse"], "seeds": 1}
    with pytest.raises(InvalidParameterError, match="needs a whole table"): load_config(study)
