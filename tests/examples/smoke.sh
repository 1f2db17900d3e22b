#!/usr/bin/env bash
# Smoke run of a training program on a data subset: a two-epoch run interrupted after 3 steps
# (--stop-after), then --resume to the end from the checkpoint; the result must equal an
# uninterrupted two-epoch run exactly (weights, optimizer state and schedule position, draw
# counters and data order all resume). Checks the PNGs and the JSON
# summary (finite metrics).
set -euo pipefail
PROGRAM=$1
shift
OUT=$(mktemp -d)
STRAIGHT=$(mktemp -d)
trap 'rm -rf "$OUT" "$STRAIGHT"' EXIT
"$PROGRAM" --out-dir "$OUT" --epochs 2 --stop-after 3 --threads 2 "$@" > "$OUT/log1.txt"
"$PROGRAM" --out-dir "$OUT" --epochs 2 --threads 2 --resume "$@" > "$OUT/log2.txt"
"$PROGRAM" --out-dir "$STRAIGHT" --epochs 2 --threads 1 "$@" > "$STRAIGHT/log.txt"
tail -n 3 "$OUT/log2.txt"
for f in "$OUT"/*.png; do head -c 8 "$f" | od -An -c | grep -q "P   N   G" || { echo "not a PNG: $f"; exit 1; }; done
ls "$OUT"/*.png > /dev/null
python3 - "$OUT/summary.json" "$STRAIGHT/summary.json" <<'PY'
import json, math, sys
s = json.load(open(sys.argv[1]))
t = json.load(open(sys.argv[2]))
nums = {k: v for k, v in s.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
bad = [k for k, v in nums.items() if not math.isfinite(v)]
assert not bad, f"non-finite metrics: {bad}"
assert s["steps"] > 0, "no steps recorded"
# everything the model computes must match the uninterrupted run (timings and threads aside)
skip = {"threads", "train_seconds_this_run", "train_images_per_second"}
diff = {k: (v, t.get(k)) for k, v in nums.items() if k not in skip and v != t.get(k)}
assert not diff, f"resumed run differs from the uninterrupted one: {diff}"
print("summary ok, resumed == uninterrupted:", {k: round(v, 4) if isinstance(v, float) else v for k, v in nums.items()})
PY
grep -q "epoch 2" "$OUT/log2.txt" || { echo "resume did not continue into epoch 2"; exit 1; }
grep -q "epoch 1  step 3/" "$OUT/log2.txt" && { echo "resume repeated the steps before the interruption"; exit 1; }
grep -q "epoch 1  step 4/" "$OUT/log2.txt" || { echo "resume did not start at step 4"; exit 1; }
echo "smoke run ok"
