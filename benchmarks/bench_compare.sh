#!/usr/bin/env bash
# Before/after speed figures: bench_search.py and bench_train.py of an older revision and of this working tree, run
# alternately (old, new, old, new) in one go on this machine, so the ratios are comparable. Prints the figures.
#   NASLOSS_DATA=../shared/data bash benchmarks/bench_compare.sh OLD_REV [ROUNDS=2]
# Each side runs its own tree's scripts and package (they put their repository first on sys.path).
set -euo pipefail
cd "$(dirname "$0")/.."
old_rev=${1:?usage: bench_compare.sh OLD_REV [ROUNDS]}; rounds=${2:-2}
PY=${PY:-$PWD/.venv/bin/python}
old=$(mktemp -d); trap 'git worktree remove --force "$old" >/dev/null 2>&1 || rm -rf "$old"' EXIT
git worktree add -q --detach "$old" "$old_rev"
SEARCH=(--runs 5 --budget 40)                                   # 5 NB201 runs, budget 40: the loop and its training
TRAIN=(--parts trial many --seeds 10 --epochs 50)                # one trial and 10 seeds batched: the training path
for r in $(seq "$rounds"); do
  for side in "old:$old" "new:$PWD"; do
    name=${side%%:*}; dir=${side#*:}
    echo "=== round $r, $name ($( [ "$name" = old ] && echo "$old_rev" || git rev-parse --short HEAD)+worktree) ==="
    (cd "$dir" && "$PY" benchmarks/bench_search.py "${SEARCH[@]}" 2>&1 | grep -E "one run|runs|per run" | head -6)
    (cd "$dir" && "$PY" benchmarks/bench_train.py "${TRAIN[@]}" 2>&1 | grep -vE "^\s*$" | head -8)
  done
done
