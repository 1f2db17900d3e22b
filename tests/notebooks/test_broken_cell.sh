#!/usr/bin/env bash
# The notebook runner must fail on tests/notebooks/broken.ipynb and name cell 4 with the
# compiler's message. usage: test_broken_cell.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
SRC=$1
BUILD=$2
out=$(python3 "$SRC/tools/run_notebook.py" --mode plain --build-dir "$BUILD" "$SRC/tests/notebooks/broken.ipynb" 2>&1)
status=$?
echo "$out" | tail -n 20
[ $status -ne 0 ] || { echo "expected a failure"; exit 1; }
echo "$out" | grep -q "FAILED at cell 4" || { echo "wrong cell reported"; exit 1; }
echo "$out" | grep -q "no_such_op" || { echo "compiler message missing"; exit 1; }
# a build folder without tapir is refused before anything runs
out=$(python3 "$SRC/tools/run_notebook.py" --build-dir /nonexistent "$SRC/tests/notebooks/broken.ipynb" 2>&1)
[ $? -eq 2 ] || { echo "a missing build folder was not refused: $out"; exit 1; }
echo "$out" | grep -q "/nonexistent/include has no tapir/tapir.hpp" || { echo "wrong message: $out"; exit 1; }
echo "broken cell reported correctly"
