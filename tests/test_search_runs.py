"""`nasloss search` has the study's guarantees through the shared runs layer: two processes on one folder split the
blocks, workers never outlive a killed parent, and the stopped run resumes to a whole folder"""
import os, signal, time
from pathlib import Path
import yaml
from nasloss_nb.search import run_search_sweep, search_results
from shared import alive, children, nasloss, wait_parts

# 12 blocks of one run each, ~1.5 s apiece here: long enough for a second process to join while the first works
CFG = {"name": "two", "budget": 14, "seeds": 4, "seed_block": 1, "n_init": 4, "k": 5, "n_candidates": 10,
       "epochs": 200, "spaces": [{"space": "toy"}], "methods": ["hr", "mse", "listmle"]}


def _parts(out: Path) -> int:
    return len(list((out / "parts").glob("*.parquet")))


def _whole(df) -> None:
    assert df["key"].nunique() == 12 and df.groupby("key").size().eq(14).all()
    assert not df.duplicated(["key", "query"]).any()


def test_two_search_processes_split_the_blocks(tmp_path):
    cfg = tmp_path / "cfg.yaml"; cfg.write_text(yaml.safe_dump(CFG)); out = tmp_path / "runs"
    a = nasloss("search", cfg, out)
    wait_parts(out, 1, [a])                      # a is under way before b starts
    b = nasloss("search", cfg, out)
    errs = [p.communicate(timeout=600)[1] for p in (a, b)]
    assert a.returncode == 0 and b.returncode == 0, errs
    runs = [int(e.split(" search runs by this process")[0].rsplit(" ", 1)[-1]) for e in errs]
    assert sum(runs) == 12, (runs, errs)          # no run searched twice (before the runs layer: 12 + 12)
    assert runs[1] > 0, runs                      # b took part of the work instead of waiting it out
    _whole(search_results(out))
    assert not list((out / "claims").glob("*.claim")) and not list((out / "parts").glob("*.parquet"))   # merged once, by both


def test_sigkill_of_a_search_leaves_no_worker_and_resumes(tmp_path):
    cfg = tmp_path / "cfg.yaml"; cfg.write_text(yaml.safe_dump(CFG)); out = tmp_path / "runs"
    parent = nasloss("search", cfg, out, "--workers", "2")
    deadline, workers = time.time() + 120, []
    while time.time() < deadline and len(workers) < 2 and parent.poll() is None:
        workers = children(parent.pid); time.sleep(0.1)
    assert len(workers) >= 2, "the pool did not start"
    wait_parts(out, 1, [parent])
    parent.kill(); parent.wait()
    deadline = time.time() + 5
    while time.time() < deadline and any(alive(w) for w in workers): time.sleep(0.1)
    left = [w for w in workers if alive(w)]
    for w in left: os.kill(w, signal.SIGKILL)     # clean up our own orphans before failing
    assert not left, f"workers {left} outlived their parent"
    kept = _parts(out)
    assert 0 < kept < 12, f"the kill landed at {kept} stored runs"
    df = run_search_sweep(cfg, out, progress=False)   # the dead run's claims are stale: taken over
    assert df.attrs["run_here"] == 12 - kept      # nothing stored is run again
    _whole(df)


def test_every_stored_row_carries_its_whole_setting(tmp_path):
    import pandas as pd
    cfg = {**CFG, "epochs": 2, "seeds": 2, "seed_block": 2, "methods": ["hr", "rea"], "lr": 0.002}
    df = run_search_sweep(cfg, tmp_path / "runs", progress=False)
    by = df.groupby("label")[["budget", "epochs", "lr", "k", "n_init", "predictor", "population", "seed_block"]].first()
    assert by.loc["hr"].drop("population").tolist() == [14, 2, 0.002, 5, 4, "gcn", 2] and pd.isna(by.loc["hr", "population"]), by
    assert by.loc["rea"][["budget", "population", "seed_block"]].tolist() == [14, 10, 2] and pd.isna(by.loc["rea", "predictor"])
    # a folder stored before rows carried their setting: the next run of its config fills the columns in, nothing reruns
    res = pd.read_parquet(tmp_path / "runs" / "results.parquet")
    res.drop(columns=["budget", "epochs", "lr", "predictor"]).to_parquet(tmp_path / "runs" / "results.parquet", index=False)
    again = run_search_sweep(cfg, tmp_path / "runs", progress=False)
    assert again.attrs["run_here"] == 0
    pd.testing.assert_frame_equal(again.groupby("label")[["budget", "epochs", "lr", "predictor"]].first(),
                                  by[["budget", "epochs", "lr", "predictor"]])
