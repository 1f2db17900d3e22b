#!/usr/bin/env bash
# The notebook runner must fail on tests/notebooks/broken.ipynb and name cell 4 with the
# compiler's message.
set -uo pipefail
SRC=$1
out=$(python3 "$SRC/tools/run_notebook.py" "$SRC/tests/notebooks/broken.ipynb" 2>&1)
status=$?
echo "$out" | tail -n 20
[ $status -ne 0 ] || { echo "expected a failure"; exit 1; }
echo "$out" | grep -q "FAILED at cell 4" || { echo "wrong cell reported"; exit 1; }
echo "$out" | grep -q "no_such_op" || { echo "compiler message missing"; exit 1; }
echo "broken cell reported correctly"
