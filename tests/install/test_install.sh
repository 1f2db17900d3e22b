#!/usr/bin/env bash
# Installs tapir into a temporary destdir and builds programs against the installation both
# ways a user would: `g++ ... $(pkg-config --cflags --libs tapir)` (and tapir-viz), and a CMake
# project with find_package(tapir CONFIG) and the imported targets tapir::tapir and tapir::viz.
# usage: test_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BUILD=$1
SRC=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
meson install -C "$BUILD" --no-rebuild --destdir "$TMP/root" --quiet

# ---- pkg-config
PC=$(dirname "$(find "$TMP/root" -name tapir.pc | head -n 1)")
[ -f "$PC/tapir-viz.pc" ] || { echo "tapir-viz.pc is not installed beside tapir.pc"; exit 1; }
export PKG_CONFIG_PATH="$PC"
# the package was staged under a destdir: point pkg-config's prefix there
PREFIX="$TMP/root$(pkg-config --variable=prefix tapir)"
pc() { pkg-config --define-variable=prefix="$PREFIX" "$@"; }
LIBDIR=$(pc --variable=libdir tapir)
# libtapir itself must not drag in the plotting library
if ldd "$LIBDIR/libtapir.so" | grep -q plplot; then echo "libtapir links PLplot"; exit 1; fi
g++ -std=c++17 -O1 ${TAPIR_TEST_CXXFLAGS:-} "$SRC/tests/install/prog.cpp" $(pc --cflags --libs tapir) -o "$TMP/prog"
g++ -std=c++17 -O1 ${TAPIR_TEST_CXXFLAGS:-} "$SRC/tests/install/prog_viz.cpp" $(pc --cflags --libs tapir-viz) -o "$TMP/prog_viz"
LD_LIBRARY_PATH="$LIBDIR" "$TMP/prog"
LD_LIBRARY_PATH="$LIBDIR" "$TMP/prog_viz" "$TMP/pkgconfig.png"
echo "pkg-config: ok"

# ---- CMake: the package file must lie beside the pkg-config files and find everything by itself
[ -f "$LIBDIR/cmake/tapir/tapirConfig.cmake" ] || { echo "no $LIBDIR/cmake/tapir/tapirConfig.cmake"; exit 1; }
[ -f "$LIBDIR/cmake/tapir/tapirConfigVersion.cmake" ] || { echo "no tapirConfigVersion.cmake"; exit 1; }
cp -r "$SRC/tests/install/cmake_project" "$TMP/project"
cp "$SRC/tests/install/prog.cpp" "$SRC/tests/install/prog_viz.cpp" "$TMP/"
cmake -S "$TMP/project" -B "$TMP/cmake-build" -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS="-O1 ${TAPIR_TEST_CXXFLAGS:-}" -DCMAKE_EXE_LINKER_FLAGS="${TAPIR_TEST_CXXFLAGS:-}" > "$TMP/cmake.log" \
  || { cat "$TMP/cmake.log"; exit 1; }
cmake --build "$TMP/cmake-build" > "$TMP/cmake-build.log" || { cat "$TMP/cmake-build.log"; exit 1; }
LD_LIBRARY_PATH="$LIBDIR" "$TMP/cmake-build/prog"
LD_LIBRARY_PATH="$LIBDIR" "$TMP/cmake-build/prog_viz" "$TMP/cmake.png"
# a version the package cannot satisfy, and an unknown component, are refused
cat > "$TMP/project/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(tapir_refused CXX)
find_package(tapir ${WANT_VERSION} CONFIG REQUIRED COMPONENTS ${WANT_COMPONENTS})
CMAKE
if cmake -S "$TMP/project" -B "$TMP/refused1" -DCMAKE_PREFIX_PATH="$PREFIX" -DWANT_VERSION=9.0 -DWANT_COMPONENTS=viz > /dev/null 2>&1; then
  echo "find_package(tapir 9.0) succeeded against version 0.1"; exit 1
fi
if cmake -S "$TMP/project" -B "$TMP/refused2" -DCMAKE_PREFIX_PATH="$PREFIX" -DWANT_VERSION=0.1 -DWANT_COMPONENTS=nosuch > "$TMP/refused2.log" 2>&1; then
  echo "find_package(tapir COMPONENTS nosuch) succeeded"; exit 1
fi
grep -q "no component 'nosuch'" "$TMP/refused2.log" || { cat "$TMP/refused2.log"; exit 1; }
echo "cmake: ok"
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
