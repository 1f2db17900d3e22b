#!/usr/bin/env bash
# Installs what is missing, builds tapir (release, -march=native) and runs the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
bash tools/build.sh build
if [ -x build/examples/bayesian_autoencoder ]; then
  build/examples/bayesian_autoencoder "$@"
else
  # until the Bayesian autoencoder lands: the tape training demo
  build/examples/tape_demo "$@"
fi
