"""Issue 23: `nasloss search`, `nasloss reproduce` and DARTS training get the study's guarantees. One block per
class of the issue; each test fails on the code before the fix (checked against it) and passes after."""
import contextlib, io, json, math, os, signal, sys, tempfile, time, warnings
from dataclasses import asdict
from pathlib import Path
from unittest import mock
import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from nasloss_nb.cli import main
from shared import alive, children, nasloss
from nasloss_nb.core import CacheError, InvalidParameterError, NasLossError

ROOT = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).parent / "nasloss"
DATA = Path(os.environ.get("NASLOSS_DATA", ROOT.parent / "shared" / "data"))
needs_fmnist = pytest.mark.skipif(not (DATA / "fashion-mnist").is_dir(), reason="needs the shared Fashion-MNIST files")
CFG = {"name": "h", "budget": 10, "seeds": 2, "seed_block": 2, "n_init": 4, "k": 3, "n_candidates": 8, "epochs": 2,
       "spaces": [{"space": "toy"}], "methods": ["hr", "random"]}
MICRO = {"name": "micro-h23", "c": 4, "layers": 3, "train_subset": 256, "val_subset": 128, "test_subset": 128}


def _cli(*argv) -> tuple[int, str, str]:
    "`nasloss ARGV` in this process: exit status, stdout, stderr (an escaping exception fails the test: a traceback)"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: code = main([str(a) for a in argv])
        except SystemExit as e: code = e.code
        except KeyboardInterrupt: code = "KeyboardInterrupt escaped main (a traceback)"   # fail the test, not the session
    return code, out.getvalue(), err.getvalue()


def _one_line(err: str) -> str:
    "The one line a failed command prints (no traceback, no warning spill)"
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _yaml(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg)); return path


def _unwritable(tmp_path: Path) -> Path:
    "A folder path this process cannot write into: a read-only folder (not root), or one under /sys (root ignores modes)"
    if os.geteuid() != 0:
        ro = tmp_path / "ro"; ro.mkdir(); ro.chmod(0o555); return ro / "out"
    try:
        with tempfile.TemporaryFile(dir="/sys"): pass
    except OSError: return Path("/sys/nasloss-h23/out")
    pytest.skip("no read-only place to write into here")


# --- 1. `nasloss reproduce` reports `ok` for a section whose results folder does not exist -------------------
def _ran_ok(name, params, out, root, cell_timeout=None):
    "What `run_notebook` returns for a notebook that ran fine (nothing is executed: the report is under test)"
    from nasloss_nb.reproduce import EXPERIMENTS
    return {"name": name, "notebook": f"nbs/exp/{EXPERIMENTS[name].notebook}", "params": params, "status": "ok",
            "executed": str(Path(out) / "notebooks" / f"{name}.ipynb"), "ran": True, "seconds": 0.0}


def test_reproduce_fails_a_section_whose_results_folder_is_missing(tmp_path):
    from nasloss_nb.reproduce import ReproduceFailed, reproduce
    params = {"fig2": {"results": "data/results/no_such_study"},
              "search": {"results": ["data/results/search_nbgraph", "data/results/no_such_search"], "tuning": ""}}
    with mock.patch("nasloss_nb.reproduce.load_params", lambda n, *a: params[n]), \
            mock.patch("nasloss_nb.reproduce.run_notebook", _ran_ok):
        with pytest.raises(ReproduceFailed, match=r"2 of 2 notebooks failed") as e:
            reproduce(["fig2", "search"], tmp_path / "a", root=ROOT)
        code, out, err = _cli("reproduce", "search", "--out", tmp_path / "b")
    for missing in ("no_such_study", "no_such_search"):       # the search section is not drawn from the folder that exists
        assert f"results folder {ROOT / 'data' / 'results' / missing} does not exist" in str(e.value), str(e.value)
    assert code == 1 and "no_such_search does not exist" in err, (code, err)
    assert "does not exist" in (tmp_path / "a" / "report.html").read_text()


# --- 2. cached DARTS training results: schema, finite values, a digest; retrain or refuse ---------------------
def _result(dt, fid, seed=0):
    "A training result as `train_genotype` returns it (made up: nothing trains)"
    from nasloss_nb.spaces.darts import sample_genotypes
    arch = sample_genotypes(1, np.random.default_rng(23))[0]
    return {"schema": dt.RESULT_SCHEMA, "arch": list(arch), "genotype": "g", "dataset": "fashion-mnist",
            "fidelity": asdict(fid), "seed": seed, "val": 81.5, "test": 80.25, "params_m": 0.05, "seconds": 3.5,
            "epoch": 1, "val_curve": [81.5], "loss_curve": [2.3, 1.1], "device": "cpu", "channels_last": True,
            "amp": False, "torch": torch.__version__}


def _nan_val(d):
    "A NaN val with a digest that matches it (a writer's bug, not an edit)"
    from nasloss_nb.darts_train import result_digest
    d["val"] = float("nan"); d["digest"] = result_digest(d)


@pytest.mark.parametrize("edit, why", [
    (lambda d: d.update(val=99.0), "does not match its digest"),            # tampered: a plausible number
    (_nan_val, "bad val=nan"), (lambda d: d.pop("val"), "no val"), (lambda d: d.pop("params_m"), "no params_m"),
    (lambda d: d.pop("digest"), "no digest"), (lambda d: d.update(schema=1), "schema 1"),
    (lambda d: d.update(seed=5), "does not match its digest")])
def test_a_damaged_or_edited_cached_result_is_not_served(edit, why, tmp_cache):
    from nasloss_nb import darts_train as dt
    fid = dt.get_fidelity(MICRO); r = _result(dt, fid); arch = tuple(r["arch"])
    p = dt.save_result(r)
    got = dt.cached_result(arch, "fashion-mnist", fid, 0)
    assert got == r                                            # whole and unedited: served as it was filed
    d = json.loads(p.read_text()); edit(d); p.write_text(json.dumps(d))
    with pytest.warns(UserWarning, match=f"training result {p} cannot be used .*{why}.*; retraining"):
        assert dt.cached_result(arch, "fashion-mnist", fid, 0) is None


def test_a_cached_result_of_another_fidelity_is_still_refused(tmp_cache):
    from nasloss_nb import darts_train as dt
    fid = dt.get_fidelity(MICRO); r = _result(dt, fid); dt.save_result(r)
    with pytest.raises(CacheError, match="another fidelity named 'micro-h23'"):
        dt.cached_result(tuple(r["arch"]), "fashion-mnist", dt.get_fidelity({**MICRO, "c": 5}), 0)


@needs_fmnist
def test_a_trained_space_retrains_an_edited_entry(tmp_cache):
    from nasloss_nb import darts_train as dt
    from nasloss_nb.darts_space import trained_darts
    sp = trained_darts(MICRO, pool=5)
    first = float(sp.val[0])
    p = dt.result_path(sp._rows[0], "fashion-mnist", sp.fidelity, 0)
    d = json.loads(p.read_text()); d["val"] = 99.9; p.write_text(json.dumps(d))         # someone edits the cache
    again = trained_darts(MICRO, pool=5)
    with pytest.warns(UserWarning, match="does not match its digest"):
        assert float(again.val[0]) == first and not again.results[0]["cached"]          # retrained, not 99.9
    assert dt.cached_result(sp._rows[0], "fashion-mnist", sp.fidelity, 0)["val"] == first   # and the file healed


# --- 3. a custom fidelity's name is a folder: a safe slug, checked before any work ----------------------------
@pytest.mark.parametrize("name", ["", "../../escape", "{tmp}/absolute", "a/b", "..", ".hidden", "-x", 7])
def test_a_custom_fidelity_name_must_be_a_safe_slug(name, tmp_cache, tmp_path):
    from nasloss_nb.darts_train import Fidelity, get_fidelity, train_genotype
    from nasloss_nb.search import run_search_sweep
    from nasloss_nb.spaces.darts import sample_genotypes
    name = name.format(tmp=tmp_path) if isinstance(name, str) else name
    with pytest.raises(InvalidParameterError, match="fidelity name"): get_fidelity({**MICRO, "name": name})
    arch = sample_genotypes(1, np.random.default_rng(0))[0]
    with pytest.raises(InvalidParameterError, match="fidelity name"):
        train_genotype(arch, fidelity=Fidelity(name, c=4, layers=3, train_subset=64, val_subset=32, test_subset=32))
    cfg = {"name": "f", "budget": 3, "seeds": 1, "seed_block": 1, "n_init": 2, "k": 1, "methods": ["random"],
           "spaces": [{"space": "darts-trained", "task": "fashion-mnist", "options": {"fidelity": {**MICRO, "name": name}, "pool": 5}}]}
    with pytest.raises(InvalidParameterError, match=r"spaces\[0\] .*fidelity name"):
        run_search_sweep(cfg, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists() and not (tmp_path / "absolute").exists()
    assert not list(tmp_cache.rglob("*.json"))                  # nothing trained, nothing filed anywhere


# --- 4. per-space method kwargs (and n_init given there) checked before any work, naming the entry ------------
@pytest.mark.parametrize("kwargs, msg", [
    ({"pw": {"switch_at": "x"}}, r"spaces\[1\] \(toy\): switch_at='x' for loss 'pw'"),
    ({"hr": {"n_init": 3}}, r"spaces\[1\] \(toy\): unknown hyperparameter\(s\) n_init for loss 'hr'"),
    ({"random": {"n_init": 3}}, r"spaces\[1\] \(toy\): kwargs.random=\{'n_init': 3\}: baseline 'random' takes no kwargs"),
    ({"hr": [1]}, r"spaces\[1\] \(toy\): kwargs.hr=\[1\]")])
def test_every_spaces_entry_is_checked_before_any_run(kwargs, msg, tmp_path):
    from nasloss_nb.search import run_search_sweep
    cfg = {**CFG, "methods": ["hr", "pw", "random"], "spaces": [{"space": "toy"}, {"space": "toy", "kwargs": kwargs}]}
    with pytest.raises(InvalidParameterError, match=msg): run_search_sweep(cfg, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()                      # the first entry's runs did not start
    f = _yaml(tmp_path / "cfg.yaml", cfg)
    code, _, err = _cli("search", f, "--out", tmp_path / "out", "--quiet")
    assert code == 2 and f"search config {f}: " in _one_line(err), err     # the file, then the entry
    assert not (tmp_path / "out").exists()


# --- 5. raw tracebacks in `search` and `reproduce`: --out under a file, read-only --out, bad YAML, Ctrl-C ------
def test_search_out_under_a_file_or_unwritable_is_one_line(tmp_path):
    cfg = _yaml(tmp_path / "cfg.yaml", CFG)
    (tmp_path / "afile").write_text("x")
    code, _, err = _cli("search", cfg, "--out", tmp_path / "afile" / "runs", "--quiet")
    assert code == 2 and f"{tmp_path / 'afile'} is a file" in _one_line(err), err
    bad = _unwritable(tmp_path)
    code, _, err = _cli("search", cfg, "--out", bad, "--quiet")
    assert code == 2 and f"results folder '{bad}' cannot be written" in _one_line(err), err


def test_reproduce_out_under_a_file_or_unwritable_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("x")
    code, _, err = _cli("reproduce", "fig2", "--out", tmp_path / "afile" / "rep")
    assert code == 2 and f"{tmp_path / 'afile'} is a file" in _one_line(err), err
    bad = _unwritable(tmp_path)
    code, _, err = _cli("reproduce", "fig2", "--out", bad)
    assert code == 2 and "cannot be written" in _one_line(err), err


def test_bad_yaml_is_one_line_naming_the_file(tmp_path):
    cfg = tmp_path / "cfg.yaml"; cfg.write_text("budget: 10\nmethods: [hr\nspaces: [{space: toy}]\n")
    code, _, err = _cli("search", cfg, "--out", tmp_path / "out", "--quiet")
    assert code == 2 and f"search config {cfg} is not valid YAML (line" in _one_line(err), err
    root = tmp_path / "repo"; (root / "experiments" / "params").mkdir(parents=True)       # a checkout with a broken file
    (root / "settings.ini").write_text((ROOT / "settings.ini").read_text()); (root / "nbs").symlink_to(ROOT / "nbs")
    bad = root / "experiments" / "params" / "fig2.yaml"; bad.write_text("committed: {results: [data\n")
    from nasloss_nb.reproduce import reproduce
    with pytest.raises(InvalidParameterError, match=f"parameter file {bad} is not valid YAML \\(line"):
        reproduce(["fig2"], tmp_path / "rep", root=root)
    assert not (tmp_path / "rep").exists()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads worker processes from /proc (Linux)")
def test_ctrl_c_stops_a_search_with_workers_at_once_in_one_line(tmp_path):
    from nasloss_nb.search import run_search_sweep, search_results
    big = {**CFG, "budget": 20, "seeds": 2, "seed_block": 1, "epochs": 300, "methods": ["hr", "mse"]}   # 4 blocks of seconds
    cfg, out = _yaml(tmp_path / "cfg.yaml", big), tmp_path / "runs"
    proc = nasloss("search", cfg, out, "--workers", "2")     # its own process group, SIGINT at its default
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not list((out / "parts").glob("*.parquet")): time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1]
    workers = children(proc.pid)
    t0 = time.time(); os.killpg(proc.pid, signal.SIGINT)         # a terminal's Ctrl-C: the parent and its workers
    err = proc.communicate(timeout=60)[1]; took = time.time() - t0
    line = _one_line(err)
    assert proc.returncode == 130 and line.startswith("nasloss: error: interrupted: ") and "resume" in line, (proc.returncode, err)
    assert took < 5, f"took {took:.1f} s to stop"
    time.sleep(1)
    left = [w for w in workers if alive(w)]
    for w in left: os.kill(w, signal.SIGKILL)
    assert not left, f"workers {left} outlived the interrupted search"
    kept = search_results(out)
    assert kept["key"].nunique() >= 1
    df = run_search_sweep(cfg, out, workers=2, progress=False)   # resumes: the rest runs, nothing twice
    assert df["key"].nunique() == 4 and df.groupby("key").size().eq(20).all()
    pd.testing.assert_frame_equal(df.set_index(["key", "query"]).loc[kept.set_index(["key", "query"]).index, ["row", "val"]],
                                  kept.set_index(["key", "query"])[["row", "val"]])          # kept as written


def test_ctrl_c_in_reproduce_is_one_line_and_status_130(tmp_path):
    def interrupted(*a, **k): raise KeyboardInterrupt
    with mock.patch("nasloss_nb.reproduce.run_notebook", interrupted):
        code, _, err = _cli("reproduce", "fig2", "--out", tmp_path / "rep")
    assert code == 130 and "interrupted" in _one_line(err), (code, err)


# --- 6. integer label; schema errors name the file; a part holding a short run -------------------------------
def test_an_integer_method_label_is_refused_before_any_run(tmp_path):
    from nasloss_nb.search import run_search_sweep
    cfg = {**CFG, "methods": [{"method": "hr", "label": 5}, "random"]}
    with pytest.raises(InvalidParameterError, match=r"methods\[0\].label=5: need a non-empty string"):
        run_search_sweep(cfg, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_a_folder_holding_a_numeric_label_is_reported_again(stored, tmp_path):
    "Written by a version that let a label be a number: the folder reads, sorts and reports"
    from nasloss_nb.search import search_results
    out = _copy(stored[0], tmp_path / "runs")
    res = pd.read_parquet(out / "results.parquet")
    (out / "parts").mkdir(exist_ok=True)
    res[res["label"] == "hr"].assign(label=5, key=lambda d: d["key"] + "n").to_parquet(out / "parts" / "numeric.parquet", index=False)
    df = search_results(out)
    assert set(df["label"]) == {"hr", "random", "5"}
    code, out_, err = _cli("report", out)
    assert code == 0 and "| toy | default | 5 |" in out_, (code, err)


def test_config_errors_name_the_file(tmp_path):
    f = _yaml(tmp_path / "cfg.yaml", {**CFG, "budget": 0})
    code, _, err = _cli("search", f, "--out", tmp_path / "out", "--quiet")
    assert code == 2 and f"search config {f}: budget=0" in _one_line(err), err


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    "The config run once into a folder (consolidated); a copy is made per test"
    from nasloss_nb.search import run_search_sweep
    out = tmp_path_factory.mktemp("stored")
    return out, run_search_sweep(CFG, out, progress=False)


def _copy(src: Path, dst: Path) -> Path:
    import shutil
    shutil.copytree(src, dst); return dst


def test_a_part_of_another_schema_is_named(stored, tmp_path):
    from nasloss_nb.search import run_search_sweep, search_results
    out = _copy(stored[0], tmp_path / "runs")
    part = out / "parts" / "foreign.parquet"; part.parent.mkdir(exist_ok=True)
    stored[1].iloc[:10].assign(key="foreign", schema=2).to_parquet(part, index=False)
    with pytest.raises(NasLossError, match=f"{part} holds search runs of schema 2"): search_results(out)
    with pytest.raises(NasLossError, match=f"{part} holds search runs of schema 2"): run_search_sweep(CFG, out, progress=False)
    code, _, err = _cli("report", out)
    assert code == 2 and str(part) in _one_line(err), err


def test_a_part_holding_a_short_run_is_run_again(stored, tmp_path):
    from nasloss_nb.search import run_search_sweep, search_results
    out, full = _copy(stored[0], tmp_path / "runs"), stored[1]
    keys = full.loc[full["label"] == "hr", "key"].unique()       # both runs of a seed block: rerun together, as first run
    res = pd.read_parquet(out / "results.parquet")
    res[~res["key"].isin(keys)].to_parquet(out / "results.parquet", index=False)
    (out / "parts").mkdir(exist_ok=True)
    for k, n in zip(keys, (6, 9)):                                # 6 and 9 of 10 queries, and no reason they stopped
        res[(res["key"] == k) & (res["query"] <= n)].to_parquet(out / "parts" / f"{k}.parquet", index=False)
    assert search_results(out).groupby("key").size()[keys].tolist() == [6, 9]
    with pytest.warns(UserWarning, match=f"stored run {keys[0]} has 6 of 10 queries and no reason it stopped: it is run again"):
        df = run_search_sweep(CFG, out, progress=False)
    cols = ["key", "query", "row", "val", "test", "best_test"]
    pd.testing.assert_frame_equal(df[cols].sort_values(["key", "query"], ignore_index=True),
                                  full[cols].sort_values(["key", "query"], ignore_index=True))


def test_a_run_stopped_early_with_its_reason_counts_as_finished(stored, tmp_path):
    from nasloss_nb.search import whole_runs
    full = stored[1]
    assert whole_runs(full, 10) == set(full["key"])
    short = full[full["query"] <= 6]
    assert whole_runs(short, 10) == set()
    said = short.assign(stopped="table exhausted after 6 of 10 queries: no unqueried architecture of a new class is left")
    assert whole_runs(said, 10) == set(full["key"])           # the table ran out: finished, not rerun
    assert whole_runs(short.assign(stopped=True), 10) == set(full["key"])          # a run stored before the reason was


# --- 7. run_search arguments: every one checked before any work ---------------------------------------------
BAD_ARGS = [({"lr": "fast"}, "lr='fast'"), ({"lr": 0}, "lr=0"), ({"weight_decay": -1}, "weight_decay=-1"),
            ({"callback": 5}, "callback=5"), ({"loss_kwargs": [1]}, r"loss_kwargs=\[1\]"),
            ({"predictor_kwargs": {"hiden": 8}}, r"unknown argument\(s\) hiden for predictor 'gcn'"),
            ({"predictor_kwargs": [8]}, r"predictor_kwargs=\[8\]"), ({"epochs": 2.5}, "epochs=2.5"),
            ({"batch_size": 1}, "batch_size=1"), ({"device": "gpu"}, "device='gpu'")]


@pytest.mark.parametrize("kw, msg", BAD_ARGS + [({"device": "cuda"}, "device='cuda': this torch .* sees no CUDA GPU")])
def test_run_search_refuses_bad_arguments_before_any_query(kw, msg):
    from nasloss_nb.search import run_search
    if kw.get("device") == "cuda" and torch.cuda.is_available(): pytest.skip("this machine has CUDA")
    calls, args = [], {"epochs": 1, "callback": None, **kw}
    args["callback"] = args["callback"] if "callback" in kw else calls.append
    with pytest.raises(InvalidParameterError, match=msg):
        run_search("toy", None, "hr", 8, 0, n_init=4, k=3, n_candidates=8, **args)
    assert not calls                                             # nothing was queried


def test_batched_must_be_a_bool():
    from nasloss_nb.search import run_searches
    with pytest.raises(InvalidParameterError, match="batched='no': need true or false"):
        run_searches("toy", "hr", 8, [0, 1], n_init=4, k=3, n_candidates=8, epochs=1, batched="no")


def test_a_baseline_refuses_loss_kwargs_and_auto_is_a_device():
    from nasloss_nb.search import run_search
    with pytest.raises(InvalidParameterError, match="baseline 'random' trains no predictor, so it takes no loss_kwargs"):
        run_search("toy", None, "random", 8, 0, n_init=4, loss_kwargs={"margin": 1.0})
    h = run_search("toy", None, "hr", 8, 0, n_init=4, k=4, n_candidates=8, epochs=1, device="auto")   # resolved, not refused
    assert len(h) == 8


def test_an_entry_from_before_digests_is_checked_served_and_upgraded(tmp_cache):
    "Schema-1 entries (no digest) hold trainings that may have cost GPU hours: served after the value checks, filed again with a digest"
    from nasloss_nb import darts_train as dt
    fid = dt.get_fidelity(MICRO); r = _result(dt, fid); arch = tuple(r["arch"])
    p = dt.save_result(r)
    d = json.loads(p.read_text()); d.pop("digest"); d["schema"] = 1; p.write_text(json.dumps(d))
    assert dt.cached_result(arch, "fashion-mnist", fid, 0) == r
    assert json.loads(p.read_text())["schema"] == dt.RESULT_SCHEMA and "digest" in json.loads(p.read_text())
    d["val"] = float("nan"); p.write_text(json.dumps(d))                # an old entry with a bad value: retrained
    with pytest.warns(UserWarning, match="bad val=nan"):
        assert dt.cached_result(arch, "fashion-mnist", fid, 0) is None
