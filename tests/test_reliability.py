"""Hardening (issue 11): every bad value refused before work with a message naming it; caches that heal;
results folders that two processes share; workers that die with their parent; clean stops"""
import inspect, json, os, signal, subprocess, sys, time, warnings
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
import yaml
from nasloss_nb.core import NasLossError
from nasloss_nb.losses import LOSSES, hyperparameters, loss_fn
from nasloss_nb.metrics import kendall_tau, n_at_k, precision_at_t, spearman
from nasloss_nb.spaces.base import load_space
from nasloss_nb.study import run_trials
from nasloss_nb.sweep import CONFIG_KEYS, results, run_sweep
from shared import alive, children, nasloss, wait_parts

EXE = Path(sys.executable).parent / "nasloss"
OK = {"spaces": [{"space": "toy", "n_train": [8]}], "losses": ["mse"], "epochs": 1}

# --- every config key: wrong type, out of range, empty, duplicated ------------------------------------------
# key -> bad values (each must be refused with a message naming the key and the value)
BAD_CONFIG = {
    "name": ["", 3, None, ["a"]],
    "spaces": ["toy", [], ["toy"], [{"space": "toy"}], [{"space": "nope", "n_train": [8]}], None],
    "losses": ["hr", [], [3], ["hinge"], ["mse", "mse"], [{"loss": "hr", "kwargs": {"margin": "big"}}], None],
    "predictors": ["gcn", [], ["gcm"], ["gcn", "gcn"], [3]],
    "seeds": ["ten", 2.5, 0, -1, True, [], [1, 1], [-1], ["a"]],
    "test_set": ["all", 3, None],
    "epochs": [0, -5, 2.5, "five", True],
    "lr": [0, -1e-3, "fast", True, float("nan")],
    "batch_size": [0, 1, 1.5, "16", True, None],
    "weight_decay": [-1e-4, "none", True, None],
    "target_scaling": ["log", 3, None],
    "predictor_kwargs": [[1], "hidden", {"hidden": "wide"}, {"hiden": 8}, {"dropout": -0.1}, {"num_layers": 0}],
    "batched": ["no", 0, 1, "true", None],
    "seed_block": [0, -1, 2.5, "10", True],
    "lr_grid": [[], [0], [-1e-3], ["x"], [1e-3, 1e-3], 1e-3],
    "holdout": [0, 1, 1.5, "0.2", True],
    "select_by": ["tau", 3],
    "randomness": ["shared", "", 3, None, True],
}
SPACE_ENTRY_BAD = {  # keys of a spaces entry
    "space": ["nope", 3, None], "task": ["nope", 3],
    "portions": [[], [0], [101], ["1"], [1, 1], 5], "n_train": [[], [1], [10.5], ["8"], [8, 8], 8],
    "options": [[1], {"isoo": "official"}, {"iso": 3}],
}


def test_every_config_key_has_bad_values():
    assert set(BAD_CONFIG) == set(CONFIG_KEYS), "give each config key bad values here"


def _config_case(key, value):
    cfg = dict(OK, **{key: value})
    if key in ("holdout", "select_by"): cfg["lr_grid"] = [1e-3]
    return cfg


@pytest.mark.parametrize("key,value", [(k, v) for k, vs in BAD_CONFIG.items() for v in vs])
def test_bad_config_value_names_the_key(key, value, tmp_path):
    from nasloss_nb.sweep import load_config
    with pytest.raises(NasLossError) as e:
        load_config(_config_case(key, value))
    msg = str(e.value)
    assert key in msg or (key == "losses" and "loss" in msg), msg
    assert "valid" in msg or "need" in msg or "twice" in msg, msg


@pytest.mark.parametrize("key,value", [(k, v) for k, vs in SPACE_ENTRY_BAD.items() for v in vs])
def test_bad_space_entry_names_the_key(key, value):
    from nasloss_nb.sweep import load_config
    entry = {"space": "nb201", "task": "cifar10", "portions": [1], key: value}
    if key == "n_train": entry.pop("portions")
    with pytest.raises(NasLossError) as e:
        load_config(dict(OK, spaces=[entry]))
    assert f"spaces[0]" in str(e.value) and ("need" in str(e.value) or "valid" in str(e.value)), str(e.value)


def test_bad_yaml_file_is_named_and_nothing_is_written(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("spaces: [{space: toy, n_train: [8]}]\nlosses: [mse]\nbatched: 'no'\n")
    r = subprocess.run([str(EXE), "study", str(cfg), "--out", str(tmp_path / "runs"), "--quiet"], capture_output=True, text=True)
    assert r.returncode == 2 and "bad.yaml" in r.stderr and "batched='no'" in r.stderr, r.stderr
    assert not (tmp_path / "runs").exists()


# --- every public argument of run_trials, the losses and the metrics -----------------------------------------
BAD_ARGS = {
    "space": [3, None], "loss": ["hinge", 3], "predictor": ["gcm", None], "task": ["nope"],
    "portion": [0, 101, "1", True], "n_train": [1, 10.5, "8", 28], "seeds": [[], [1, 1], [-1], [True], "0"],
    "batched": ["no", 1, None], "test_set": ["all", 3], "epochs": [0, 2.5, "five", True], "lr": [0, -1, "fast", True],
    "batch_size": [0, 1, 2.5, True], "weight_decay": [-1, "x"], "target_scaling": ["log", None],
    "loss_kwargs": [[1], {"margin": "big"}, {"margn": 1.0}, {"margin": -0.1}],
    "predictor_kwargs": ["x", {"hidden": "wide"}, {"hiden": 8}, {"dropout": 2.0}, {"num_layers": 0}, {"hidden": True}],
    "device": ["gpu", 3, "cuda:x"], "lr_grid": [[], [0], ["x"], [1e-3, 1e-3]], "holdout": [0, 1, "0.2"], "select_by": ["tau"],
    "callback": [3, "print"], "keep_predictions": ["yes", 1, None], "randomness": ["shared", None, 1],
}


def test_every_run_trials_argument_has_bad_values():
    assert set(BAD_ARGS) == set(inspect.signature(run_trials).parameters)


@pytest.mark.parametrize("arg,value", [(k, v) for k, vs in BAD_ARGS.items() for v in vs])
def test_bad_run_trials_argument_fails_before_training(arg, value, monkeypatch):
    import nasloss_nb.study as study
    def no_training(*a, **k): raise AssertionError("trained before the arguments were checked")
    monkeypatch.setattr(study, "fit", no_training); monkeypatch.setattr(study, "fit_many", no_training)
    kw = {"space": load_space("toy"), "loss": "hr", "n_train": 12, "seeds": [0], "epochs": 1}
    if arg == "portion": kw.pop("n_train")
    if arg == "task": kw["space"] = "toy"
    if arg in ("holdout", "select_by"): kw["lr_grid"] = [1e-3]
    kw[arg] = value
    with pytest.raises(NasLossError) as e:
        run_trials(**kw)
    msg = str(e.value)
    inner = {"loss_kwargs": "marg", "predictor_kwargs": next(iter(value), "") if isinstance(value, dict) else arg}.get(arg, arg)
    assert arg in msg or inner in msg, msg                              # a bad entry is named itself


def test_zero_epochs_and_lr_are_not_defaults():
    for kw in ({"epochs": 0}, {"lr": 0}, {"lr": 0.0}):
        with pytest.raises(NasLossError, match=f"{next(iter(kw))}=0"):
            run_trials(load_space("toy"), "mse", n_train=12, **kw)


WRONG_TYPE = {float: "big", int: 2.5, str: 3, bool: "yes"}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_hyperparameter_checks_its_type(name):
    for hp, default in hyperparameters(name).items():
        kind = next((t for t in (bool, int, float, str) if isinstance(default, t)), None)
        if kind is None: continue                   # None defaults (sub-loss kwargs) take a mapping: checked below
        with pytest.raises(NasLossError, match=rf"{hp}=.* for loss '{name}'"):
            loss_fn(name, **{hp: WRONG_TYPE[kind]})
        with pytest.raises(NasLossError, match=hp):
            loss_fn(name, **{hp: True}) if kind is not bool else loss_fn(name, **{hp: 1})


def test_negative_hinge_margins_are_refused():
    for name in ("hr", "warp"):
        with pytest.raises(NasLossError, match="margin=-0.5"):
            loss_fn(name, margin=-0.5)


def test_metrics_refuse_bools_and_strings():
    y = np.arange(10.0)
    for k in (True, False, "3", 2.5, None):
        with pytest.raises(NasLossError, match="k="): n_at_k(y, y, k)
    for t in (True, "5", None, 0, 101):
        with pytest.raises(NasLossError, match="t="): precision_at_t(y, y, t)
    for f in (kendall_tau, spearman):
        with pytest.raises(NasLossError): f(y, y[:5])


# --- caches: a flipped byte in every kind of cache file heals or names the file -------------------------------
def _flips(raw: bytes, n: int = 40):
    "Positions spread over the whole file, ends included"
    return sorted(set(np.linspace(0, len(raw) - 1, n).astype(int).tolist()))


def _check_heals(f: Path, load, want: dict):
    "Flip one byte at many places in `f`; each load returns the right arrays, and warns naming `f` unless the byte was unused"
    raw = f.read_bytes()
    named = 0
    for pos in _flips(raw):
        bad = bytearray(raw); bad[pos] ^= 0xFF; f.write_bytes(bytes(bad))
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always"); got = load()
        for k, v in want.items(): np.testing.assert_array_equal(got[k], v)
        named += any(str(f.name) in str(x.message) for x in w)
    f.write_bytes(raw[: len(raw) // 2])            # truncated
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always"); got = load()
    assert any(str(f.name) in str(x.message) for x in w)
    for k, v in want.items(): np.testing.assert_array_equal(got[k], v)
    assert named >= len(_flips(raw)) * 0.8, f"only {named} flips reported"


def test_table_cache_heals(tmp_cache):
    from nasloss_nb.data import cached_arrays
    build = lambda p: {"n": np.arange(1000), "s": np.array([p["nbgraph-cora"].stat().st_size])}
    want = cached_arrays("t", ["nbgraph-cora"], build)
    f = next(tmp_cache.glob("t-v1-*.npz"))
    _check_heals(f, lambda: cached_arrays("t", ["nbgraph-cora"], build), want)


def test_graph_cache_heals(tmp_cache):
    from nasloss_nb.encodings import compact_graphs
    adj, ops = compact_graphs(load_space("toy"))
    f = next(tmp_cache.glob("graphs-toy-*.npz"))
    _check_heals(f, lambda: dict(zip(("adj", "ops"), compact_graphs(load_space("toy")))), {"adj": adj, "ops": ops})


def test_nb101_cell_cache_heals(tmp_cache, monkeypatch):
    import nasloss_nb.nb101_codes as nb101                        # where enumerate_cells and build_cells live
    codes = np.arange(29 * 50, dtype=np.int8).reshape(50, 29)
    monkeypatch.setattr(nb101, "build_cells", lambda: codes)      # the real build takes a minute; the cache code is the same
    nb101.enumerate_cells()
    f = next(tmp_cache.glob("nb101-cells-*.npz"))
    _check_heals(f, lambda: {"codes": nb101.enumerate_cells()}, {"codes": codes})


def test_unusable_cache_folder_is_named(tmp_path, monkeypatch):
    from nasloss_nb.core import CacheError
    from nasloss_nb.encodings import compact_graphs
    blocker = tmp_path / "file"; blocker.write_text("x")
    for bad in (blocker, blocker / "sub"):
        monkeypatch.setenv("NASLOSS_CACHE", str(bad))
        with pytest.raises(CacheError, match=str(bad)): compact_graphs(load_space("toy"))
        with pytest.raises(CacheError, match=str(bad)): run_sweep(OK, tmp_path / "runs", progress=False)
    assert not (tmp_path / "runs").exists()


# --- processes: two sweeps on one folder; SIGKILL of the parent; SIGTERM --------------------------------------
CFG = {"name": "t", "spaces": [{"space": "toy", "n_train": [10, 14]}], "losses": ["mse", "hr", "listmle"],
       "seeds": 4, "seed_block": 2, "epochs": 150}


def test_two_processes_share_one_folder(tmp_path):
    cfg = tmp_path / "cfg.yaml"; cfg.write_text(yaml.safe_dump(CFG)); out = tmp_path / "runs"
    a = nasloss("study", cfg, out)
    wait_parts(out, 1, [a])                     # a is under way before b starts
    b = nasloss("study", cfg, out)
    errs = [p.communicate(timeout=600)[1] for p in (a, b)]
    assert a.returncode == 0 and b.returncode == 0, errs
    trained = [int(e.split(" trials trained by this process")[0].rsplit(" ", 1)[-1]) for e in errs]
    assert sum(trained) == 24, (trained, errs)   # no trial trained twice
    assert trained[1] > 0, trained               # b took part of the work instead of waiting it out
    df = results(out)
    assert len(df) == 24 and df["key"].is_unique
    assert not list((out / "claims").glob("*.claim"))


def test_sigkill_of_the_parent_leaves_no_worker(tmp_path):
    cfg = tmp_path / "cfg.yaml"; cfg.write_text(yaml.safe_dump(CFG)); out = tmp_path / "runs"
    parent = nasloss("study", cfg, out, "--workers", "2")
    deadline, workers = time.time() + 120, []
    while time.time() < deadline and len(workers) < 2 and parent.poll() is None:
        workers = children(parent.pid); time.sleep(0.1)
    assert len(workers) >= 2, "the pool did not start"
    parent.kill(); parent.wait()
    deadline = time.time() + 5
    while time.time() < deadline and any(alive(w) for w in workers): time.sleep(0.1)
    left = [w for w in workers if alive(w)]
    for w in left: os.kill(w, signal.SIGKILL)      # clean up our own orphans before failing
    assert not left, f"workers {left} outlived their parent"
    df = run_sweep(cfg, out, progress=False)         # the stale claims of the dead run are taken over
    assert len(df) == 24 and df["key"].is_unique


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_sigterm_stops_cleanly_and_keeps_finished_trials(how, tmp_path):
    # 4x the epochs: at 150 the whole study could finish between the second part and the signal (seen once in CI)
    cfg = tmp_path / "cfg.yaml"; cfg.write_text(yaml.safe_dump({**CFG, "epochs": 600})); out = tmp_path / "runs"
    proc = nasloss("study", cfg, out, "--workers", "2")
    wait_parts(out, 2, [proc])
    workers = children(proc.pid)
    if how == "SIGTERM": proc.send_signal(signal.SIGTERM)
    else: os.killpg(proc.pid, signal.SIGINT)          # a terminal's Ctrl-C: the parent and its workers
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 130 and "interrupted" in err and "resume" in err, (proc.returncode, err)
    kept = results(out)
    assert len(kept) >= 2 and not list((out / "claims").glob("*.claim"))
    time.sleep(1)
    assert not [w for w in workers if alive(w)]
    df = run_sweep(cfg, out, progress=False)
    assert len(df) == 24
    pd.testing.assert_frame_equal(df.set_index("key").loc[kept["key"], ["kendall_tau"]],
                                  kept.set_index("key")[["kendall_tau"]], atol=0, rtol=0)


def test_a_claim_released_while_another_process_looks_at_it_is_taken(tmp_path):
    "The race CI met once: b finds a's claim, a releases it (no lock: it only unlinks its own), b takes it over"
    from nasloss_nb.runs import Claims
    a, b = Claims(tmp_path), Claims(tmp_path)
    try:
        assert a.take("block") and not b.take("block")                 # a live owner keeps its block
        seen = []
        def released_meanwhile(f):                                     # b's look at the claim, then a's release
            seen.append(f.name); a.release("block"); return True
        b._stale = released_meanwhile
        assert b.take("block") and seen == ["block.claim"]            # was FileNotFoundError from f.unlink()
        assert json.loads((tmp_path / "claims" / "block.claim").read_text())["token"] == b.token
    finally:
        a.close(); b.close()
