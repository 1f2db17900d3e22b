#!/usr/bin/env python3
"""Times tapir and its peers side by side, in one run on one machine, and prints the ratios.

Peers: oneDNN 2.6 (benchmarks/peers/onednn_peer.cpp: deconvolution/convolution primitives) and
OpenBLAS 0.3.21 SGEMM (the same program), PyTorch 1.13 (benchmarks/peers/torch_peer.py). The
machine's fp32 FMA peak and memcpy bandwidth are measured in the same run (tapir-bench's
peak/fma and copy/16M), with the FMA rate of a register tile on operands in L1 (peak/tile: the
ceiling of the engine's FMA loops). Debian's OpenBLAS does not recognise recent Intel CPUs and falls back
to its slowest kernels, so OPENBLAS_CORETYPE is probed with a short SGEMM first and the peers run
with the fastest core type. Tools alternate round by round (tapir, oneDNN, PyTorch, then rotated),
so a slow spell of a shared machine hits every tool alike; each figure is the median over rounds
of the per-round medians, with the range beside it.

Only ratios from one run mean anything: machines of the same kind differ by 2x in peak and more
in memory bandwidth. Usage: tools/compare_peers.sh [--build-dir build] [--threads 1,2]
[--rounds 3] [--quick] [--out FILE.json]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

SHAPES = "abcd"
CORE_TYPES = ["", "SapphireRapids", "Cooperlake", "SkylakeX", "Haswell", "Zen"]
TORCH_PYTHON = "/usr/bin/python3"  # Debian's interpreter, where python3-torch lives


def run_json(cmd, env=None, timeout=1800):
    full_env = dict(os.environ, **(env or {}))
    r = subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()[-400:]}")
    return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]


def machine_description():
    model = platform.processor() or "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "kernel": platform.release()}


def probe_openblas(onednn_peer):
    """SGEMM 2048 at 1 thread under each OPENBLAS_CORETYPE; returns (best core type, all)."""
    results = {}
    for core in CORE_TYPES:
        env = {"OPENBLAS_CORETYPE": core} if core else {}
        rows = run_json([onednn_peer, "--case", "gemm/2048", "--threads", "1", "--json",
                         "--repeats", "3", "--min-time", "0.2"], env)
        results[core or "(default)"] = rows[0]["gflops"]
    best = max(results, key=results.get)
    return ("" if best == "(default)" else best), results


def case_lists(quick):
    shapes = "ad" if quick else SHAPES
    plain = [f"conv_transpose/{s}/{p}" for s in shapes for p in ("fwd", "fwdbwd")]
    conv = [f"convolution/{s}/fwd" for s in shapes]
    flip = [f"flipout_conv_transpose/{s}/fwdbwd" for s in shapes]
    return {
        "tapir": plain + conv + flip + ["train_step/autoencoder/b32", "gemm/2048"],
        "onednn": plain + conv + ["gemm/2048"],  # gemm/2048 here is OpenBLAS
        "torch": plain + conv + flip + ["train_step/autoencoder/b32"],
    }


def tool_command(tool, args, cases, threads):
    flags = ["--threads", str(threads), "--json", "--repeats", "5", "--min-time", "0.5"]  # the same for all
    for c in cases:
        flags += ["--case", c]
    if tool == "tapir":
        return [os.path.join(args.build_dir, "benchmarks", "tapir-bench")] + flags
    if tool == "onednn":
        return [os.path.join(args.build_dir, "benchmarks", "peers", "tapir-peer-onednn")] + flags
    return [TORCH_PYTHON, os.path.join(args.source_dir, "benchmarks", "peers", "torch_peer.py")] + flags


def measure(args, lists, threads_list, openblas_env):
    """samples[(tool, case, threads)] = [median_ms per round]; also the machine's peak, the FMA
    rate of a register tile on operands in L1 (the kernels' ceiling) and the copy bandwidth."""
    samples, peak, tile, copy = {}, {}, {}, {}
    tools = list(lists)
    for rnd in range(args.rounds):
        order = tools[rnd % len(tools):] + tools[:rnd % len(tools)]
        for threads in threads_list:
            rows = run_json(tool_command("tapir", args, ["peak/fma", "peak/tile", "copy/16M"], threads))
            for row in rows:
                target = {"peak/fma": peak, "peak/tile": tile}.get(row["case"], copy)
                value = row.get("gflops") or row.get("gbps")
                # a peak is the best the machine did: the fastest repetition, not the median
                value *= row["median_ms"] / row["min_ms"]
                target[threads] = max(target.get(threads, 0.0), value)
            for tool in order:
                env = openblas_env if tool != "tapir" else {}
                for row in run_json(tool_command(tool, args, lists[tool], threads), env):
                    samples.setdefault((tool, row["case"], threads), []).append(row["median_ms"])
            print(f"  round {rnd + 1}/{args.rounds}, {threads} thread(s) done", file=sys.stderr, flush=True)
    return samples, peak, tile, copy


def summarize(samples):
    out = {}
    for key, values in samples.items():
        out[key] = {"median_ms": statistics.median(values), "min_ms": min(values), "max_ms": max(values),
                    "rounds": len(values)}
    return out


def flops_of(case):
    dims = {"a": (32, 7, 64, 32, 5), "b": (32, 14, 32, 16, 5), "c": (32, 28, 16, 1, 5), "d": (64, 16, 128, 64, 3)}
    parts = case.split("/")
    if parts[0] == "gemm":
        return 2.0 * 2048 ** 3
    if parts[0] in ("conv_transpose", "convolution", "flipout_conv_transpose"):
        n, h, ci, co, k = dims[parts[1]]
        base = 2.0 * n * h * h * ci * co * k * k
        if parts[0] == "flipout_conv_transpose":
            return 6 * base
        return base * (3 if parts[2] == "fwdbwd" else 1)
    return None


def ratios(stats, threads_list, peak, tile, shapes):
    """The issue's comparisons, each with its target and whether this run met it."""
    def t(tool, case, th):
        s = stats.get((tool, case, th))
        return s["median_ms"] if s else None

    rows = []

    def add(name, value, target, ok, detail):
        rows.append({"comparison": name, "value": round(value, 3) if value is not None else None,
                     "target": target, "met": ok, "detail": detail})

    for th in threads_list:
        for s in shapes:
            tp, od = t("tapir", f"conv_transpose/{s}/fwdbwd", th), t("onednn", f"conv_transpose/{s}/fwdbwd", th)
            if tp and od:
                limit = 1.2 if s == "c" else 1.0
                add(f"plain conv-T {s} fwd+bwd, tapir time / oneDNN time ({th}T)", tp / od, f"<= {limit}",
                    tp / od <= limit, f"tapir {tp:.2f} ms, oneDNN {od:.2f} ms")
            fl = t("tapir", f"flipout_conv_transpose/{s}/fwdbwd", th)
            if fl and od:
                add(f"Flipout {s} fwd+bwd, tapir time / two oneDNN plain fwd+bwd ({th}T)", fl / (2 * od),
                    "<= 0.9" if s != "c" else "(no target on c)", fl / (2 * od) <= 0.9 if s != "c" else None,
                    f"tapir {fl:.2f} ms, 2 x oneDNN {2 * od:.2f} ms")
            if fl and th in peak:
                pct = flops_of(f"flipout_conv_transpose/{s}/fwdbwd") / (fl * 1e6) / peak[th]
                add(f"Flipout {s} fwd+bwd, fraction of the FMA peak ({th}T)", pct,
                    ">= 0.70" if s != "c" else "(no target on c)", pct >= 0.70 if s != "c" else None,
                    f"{flops_of(f'flipout_conv_transpose/{s}/fwdbwd') / (fl * 1e6):.1f} of {peak[th]:.1f} GFLOP/s")
            if fl and th in tile:
                rate = flops_of(f"flipout_conv_transpose/{s}/fwdbwd") / (fl * 1e6)
                add(f"Flipout {s} fwd+bwd, fraction of the L1 register-tile rate ({th}T)", rate / tile[th],
                    "(no target)", None, f"{rate:.1f} of {tile[th]:.1f} GFLOP/s")
            pt = t("torch", f"flipout_conv_transpose/{s}/fwdbwd", th)
            if fl and pt:
                add(f"Flipout {s} fwd+bwd, PyTorch time / tapir time ({th}T)", pt / fl, ">= 3", pt / fl >= 3,
                    f"PyTorch {pt:.2f} ms, tapir {fl:.2f} ms")
        tp, pt = t("tapir", "train_step/autoencoder/b32", th), t("torch", "train_step/autoencoder/b32", th)
        if tp and pt:
            add(f"autoencoder training step, PyTorch time / tapir time ({th}T)", pt / tp,
                ">= 3" if th == 1 else "(no target)", pt / tp >= 3 if th == 1 else None,
                f"PyTorch {pt:.1f} ms, tapir {tp:.1f} ms")
    if 1 in threads_list and 2 in threads_list:
        t1, t2 = t("tapir", "train_step/autoencoder/b32", 1), t("tapir", "train_step/autoencoder/b32", 2)
        if t1 and t2:
            add("autoencoder training step, tapir 1T time / 2T time", t1 / t2, ">= 1.8", t1 / t2 >= 1.8,
                f"1T {t1:.1f} ms, 2T {t2:.1f} ms")
    for th in threads_list:
        tg, ob = t("tapir", "gemm/2048", th), t("onednn", "gemm/2048", th)
        if tg and ob:
            add(f"SGEMM 2048, OpenBLAS time / tapir time ({th}T)", ob / tg, ">= 1.0" if th == 1 else "(no target)",
                ob / tg >= 1.0 if th == 1 else None, f"tapir {tg:.1f} ms, OpenBLAS {ob:.1f} ms")
    return rows


def print_tables(stats, lists, threads_list, peak, tile, copy, machine, openblas):
    print(f"\nMachine: {machine['cpu']}, {machine['cores']} cores, kernel {machine['kernel']}")
    for th in threads_list:
        share = f" ({100 * tile[th] / peak[th]:.0f}% of it)" if peak.get(th) and th in tile else ""
        print(f"  {th} thread(s): fp32 FMA peak {peak.get(th, 0):.1f} GFLOP/s, register tile on L1 operands "
              f"{tile.get(th, 0):.1f}{share}, memcpy {copy.get(th, 0):.1f} GB/s")
    print(f"  OpenBLAS SGEMM 2048 by OPENBLAS_CORETYPE (1T, GFLOP/s): "
          + ", ".join(f"{k} {v:.0f}" for k, v in openblas["probe"].items())
          + f"; peers run with '{openblas['chosen'] or '(default)'}'")
    cases = sorted({c for tool in lists for c in lists[tool]})
    print("\n| case | threads | tapir ms | oneDNN ms | PyTorch ms | tapir GFLOP/s | % of peak |")
    print("|---|---|---|---|---|---|---|")
    for th in threads_list:
        for c in cases:
            cells = []
            for tool in ("tapir", "onednn", "torch"):
                s = stats.get((tool, c, th))
                cells.append(f"{s['median_ms']:.2f} ({s['min_ms']:.2f}–{s['max_ms']:.2f})" if s else "–")
            tp = stats.get(("tapir", c, th))
            f = flops_of(c)
            gf = f"{f / (tp['median_ms'] * 1e6):.1f}" if tp and f else "–"
            pct = f"{100 * f / (tp['median_ms'] * 1e6) / peak[th]:.0f}%" if tp and f and th in peak else "–"
            print(f"| {c} | {th} | " + " | ".join(cells) + f" | {gf} | {pct} |")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description="tapir vs oneDNN / OpenBLAS / PyTorch, side by side")
    p.add_argument("--build-dir", default=os.path.join(os.path.dirname(here), "build"))
    p.add_argument("--source-dir", default=os.path.dirname(here))
    p.add_argument("--threads", default="1,2")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="shapes a and d only")
    p.add_argument("--out", help="also write the JSON report to this file (atomically)")
    args = p.parse_args()
    threads_list = [int(x) for x in args.threads.split(",")]
    onednn_peer = os.path.join(args.build_dir, "benchmarks", "peers", "tapir-peer-onednn")
    missing = []
    if not os.path.exists(onednn_peer):
        missing.append(f"{onednn_peer} (libdnnl-dev and libopenblas-dev, then reconfigure)")
    if subprocess.run([TORCH_PYTHON, "-c", "import torch"], capture_output=True).returncode != 0:
        missing.append("PyTorch (python3-torch)")
    if missing:
        print("compare_peers: missing " + "; ".join(missing) + ". Install them with tools/install_peers.sh.",
              file=sys.stderr)
        return 2
    machine = machine_description()
    print("probing OPENBLAS_CORETYPE ...", file=sys.stderr, flush=True)
    chosen, probe = probe_openblas(onednn_peer)
    openblas_env = {"OPENBLAS_CORETYPE": chosen} if chosen else {}
    lists = case_lists(args.quick)
    samples, peak, tile, copy = measure(args, lists, threads_list, openblas_env)
    stats = summarize(samples)
    openblas = {"chosen": chosen, "probe": probe}
    print_tables(stats, lists, threads_list, peak, tile, copy, machine, openblas)
    comparisons = ratios(stats, threads_list, peak, tile, "ad" if args.quick else SHAPES)
    print("\n| comparison | value | target | met | detail |\n|---|---|---|---|---|")
    for r in comparisons:
        met = {True: "yes", False: "**no**", None: "–"}[r["met"]]
        print(f"| {r['comparison']} | {r['value']} | {r['target']} | {met} | {r['detail']} |")
    report = {
        "machine": machine, "fma_peak_gflops": peak, "tile_l1_gflops": tile, "memcpy_gbps": copy,
        "openblas": openblas,
        "rounds": args.rounds,
        "results": [{"tool": k[0], "case": k[1], "threads": k[2], **v} for k, v in sorted(stats.items())],
        "comparisons": comparisons,
    }
    text = json.dumps(report, indent=1)
    print("\n" + text)
    if args.out:
        directory = os.path.dirname(os.path.abspath(args.out))
        with tempfile.NamedTemporaryFile("w", dir=directory, delete=False) as f:
            f.write(text + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(f.name, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
