#!/usr/bin/env bash
# Installs tapir under a temporary destdir and runs every notebook against that installation
# (tools/run_notebook.py --prefix) in the xeus-cling mode: what a user with tapir installed next
# to xeus-cling runs. (Both modes run against the build folder in the notebook_* tests; one mode
# here keeps CI's time in check: notebook 04 trains for about a minute.) usage: test_installed.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BUILD=$1
SRC=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
meson install -C "$BUILD" --no-rebuild --destdir "$TMP/root" --quiet
PREFIX="$TMP/root$(meson introspect "$BUILD" --buildoptions | python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')"
[ -f "$PREFIX/include/tapir/tapir.hpp" ] || { echo "no tapir.hpp under $PREFIX"; exit 1; }
for nb in "$SRC"/examples/notebooks/*.ipynb; do
  python3 "$SRC/tools/run_notebook.py" --quiet --mode xcpp --prefix "$PREFIX" "$nb"
done
echo "every notebook ran against the installation in $PREFIX"
