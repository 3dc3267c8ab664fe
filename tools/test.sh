#!/usr/bin/env bash
# The whole test suite, as README command (2) and CI run it:
#   1. the library is generated from the notebooks: `nbdev_export` must leave nasloss_nb/ unchanged;
#   2. every notebook runs and its assertions pass (`nbdev_test`); at least one notebook must be found;
#   3. pytest runs the cross-module tests and must collect at least one test.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${NASLOSS_BIN:-.venv/bin}
if [ -z "${NASLOSS_DATA:-}" ] && [ -d ../shared/data ]; then export NASLOSS_DATA="$(cd ../shared/data && pwd)"; fi
export NASLOSS_CACHE=${NASLOSS_CACHE:-$PWD/.cache}
echo "data root: ${NASLOSS_DATA:-<unset: tests that need benchmark files will fail or skip>}; cache: $NASLOSS_CACHE"

snap=$(mktemp -d); trap 'rm -rf "$snap"' EXIT
cp -r nasloss_nb "$snap/lib"
"$BIN/nbdev_export"
if ! diff -r -q -x __pycache__ -x registry.json "$snap/lib" nasloss_nb; then
  echo "FAIL: nbdev_export changed nasloss_nb/ (the committed library is stale): run nbdev_export, nbdev_clean, commit" >&2
  exit 1
fi
echo "ok: nasloss_nb/ matches the notebooks"

mapfile -t nbs < <(find nbs -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' -not -name '_*' | sort)
if [ "${#nbs[@]}" -eq 0 ]; then echo "FAIL: no notebook to test" >&2; exit 1; fi
echo "testing ${#nbs[@]} notebooks: ${nbs[*]}"
"$BIN/nbdev_test" --n_workers "${NBDEV_WORKERS:-2}" --do_print --timing

set +e
# two worker processes (pytest-xdist; one test file per worker at a time, so module fixtures are built once):
# the suite is CPU-bound and single-threaded, so this nearly halves its time on two cores
"$BIN/python" -m pytest -q -n "${PYTEST_WORKERS:-2}" --dist loadfile tests
rc=$?
set -e
if [ "$rc" -eq 5 ]; then echo "FAIL: pytest collected no test" >&2; exit 1; fi
exit "$rc"
