#!/usr/bin/env bash
# tools/omp_regions.sh on a real run: it builds its shim, records the regions of a 2-thread
# tapir-bench case and reports shares that add up, naming the case's region function.
# usage: test_omp_regions.sh BUILD_ROOT SOURCE_ROOT TAPIR_BENCH
set -euo pipefail
build="$1" src="$2" bench="$3"
out="$(TAPIR_BUILD_DIR="$build" bash "$src/tools/omp_regions.sh" --top 5 -- \
         "$bench" --threads 2 --case softplus/16M --min-time 0.2)"
echo "$out"
fail() { echo "FAIL: $*"; exit 1; }
grep -q "2 threads" <<<"$out" || fail "no thread count in the report"
in_regions=$(awk '/^  in regions/ {print $3}' <<<"$out")
serial=$(awk '/^  serial/ {print $2}' <<<"$out")
[[ -n "$in_regions" && -n "$serial" ]] || fail "no shares in the report"
python3 - "$in_regions" "$serial" <<'PY' || fail "shares do not add up to the elapsed time"
import sys
a, b = map(float, sys.argv[1:])
# a 16M-float softplus runs almost all of its time inside its regions
sys.exit(0 if abs(a + b - 100) < 0.5 and a > 50 else 1)
PY
grep -E "^ +[0-9.]+ .*softplus" <<<"$out" >/dev/null || fail "no region line names softplus"
echo "omp_regions: OK"
