#!/usr/bin/env bash
# Builds the loader fuzzers (libFuzzer + ASan + UBSan, clang-19; Debian: clang-19 libclang-rt-19-dev)
# and runs each for a bounded time from the seed corpus in tests/fuzz/corpus/.
#   usage: tools/run_fuzzers.sh [SECONDS_EACH=60] [TARGET...]     TARGET: npy npz idx (default all)
# A crash, a sanitizer report, an exception other than tapir::IOError (the targets abort on it)
# or one allocation above 64 MB (the targets set a 16 MiB tensor limit) fails the run; the input
# is kept in build-fuzz/artifacts/. Ends with "fuzz: N passed, M failed" and exits non-zero on any
# failure. Only the sources the loaders need are compiled, so the build takes seconds, not the
# whole library.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(npy npz idx)
CXX=${FUZZ_CXX:-clang++-19}
OUT=${FUZZ_BUILD:-build-fuzz}
command -v "$CXX" >/dev/null || { echo "fuzz: $CXX not found (apt-get install clang-19 libclang-rt-19-dev)"; exit 1; }

# The targets write each input to a file for the loaders to open: RAM is much faster than disk.
if [ -z "${TMPDIR:-}" ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
mkdir -p "$OUT/include" "$OUT/artifacts"
ln -sfn "$(pwd)" "$OUT/include/tapir"
FLAGS=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I"$OUT/include" $(pkg-config --cflags libzip zlib))
LIBS=($(pkg-config --libs libzip zlib))
LIB_SOURCES=(core/error.cpp core/shape_arith.cpp core/tensor.cpp core/kernels/elementwise.cpp core/npz.cpp data/idx.cpp)

# Compile the library sources once (object files reused while they are newer than their source).
objects=()
for src in "${LIB_SOURCES[@]}"; do
  obj="$OUT/obj/${src//\//_}.o"
  mkdir -p "$OUT/obj"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find core data -name '*.hpp' -newer "$obj" -print -quit)" ]; then
    "$CXX" "${FLAGS[@]/-fsanitize=fuzzer,/-fsanitize=fuzzer-no-link,}" -c "$src" -o "$obj"
  fi
  objects+=("$obj")
done

passed=0
failed=0
for t in "${TARGETS[@]}"; do
  bin="$OUT/fuzz_$t"
  "$CXX" "${FLAGS[@]}" "tests/fuzz/fuzz_$t.cpp" "${objects[@]}" "${LIBS[@]}" -o "$bin"
  work="$OUT/corpus/$t"   # grows with what the fuzzer finds; the committed seeds stay untouched
  mkdir -p "$work"
  log="$OUT/fuzz_$t.log"
  echo "== fuzz_$t: ${SECONDS_EACH} s"
  if ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     "$bin" -max_total_time="$SECONDS_EACH" -malloc_limit_mb=64 -rss_limit_mb=2048 -timeout=10 -max_len=4096 \
       -print_final_stats=1 -artifact_prefix="$OUT/artifacts/${t}-" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "fuzz_$t: ok ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') executions)"
  else
    failed=$((failed + 1))
    echo "fuzz_$t: FAILED — see $log"
    grep -E "ERROR|fuzz:|SUMMARY|Test unit written" "$log" | head -20 || true
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
