"""Regenerate a committed results folder under `randomness: member` without touching it until the new one is whole.

    python tools/regen.py prepare experiments/configs/fig3.yaml /work/regen/fig3   # writes DIR/config.yaml, prints the command
    (run the printed command: it resumes where it stopped and is safe to SIGTERM)
    python tools/regen.py swap experiments/configs/fig3.yaml /work/regen/fig3      # checks, copies in, flips the config

`swap` refuses unless the new folder holds exactly the committed folder's runs: the same trials (space, task, label,
predictor, training size, seed) for a study, the same runs with as many queries for a search. Keys differ between the
two randomness modes (the mode is part of a row's settings), so runs are matched by those columns, not by key.
It prints how far the rows moved (study: mean |delta tau| per setting; search: runs ending on another best test value).
"""
import datetime, json, re, shutil, sys
from pathlib import Path

import pandas as pd

from nasloss_nb.search_runs import consolidate_search, search_results
from nasloss_nb.sweep import consolidate, results

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "data" / "results"
BLOCK = re.compile(r"(?:^#[^\n]*\n)?^randomness: block[ \t]*$", re.M)   # the mode line and the comment above it
STUDY_RUN = ["space", "task", "label", "predictor", "n_train", "seed"]
SEARCH_RUN = ["space", "task", "label", "seed"]


def _member_text(text: str, note: str) -> str:
    "The config text with its `randomness: block` line (and the comment above it) replaced by `member` and `note`"
    new, n = BLOCK.subn(f"# {note}\nrandomness: member", text)
    if n != 1: sys.exit(f"expected one 'randomness: block' line in the config, found {n}: is it regenerated already?")
    return new


def prepare(config: Path, scratch: Path) -> None:
    "Write scratch/config.yaml (the config under member) and print the command that fills scratch/out"
    name = config.stem
    kind = json.loads((RESULTS / name / "meta.json").read_text()).get("kind", "study")
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "config.yaml").write_text(_member_text(config.read_text(), "member: regeneration in progress"))
    cmd = "search" if kind == "search" else "study"
    print(f"nasloss {cmd} {scratch / 'config.yaml'} --out {scratch / 'out'} --workers 2")


def _runs(df: pd.DataFrame, search: bool) -> pd.Series:
    "Rows per run, indexed by the columns that name a run"
    return df.groupby(SEARCH_RUN if search else STUDY_RUN, dropna=False).size().sort_index()


def _moved(old: pd.DataFrame, new: pd.DataFrame, search: bool) -> str:
    "How far the regenerated rows are from the committed ones"
    if search:
        last = lambda d: d.sort_values("query").groupby(SEARCH_RUN)["best_test"].last()
        a, b = last(old), last(new).reindex(last(old).index)
        return f"{int((a != b).sum())} of {len(a)} runs end on another best test value; max |delta| {(a - b).abs().max():.4g}"
    key = ["space", "task", "label", "predictor", "n_train"]
    d = (new.groupby(key)["kendall_tau"].mean() - old.groupby(key)["kendall_tau"].mean()).abs()
    return f"mean |delta| of a setting's mean tau {d.mean():.4f} (max {d.max():.4f}, {len(d)} settings)"


def swap(config: Path, scratch: Path) -> None:
    "Check scratch/out against the committed folder, copy it in, and flip the config to member"
    name, out, dest = config.stem, scratch / "out", RESULTS / config.stem
    meta = json.loads((out / "meta.json").read_text())
    if meta.get("randomness") != "member": sys.exit(f"{out} was not run under member (meta.json: {meta})")
    search = meta.get("kind") == "search"
    (consolidate_search if search else consolidate)(out)
    read = search_results if search else results   # the store's own readers: meta.json and schema checked
    new, old = read(out), read(dest)
    a, b = _runs(old, search), _runs(new, search)
    if not a.equals(b):
        diff = a.to_frame("committed").join(b.to_frame("new"), how="outer").fillna(0)
        sys.exit(f"{out} does not hold the committed runs yet:\n{diff[diff.committed != diff.new].head(20)}")
    print(f"{name}: {len(new)} rows, {len(a)} runs; {_moved(old, new, search)}")
    for f in ("results.parquet", "meta.json"): shutil.copy2(out / f, dest / f)
    day = datetime.date.today().isoformat()
    note = f"regenerated {day} with each seed's own random streams: a seed's row is the same alone or in any block"
    config.write_text(_member_text(config.read_text(), note))


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("prepare", "swap"): sys.exit(__doc__)
    {"prepare": prepare, "swap": swap}[sys.argv[1]](Path(sys.argv[2]), Path(sys.argv[3]))
