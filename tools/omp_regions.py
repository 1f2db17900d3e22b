#!/usr/bin/env python3
"""Report of tools/omp_regions.c's record: where a multi-threaded run's time goes.

    python3 tools/omp_regions.py RECORD [--top N] [--per COUNT]

Shares are of the elapsed time from the first region's fork to the last one's join:
  serial between regions   the calling thread outside any region (the other threads idle:
                           ops below their parallel grain, the tape, allocation)
  regions on one thread    regions whose team was one thread (a false `if` clause,
                           num_threads(1)): serial work as well
  regions on a team        fork to join of the regions that ran on two or more threads
  lost in team regions     their thread time (wall x team) not spent in the region body:
                           threads waiting at the join for the slowest one, or starting late
Per region function (the outlined body, named by addr2line): calls (and how many on one
thread), wall time, the calling thread's and the mean busy time, the slowest thread's excess
over the mean, the start lag (these four over the team calls), and the serial time just before
its calls. With --per COUNT, times are per unit of COUNT (e.g. the number of training steps
the run made) instead of totals.
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
            calls, single = int(p[0]), int(p[1])
            wall, single_wall, thread_time, busy_sum, busy_mean, busy_max, busy_caller, lag, gap = map(float, p[2:11])
            rows.append(dict(calls=calls, single=single, wall=wall, single_wall=single_wall, thread_time=thread_time,
                             busy_sum=busy_sum, busy_mean=busy_mean, busy_max=busy_max, busy_caller=busy_caller,
                             lag=lag, gap=gap, key=(p[11], p[12])))
    if not rows or elapsed <= 0:
        sys.exit("omp_regions: empty record (no top-level OpenMP region ran?)")
    names = symbolize([r["key"] for r in rows])
    total = lambda k: sum(r[k] for r in rows)
    serial, single_wall = total("gap"), total("single_wall")
    team_wall = total("wall") - single_wall
    thread_time = total("thread_time")
    lost = (thread_time - total("busy_sum")) / thread_time if thread_time > 0 else 0.0
    pct = lambda x: f"{100 * x / elapsed:5.1f} %"
    print(f"elapsed {elapsed:.3f} s, at most {threads} threads, {total('calls')} regions"
          f" ({len(rows)} functions){'; OVERFLOW: some regions or threads not recorded' if overflow else ''}")
    print(f"  serial between regions {pct(serial)}")
    print(f"  regions on one thread  {pct(single_wall)}   ({total('single')} calls)")
    print(f"  regions on a team      {pct(team_wall)}")
    print(f"  the calling thread alone: {100 * (serial + single_wall) / elapsed:.1f} % of the run")
    print(f"  lost in team regions   {100 * lost:5.1f} % of their thread time (waiting at joins, starting late)")
    unit, scale = ("per unit, us", 1e6 / args.per) if args.per else ("total, ms", 1e3)
    count = (lambda c: c / args.per) if args.per else (lambda c: c)
    print(f"\n{unit}: calls (one-thread)  wall  busy(caller)  busy(mean)  slowest-mean  start-lag  serial-before  region")
    for r in sorted(rows, key=lambda r: -r["wall"])[: args.top]:
        print(f"{count(r['calls']):8.1f} ({count(r['single']):6.1f}) {r['wall'] * scale:9.1f} {r['busy_caller'] * scale:9.1f}"
              f" {r['busy_mean'] * scale:9.1f} {(r['busy_max'] - r['busy_mean']) * scale:8.1f} {r['lag'] * scale:7.1f}"
              f" {r['gap'] * scale:9.1f}  {short(names[r['key']], 110)}")

if __name__ == "__main__":
    main()
