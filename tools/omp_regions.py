#!/usr/bin/env python3
"""Report of tools/omp_regions.c's record: where a multi-threaded run's time goes.

    python3 tools/omp_regions.py RECORD [--top N] [--per COUNT]

Shares are of the elapsed time from the first region's fork to the last one's join:
  in regions       fork to join of every top-level OpenMP region
  serial           the calling thread outside any region (the other threads wait: ops below
                   their parallel grain, the tape, allocation)
  lost in regions  wall x threads - busy time: threads waiting at a region's end for the
                   slowest one, or starting late (start lag)
Per region function (the outlined body, named by addr2line): calls, wall time, the calling
thread's and the mean busy time, the slowest thread's excess over the mean, the start lag, and
the serial time just before its calls. With --per COUNT, times are per unit of COUNT (e.g. the
number of training steps the run made) instead of totals.
"""
import argparse
import re
import subprocess
import sys
from collections import defaultdict


def symbolize(entries):
    """{(file, offset): name} through one addr2line call per file."""
    by_file = defaultdict(list)
    for f, off in entries:
        by_file[f].append(off)
    names = {}
    for f, offs in by_file.items():
        if f == "?":
            for o in offs:
                names[(f, o)] = "?"
            continue
        try:
            out = subprocess.run(["addr2line", "-f", "-C", "-e", f] + offs, capture_output=True, text=True,
                                 check=False).stdout.splitlines()
        except OSError:
            out = []
        for i, o in enumerate(offs):
            name = out[2 * i] if 2 * i < len(out) else "??"
            names[(f, o)] = name if name != "??" else f"{f.rsplit('/', 1)[-1]}+{o}"
    return names


def mangled_words(name):
    """The identifiers of a mangled name c++filt could not read (a lambda's outlined region):
    its length-prefixed words, e.g. '[kernels in_blocks apply_signs SignRun]'."""
    words, i = [], 0
    while i < len(name):
        m = re.match(r"\d+", name[i:])
        # S2_, T0_: substitutions; Lm3E: a literal — not lengths
        if not m or (i > 0 and name[i - 1] in "ST") or (i > 1 and name[i - 2] == "L"):
            i += len(m.group(0)) if m else 1
            continue
        n, j = int(m.group(0)), i + len(m.group(0))
        word = name[j:j + n]
        if re.fullmatch(r"[A-Za-z_]\w*", word) and len(word) == n:
            words.append(word)
            i = j + n
        else:
            i = j
    skip = {"tapir", "simd", "parallel_for", "_GLOBAL__N_1"}
    return "[" + " ".join(w for w in words if w not in skip) + "]"


def short(name, width):
    if name.startswith("_Z"):
        name = mangled_words(name)
    name = name.replace("(anonymous namespace)", "anon")
    name = re.sub(r"\(.*$", "", name)  # drop the argument list
    # the wrappers every element-wise loop shares, so that the op's own name shows
    for wrapper in (r"void ", r"tapir::simd::parallel_for<", r"tapir::simd::map_outputs<\w+, \d+ul, ",
                    r"tapir::simd::map_with_grain<\w+, ", r"tapir::kernels::in_blocks<"):
        name = re.sub("^" + wrapper, "", name)
    return name[:width]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("record")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--per", type=float, default=0, help="divide times by this count (e.g. steps)")
    args = ap.parse_args()
    rows = []
    elapsed, threads, overflow = 0.0, 1, 0
    with open(args.record) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if line.startswith("#"):
                elapsed, threads, overflow = float(p[1]), int(p[3]), int(p[5])
                continue
            calls = int(p[0])
            wall, busy_sum, busy_max, busy0, lag, gap = map(float, p[1:7])
            rows.append(dict(calls=calls, wall=wall, busy_sum=busy_sum, busy_max=busy_max, busy0=busy0, lag=lag,
                             gap=gap, key=(p[7], p[8])))
    if not rows or elapsed <= 0:
        sys.exit("omp_regions: empty record (no top-level OpenMP region ran?)")
    names = symbolize([r["key"] for r in rows])
    in_regions = sum(r["wall"] for r in rows)
    serial = sum(r["gap"] for r in rows)
    busy = sum(r["busy_sum"] for r in rows)
    lost = in_regions * threads - busy
    print(f"elapsed {elapsed:.3f} s, {threads} threads, {sum(r['calls'] for r in rows)} regions"
          f" ({len(rows)} functions){'; OVERFLOW: some regions not recorded' if overflow else ''}")
    print(f"  in regions      {100 * in_regions / elapsed:5.1f} %")
    print(f"  serial          {100 * serial / elapsed:5.1f} %   (the other threads idle)")
    print(f"  lost in regions {100 * lost / (elapsed * threads):5.1f} % of thread time"
          f" (waiting at joins, starting late)")
    unit, scale = ("per unit, us", 1e6 / args.per) if args.per else ("total, ms", 1e3)
    print(f"\n{unit}: calls  wall  busy(caller)  busy(mean)  slowest-mean  start-lag  serial-before  region")
    for r in sorted(rows, key=lambda r: -r["wall"])[: args.top]:
        mean = r["busy_sum"] / threads
        calls = r["calls"] / args.per if args.per else r["calls"]
        print(f"{calls:8.1f} {r['wall'] * scale:9.1f} {r['busy0'] * scale:9.1f} {mean * scale:9.1f}"
              f" {(r['busy_max'] - mean) * scale:8.1f} {r['lag'] * scale:7.1f} {r['gap'] * scale:9.1f}  "
              f"{short(names[r['key']], 110)}")


if __name__ == "__main__":
    main()
