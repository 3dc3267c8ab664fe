"""Regenerate a committed results folder under `randomness: member` without touching it until the new one is whole.

    python tools/regen.py prepare experiments/configs/fig3.yaml /work/regen/fig3   # writes DIR/config.yaml, prints the command
    (run the printed command: it resumes where it stopped and is safe to SIGTERM)
    python tools/regen.py swap experiments/configs/fig3.yaml /work/regen/fig3      # checks, copies in, flips the config

`swap` refuses unless the new folder holds exactly the committed folder's runs: the same trials (space, task, label,
predictor, training size, seed) for a study, the same runs with as many queries for a search. Keys differ between the
two randomness modes (the mode is part of a row's settings), so runs are matched by those columns, not by key.
It prints how far the rows moved (study: mean |delta tau| per setting; search: runs ending on another best test value).

    python tools/regen.py add experiments/configs/study_auto_fig2.yaml /work/regen/auto_run [--made-here]

`add` copies into the committed folder the runs a scratch folder holds and it lacks (the config's seeds grew, or a run
was cut short), leaving the committed rows as they are. Every added run must be one its config defines (by key) and
run in the same randomness mode. Each added row keeps the CPU kind it was made on (`machine`); rows made before rows
recorded it take the scratch folder's meta.json, or with --made-here this machine's (say so only when it is true).
"""
import datetime, json, re, shutil, sys
from pathlib import Path

import pandas as pd

from nasloss_nb.reproduce_row import defined_keys
from nasloss_nb.runs import machine, made_on
from nasloss_nb.search_runs import consolidate_search, search_results, write_runs
from nasloss_nb.sweep import consolidate, results, write_rows

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


def add(config: Path, scratch: Path, made_here: bool = False) -> None:
    "Copy the runs `scratch` holds and the committed folder lacks into it, each row stamped with the CPU kind that made it"
    dest = RESULTS / config.stem
    meta, mine = (json.loads((d / "meta.json").read_text()) for d in (scratch, dest))
    if meta.get("randomness") != mine.get("randomness"):
        sys.exit(f"{scratch} ran under {meta.get('randomness')!r}, {dest} holds {mine.get('randomness')!r} rows: not one set")
    search = mine.get("kind") == "search"
    read = search_results if search else results
    new, old = read(scratch), read(dest)
    new = new[~new["key"].isin(set(old["key"]))].copy()
    if new.empty: sys.exit(f"{scratch} holds no run that {dest} lacks")
    if stray := sorted(set(new["key"]) - defined_keys(config)):
        sys.exit(f"runs {stray[:5]} of {scratch} are not ones that {config} defines: nothing was added")
    who = meta.get("machine") or (machine() if made_here else None)
    unstamped = new.get("machine", pd.Series(None, index=new.index, dtype=object)).isna()
    if unstamped.any() and who is None:
        sys.exit(f"{int(unstamped.sum())} rows do not record their CPU kind and {scratch}/meta.json does not either: "
                 "rerun with --made-here if this machine made them")
    new["machine"] = made_on(new, {"machine": who})
    if search: write_runs(dest, new)                 # the store's own writers (one part per trial or run), then merged
    else: write_rows(dest, new.to_dict("records"))
    (consolidate_search if search else consolidate)(dest)
    runs = new.groupby(["space", "task", "label"])["seed"].agg(lambda s: f"{s.nunique()} runs, seeds {s.min()}-{s.max()}")
    print(f"{config.stem}: added {new['key'].nunique()} runs ({len(new)} rows) made on {sorted(set(new['machine']))}\n{runs.to_string()}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--made-here"]
    if len(args) != 3 or args[0] not in ("prepare", "swap", "add"): sys.exit(__doc__)
    if args[0] == "add": add(Path(args[1]), Path(args[2]), made_here="--made-here" in sys.argv)
    else: {"prepare": prepare, "swap": swap}[args[0]](Path(args[1]), Path(args[2]))
