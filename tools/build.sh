#!/usr/bin/env bash
# Configures (once) and builds tapir. usage: tools/build.sh [BUILD_DIR] [extra meson options...]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
shift || true
if command -v ccache >/dev/null; then export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/tapir-ccache}; fi
if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" --buildtype=release "$@"
fi
ninja -C "$BUILD" -j "$(nproc)"
