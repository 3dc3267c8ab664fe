#!/usr/bin/env python
"""Make (or resume) the example benchmark table of the digits space: `nasloss_nb.digits.make_table`.

    python tools/make_digits_table.py --n 300 --out data/examples/digits_cells.csv

Each row is flushed as soon as its cell is trained; rerunning the same command after an interruption
trains only the missing cells. See data/examples/README.md and nbs/02j_digits.ipynb.
"""
from __future__ import annotations
import argparse, shlex, sys, time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Train sampled digits cells into a CSV benchmark table (resumable)")
    p.add_argument("--n", type=int, default=300, help="cells in the finished table")
    p.add_argument("--out", default="data/examples/digits_cells.csv", help="CSV path (provenance JSON goes next to it)")
    p.add_argument("--seed", type=int, default=0, help="sampling and training seed")
    p.add_argument("--epochs", type=int, default=None, help="training epochs per cell (default: digits.EPOCHS)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per evaluation")
    p.add_argument("--max-nodes", type=int, default=5, help="largest cell, input and output included (3-5)")
    p.add_argument("--restart", action="store_true", help="start a new file instead of resuming")
    a = p.parse_args(argv)
    from nasloss_nb.digits import EPOCHS, make_table
    args = sys.argv[1:] if argv is None else argv
    command = " ".join(["python", "tools/make_digits_table.py", *map(shlex.quote, args)])
    t0 = time.perf_counter()
    def progress(i, row):
        print(f"{i:4d}/{a.n}  val {row['val']:.4f}  test {row['test']:.4f}  params {row['params']:6d}  "
              f"{row['train_seconds']:6.2f} s  {time.perf_counter() - t0:7.0f} s so far  {row['ops']}", flush=True)
    t = make_table(a.n, Path(a.out), a.seed, not a.restart, epochs=a.epochs or EPOCHS, threads=a.threads,
                   max_nodes=a.max_nodes, command=command, progress=progress)
    print(f"{len(t)} rows in {a.out}; val min {t.val.min():.4f} median {t.val.median():.4f} max {t.val.max():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
