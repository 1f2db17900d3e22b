#!/usr/bin/env bash
# The classifier under `mpirun -np 2` on a data subset: trains data-parallel (per-rank batch,
# global batch recorded), prints from rank 0 only, writes one summary, resumes from rank 0's
# checkpoint. usage: mpi_smoke.sh MPIRUN PROGRAM [program flags...]
set -euo pipefail
MPIRUN=$1 PROGRAM=$2
shift 2
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
run() { "$MPIRUN" --oversubscribe --allow-run-as-root -np 2 -x OMP_NUM_THREADS=1 "$PROGRAM" --out-dir "$OUT" --threads 1 "$@"; }
run --epochs 2 --stop-after 3 "$@" > "$OUT/log1.txt"
run --epochs 2 --resume "$@" > "$OUT/log2.txt"
tail -n 3 "$OUT/log2.txt"
[ "$(grep -c '^Bayesian classifier:' "$OUT/log1.txt")" -eq 1 ] || { echo "the header was printed by more than one rank"; exit 1; }
grep -q "x 2 ranks" "$OUT/log1.txt" || { echo "the run did not report 2 ranks"; exit 1; }
grep -q "epoch 1  step 4/" "$OUT/log2.txt" || { echo "resume did not start at step 4"; exit 1; }
python3 - "$OUT/summary.json" <<'PY'
import json, math, sys
s = json.load(open(sys.argv[1]))
assert s["world_size"] == 2, s["world_size"]
assert s["global_batch_size"] == 2 * s["batch_size"], (s["global_batch_size"], s["batch_size"])
assert s["steps"] == 2 * (s["train_images"] // s["global_batch_size"]), s["steps"]
assert math.isfinite(s["test_accuracy"]) and math.isfinite(s["test_nll"])
print("mpi smoke ok:", {k: s[k] for k in ("world_size", "batch_size", "global_batch_size", "steps", "test_accuracy")})
PY
