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
# With MPI, libtapir-distributed is installed with its own pkg-config file: a program using it
# compiles and links with `pkg-config --cflags --libs tapir-distributed` (not run: that needs mpirun).
if [ -n "$(find "$TMP/root" -name tapir-distributed.pc | head -n 1)" ]; then
  printf '%s\n' '#include <tapir/distributed/distributed.hpp>' \
    'int main(int argc, char** argv) { tapir::distributed::Context mpi(&argc, &argv); return tapir::distributed::world_size() > 0 ? 0 : 1; }' \
    > "$TMP/dist.cpp"
  # --define-variable would move Open MPI's prefix too: copies of the staged .pc files with
  # their prefix rewritten, and ompi-c (Requires) from its real place.
  mkdir -p "$TMP/pc"
  for f in "$PC"/tapir*.pc; do sed "s|^prefix=.*|prefix=$PREFIX|" "$f" > "$TMP/pc/$(basename "$f")"; done
  PKG_CONFIG_PATH="$TMP/pc" pkg-config --print-requires tapir-distributed | grep -q ompi-c
  DFLAGS=$(PKG_CONFIG_PATH="$TMP/pc" pkg-config --cflags --libs tapir-distributed)
  g++ -std=c++17 -O1 ${TAPIR_TEST_CXXFLAGS:-} "$TMP/dist.cpp" $DFLAGS -o "$TMP/dist"
  echo "tapir-distributed: compiled and linked against the installed package"
fi
