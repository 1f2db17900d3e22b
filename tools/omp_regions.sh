#!/usr/bin/env bash
# Where a multi-threaded run loses time, region by OpenMP region (tools/omp_regions.c).
#
#   tools/omp_regions.sh [--per COUNT] [--top N] -- COMMAND [ARGS...]
#
# e.g. tools/omp_regions.sh -- build/benchmarks/tapir-bench --threads 2 \
#          --case train_step/autoencoder/b32 --min-time 3
# Builds the preload library into build/tools/ (gcc, once; $TAPIR_BUILD_DIR/tools/ when set),
# runs COMMAND under it and prints
# the report: the share of the run spent serial (between regions, or in regions that ran on
# one thread), the share lost inside team regions (waiting at joins), and each region
# function's calls and times.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
report_args=()
while [[ $# -gt 0 && "$1" != "--" ]]; do
  case "$1" in
    --per | --top)
      [[ $# -ge 2 ]] || { echo "omp_regions.sh: $1 needs a value" >&2; exit 2; }
      report_args+=("$1" "$2"); shift 2 ;;
    *) echo "omp_regions.sh: unknown option $1 (usage: $0 [--per COUNT] [--top N] -- COMMAND...)" >&2; exit 2 ;;
  esac
done
[[ "${1:-}" == "--" ]] && shift
[[ $# -gt 0 ]] || { echo "omp_regions.sh: no command (usage: $0 [--per COUNT] [--top N] -- COMMAND...)" >&2; exit 2; }

lib="${TAPIR_BUILD_DIR:-$root/build}/tools/omp_regions.so"
if [[ ! -f "$lib" || "$here/omp_regions.c" -nt "$lib" ]]; then
  mkdir -p "$(dirname "$lib")"
  tmp="$(mktemp "$lib.XXXXXX")"  # (two first runs at once each build their own, then rename)
  gcc -O2 -Wall -Wextra -shared -fPIC -fopenmp "$here/omp_regions.c" -o "$tmp" -ldl -lpthread
  mv -f "$tmp" "$lib"
fi
record="$(mktemp /tmp/omp_regions.XXXXXX)"
trap 'rm -f "$record"' EXIT
TAPIR_REGIONS_OUT="$record" LD_PRELOAD="$lib" "$@"
python3 "$here/omp_regions.py" "$record" "${report_args[@]}"
