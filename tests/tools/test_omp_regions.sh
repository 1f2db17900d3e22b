#!/usr/bin/env bash
# tools/omp_regions.sh on a real run: it builds its shim, records the regions of a 2-thread
# tapir-bench case (softplus over 16M floats: nearly all of its time in team regions, the
# threads busy for most of each region) and reports shares and times that say so.
# usage: test_omp_regions.sh BUILD_ROOT SOURCE_ROOT TAPIR_BENCH
set -euo pipefail
build="$1" src="$2" bench="$3"
out="$(TAPIR_BUILD_DIR="$build" bash "$src/tools/omp_regions.sh" --top 5 -- \
         "$bench" --threads 2 --case softplus/16M --min-time 0.2)"
echo "$out"
REPORT="$out" python3 - <<'PY'
import os, re, sys
out = os.environ["REPORT"]
def share(label):
    m = re.search(r"^  " + label + r"\s+([\d.]+) %", out, re.M)
    if not m: sys.exit("FAIL: no '%s' share in the report" % label)
    return float(m.group(1))
serial, single, team = share("serial between regions"), share("regions on one thread"), share("regions on a team")
if abs(serial + single + team - 100) > 0.5: sys.exit("FAIL: the shares do not add up to the run")
if team < 50: sys.exit("FAIL: a 16M-float softplus at 2 threads spent only %.1f %% in team regions" % team)
rows = [l for l in out.splitlines() if re.match(r"^ +[\d.]+ \( *[\d.]+\)", l) and "softplus" in l]
if not rows: sys.exit("FAIL: no region line names softplus")
calls, single_calls, wall, busy_caller, busy_mean, excess = map(float, re.findall(r"[\d.]+", rows[0])[:6])
if not (calls >= 2 and single_calls == 0): sys.exit("FAIL: softplus calls %s (%s on one thread)" % (calls, single_calls))
# the slowest thread works through nearly all of each region, and both threads work: the busy
# times are measured, not implied (loose bounds: another load on the machine delays a thread)
busy_max = busy_mean + excess
if not (0.6 * wall <= busy_max <= 1.001 * wall and busy_mean >= 0.3 * wall and busy_caller <= 1.001 * wall):
    sys.exit("FAIL: busy times caller %s, mean %s, slowest %s against a wall time of %s"
             % (busy_caller, busy_mean, busy_max, wall))
print("omp_regions: OK")
PY
