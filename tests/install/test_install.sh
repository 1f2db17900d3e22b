#!/usr/bin/env bash
# Installs tapir into a temporary prefix and builds a small training program against it
# with nothing but `g++ -std=c++17 prog.cpp $(pkg-config --cflags --libs tapir)`.
set -euo pipefail
BUILD=$1
SRC=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
meson install -C "$BUILD" --no-rebuild --destdir "$TMP/root" --quiet
PC=$(dirname "$(find "$TMP/root" -name tapir.pc | head -n 1)")
export PKG_CONFIG_PATH="$PC"
# the package was staged under a destdir: point pkg-config's prefix there
PREFIX="$TMP/root$(pkg-config --variable=prefix tapir)"
pc() { pkg-config --define-variable=prefix="$PREFIX" "$@" tapir; }
FLAGS=$(pc --cflags --libs)
g++ -std=c++17 -O1 ${TAPIR_TEST_CXXFLAGS:-} "$SRC/tests/install/prog.cpp" $FLAGS -o "$TMP/prog"
LIBDIR=$(pc --variable=libdir)
LD_LIBRARY_PATH="$LIBDIR" "$TMP/prog"
