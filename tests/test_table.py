"Your own space: a table file loads as a space and the study, the CLI and the reports run on it; its graphs never go stale"
import json, os, subprocess, sys
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from nasloss_nb.cells import GraphCell
from nasloss_nb.encodings import dense_graphs
from nasloss_nb.report import recommend
from nasloss_nb.spaces import load_space
from nasloss_nb.spaces.table import TableSpace
from nasloss_nb.study import run_trials

BIN = Path(sys.executable).parent
OPS = ["conv3x3", "conv1x1", "maxpool3x3"]


def synthetic_table(n=300, seed=0, ops=OPS):
    "A graph table with a known, learnable value: conv3x3 nodes help, long paths help, pooling costs"
    cell, rng = GraphCell(ops, max_nodes=6), np.random.default_rng(seed)
    rows = []
    for code in cell.sample(n, rng):
        adj, names = cell.decode(code)
        v = 0.6 + 0.05 * names.count(ops[0]) + 0.02 * int(np.sum(adj)) - 0.04 * names.count(ops[2]) + rng.normal(0, 0.005)
        rows.append({"adjacency": json.dumps(adj), "ops": json.dumps(names), "val": v, "test": v + rng.normal(0, 0.005),
                     "params": int(rng.integers(1000, 9000))})
    return pd.DataFrame(rows)


def test_table_file_runs_the_study_and_recommend(tmp_path):
    synthetic_table().to_csv(tmp_path / "mine.csv", index=False)
    space = load_space("table", path=tmp_path / "mine.csv")
    assert (space.name, space.task, len(space)) == ("table", "mine", 300) and "params" in space.summary()["extra columns"]
    rows = run_trials(space, "hr", "gcn", n_train=60, seeds=[0, 1, 2], epochs=40)
    rows += run_trials(space, "mse", "gcn", n_train=60, seeds=[0, 1, 2], epochs=40)
    assert np.mean([r["kendall_tau"] for r in rows]) > 0.3          # the value is learnable from the graphs
    rec = recommend(rows, space="table", n_train=50)
    assert set(rec["label"]) == {"hr", "mse"} and "nearest studied 60" in rec["note"].iloc[0]


def test_same_name_and_size_tables_keep_their_own_graphs(tmp_path):
    a = synthetic_table(seed=0); b = a.copy()
    swap = {"conv3x3": "maxpool3x3", "maxpool3x3": "conv3x3"}                # a bijection: other graphs, no new repeats
    b["ops"] = [json.dumps([swap.get(o, o) for o in json.loads(x)]) for x in a["ops"]]
    (tmp_path / "x").mkdir(); (tmp_path / "y").mkdir()
    a.to_csv(tmp_path / "x" / "t.csv", index=False); b.to_csv(tmp_path / "y" / "t.csv", index=False)
    sa, sb = load_space("table", path=tmp_path / "x" / "t.csv"), load_space("table", path=tmp_path / "y" / "t.csv")
    assert (sa.name, sa.task, len(sa)) == (sb.name, sb.task, len(sb))
    xa, xb = dense_graphs(sa)["x"].numpy(), dense_graphs(sb)["x"].numpy()
    k3, kp = sa.node_types.index("conv3x3"), sa.node_types.index("maxpool3x3")
    assert sa.node_types == sb.node_types and xa[..., k3].sum() == xb[..., kp].sum() and not np.array_equal(xa, xb)


def test_table_of_a_builtin_gives_its_kendall_tau():
    "NB201 CIFAR-10 written as NB201 strings and read back as a table: the same trial, the same tau within seed noise"
    nb201 = load_space("nb201", "cifar10")
    table = TableSpace.from_frame(pd.DataFrame({"arch": [nb201.arch_str(a) for a in nb201], "val": nb201.val, "test": nb201.test}))
    seeds = list(range(6))
    t1 = [r["kendall_tau"] for r in run_trials(nb201, "hr", "gcn", n_train=156, seeds=seeds, epochs=60)]
    t2 = [r["kendall_tau"] for r in run_trials(table, "hr", "gcn", n_train=156, seeds=seeds, epochs=60)]
    se = np.sqrt(np.var(t1, ddof=1) / len(t1) + np.var(t2, ddof=1) / len(t2))
    assert abs(np.mean(t1) - np.mean(t2)) < 3 * se + 0.01, (t1, t2)
    assert np.mean(t2) > 0.4


def test_nasloss_study_and_report_on_a_table(tmp_path):
    synthetic_table(n=120).to_csv(tmp_path / "mine.csv", index=False)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"name: mine\nspaces:\n  - {{space: table, task: mine, n_train: [30], options: {{path: {tmp_path / 'mine.csv'}, kind: graph}}}}\n"
                   "losses: [hr, mse]\npredictors: [gcn]\nseeds: 2\nepochs: 5\n")
    env = dict(os.environ)
    run = lambda *a: subprocess.run([str(BIN / "nasloss"), *a], capture_output=True, text=True, env=env, timeout=600)
    r = run("study", str(cfg), "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr[-2000:]
    r = run("report", str(tmp_path / "out"), "--recommend")
    assert r.returncode == 0 and "| table | mine |" in r.stdout, r.stdout + r.stderr[-2000:]


def test_nasloss_search_and_report_on_a_sample_table(tmp_path):
    "A search config on a table that is a sample of a bigger space: every run reaches its budget, the report prints"
    synthetic_table(n=80).to_csv(tmp_path / "mine.csv", index=False)
    cfg = tmp_path / "search.yaml"
    cfg.write_text(f"name: s\nbudget: 30\nseeds: 2\nepochs: 5\nspaces:\n  - {{space: table, options: {{path: {tmp_path / 'mine.csv'}}}}}\n"
                   "methods: [hr, random, rea]\n")
    run = lambda *a: subprocess.run([str(BIN / "nasloss"), *a], capture_output=True, text=True, env=dict(os.environ), timeout=600)
    r = run("search", str(cfg), "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr[-2000:]
    from nasloss_nb.search import search_results
    h = search_results(tmp_path / "out")
    assert set(h["task"]) == {"mine"} and h.groupby(["label", "seed"]).size().eq(30).all() and (h["stopped"] == "").all()
    assert h["replaced"].sum() > 0                                   # 80 of the spec's cells: mutants leave the table
    r = run("report", str(tmp_path / "out"), "--search")
    assert r.returncode == 0 and "| table | mine | hr | 2 |" in r.stdout, r.stdout + r.stderr[-2000:]
