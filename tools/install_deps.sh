#!/usr/bin/env bash
# Installs what tapir needs on Debian 12, skipping packages already present.
set -euo pipefail
PACKAGES=(
  g++ meson ninja-build pkg-config ccache          # toolchain (ccache: faster rebuilds in CI)
  libxtensor-dev libxsimd-dev xtl-dev              # tensors, SIMD
  doctest-dev                                       # tests
  cmake                                             # the install test builds a CMake project against tapir
  zlib1g-dev                                        # IDX (gzip) data files
  libzip-dev                                        # .npz model/optimizer files NumPy can read
  libstb-dev                                        # tapir-viz: PNG encoding, image grids (stb_image_write)
  libplplot-dev plplot-driver-cairo fonts-dejavu-core  # tapir-viz: figures (PLplot's cairo driver, its text font)
  libcli11-dev nlohmann-json3-dev                   # example programs: flags, JSON summaries
  dataset-fashion-mnist                             # the main job's data
  python3 python3-nbformat                          # notebook runner, notebook validation
  clang-19 clang-tools-19                           # clang-repl-19 executes the notebooks
  libopenmpi-dev openmpi-bin                        # tapir::distributed (optional: meson -Dmpi=auto)
  libclang-rt-19-dev                                # libFuzzer + sanitizer runtimes (tools/run_fuzzers.sh)
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
echo "install_deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
