#!/usr/bin/env bash
# A rank that throws, throws uncaught, dies or hangs ends every rank, with a message, in < 30 s.
# usage: test_failure.sh MPIRUN FAILURE_PROG
set -u
mpirun=$1 prog=$2
failed=0
check() {  # mode, text the output must contain
  local mode=$1 want=$2 start end rc out
  start=$(date +%s.%N)
  out=$(timeout 60 "$mpirun" --oversubscribe --allow-run-as-root -np 2 "$prog" "$mode" 2>&1)
  rc=$?
  end=$(date +%s.%N)
  local secs
  secs=$(python3 -c "print(f'{$end - $start:.1f}')")
  local ok=1
  { [ $rc -ne 0 ] && [ $rc -ne 124 ]; } || ok=0          # 124: timeout killed a hung job
  grep -q -- "$want" <<<"$out" || ok=0
  python3 -c "import sys; sys.exit(0 if $end - $start < 30 else 1)" || ok=0
  if [ $ok -eq 0 ]; then
    echo "FAIL $mode: rc=$rc after ${secs}s, expected a non-zero exit in < 30 s with '$want'; output:"
    echo "$out" | head -40
    failed=1
  else
    echo "ok   $mode: rc=$rc after ${secs}s: $(grep -m1 -- "$want" <<<"$out")"
  fi
}
check throw "rank 1 of 2 failed: injected failure on rank 1"
check uncaught "rank 1 of 2 failed: uncaught exception: injected uncaught failure"
check die "exited on signal 9"
check hang "distributed::barrier did not complete within 3"
exit $failed
