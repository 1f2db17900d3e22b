#!/usr/bin/env bash
# Installs the benchmark peers (not needed to build or test tapir): PyTorch 1.13, oneDNN 2.6,
# OpenBLAS 0.3.21 from Debian 12, then reconfigures BUILD_DIR (default build) so meson finds
# oneDNN and compiles benchmarks/peers/tapir-peer-onednn.
set -euo pipefail
build="${1:-build}"
PEERS=(python3-torch libdnnl-dev libopenblas-dev libopenblas0-pthread)
missing=()
for p in "${PEERS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
[ -d "$build" ] && meson setup --reconfigure "$build" >/dev/null
echo "install_peers: ${PEERS[*]} present; $build reconfigured"
