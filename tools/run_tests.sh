#!/usr/bin/env bash
# Builds tapir and runs every test suite; ends with one line "N passed, M failed".
# usage: tools/run_tests.sh [BUILD_DIR] [extra meson options, e.g. -Dsanitize_all=true]
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
shift || true
tools/build.sh "$BUILD" "$@" || { echo "0 passed, 1 failed"; exit 1; }
meson test -C "$BUILD" --print-errorlogs --num-processes 1 --timeout-multiplier 3
status=$?
python3 tools/test_summary.py "$BUILD/meson-logs/testlog.json"
summary=$?
[ $status -eq 0 ] && [ $summary -eq 0 ]
