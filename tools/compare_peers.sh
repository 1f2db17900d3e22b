#!/usr/bin/env bash
# tapir vs oneDNN 2.6, OpenBLAS 0.3.21 and PyTorch 1.13, timed side by side in one run
# (tools/compare_peers.py says how). The peers are not build dependencies: install them once with
# tools/install_peers.sh, which also reconfigures the build so the oneDNN peer is compiled.
#   tools/compare_peers.sh [--build-dir build] [--threads 1,2] [--rounds 3] [--quick] [--out FILE.json]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$here/../build"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = "--build-dir" ] && build="${args[$((i + 1))]}"
done
targets=(benchmarks/tapir-bench)
ninja -C "$build" -t targets all | grep -q '^benchmarks/peers/tapir-peer-onednn:' && targets+=(benchmarks/peers/tapir-peer-onednn)
ninja -C "$build" "${targets[@]}" >/dev/null
exec python3 "$here/compare_peers.py" "$@"
