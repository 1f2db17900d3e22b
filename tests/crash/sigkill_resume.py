#!/usr/bin/env python3
"""SIGKILL test of tfn::Checkpoint: a training process that checkpoints after every step is
killed at random moments and started again; each trial must end with exactly (bit for bit) the
final metrics of a run that was never killed.

usage: sigkill_resume.py CRASH_TRAIN [--kills 36] [--steps 300] [--seed 13] [--budget 150]
Fails if any trial differs, if fewer than --kills kills hit a live process, or past the budget
(--budget s, or 60 uninterrupted runs' time when the machine is that slow).
"""
import argparse, os, random, shutil, signal, subprocess, sys, tempfile, time

p = argparse.ArgumentParser()
p.add_argument("program")
p.add_argument("--kills", type=int, default=36)
p.add_argument("--kills-per-trial", type=int, default=4)
p.add_argument("--steps", type=int, default=300)
p.add_argument("--seed", type=int, default=int(os.environ.get("TAPIR_CRASH_SEED", "13")))
p.add_argument("--budget", type=float, default=150.0)
a = p.parse_args()
rng = random.Random(a.seed)
env = dict(os.environ, OMP_NUM_THREADS="1")
start = time.monotonic()
root = tempfile.mkdtemp(prefix="tapir_sigkill_")

def run_to_end(d):
    r = subprocess.run([a.program, d, str(a.steps)], env=env, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        sys.exit(f"run in {d} failed ({r.returncode}): {r.stderr}")
    return r.stdout

try:
    t0 = time.monotonic()
    reference = run_to_end(os.path.join(root, "reference"))
    full_run = time.monotonic() - t0
    print(f"uninterrupted run: {a.steps} steps in {full_run:.2f} s")
    # On a loaded machine every run is slower; the budget follows (about 27 runs' worth are needed).
    budget = max(a.budget, 60 * full_run)
    kills = trials = differing = 0
    landed = []  # newest checkpoint step after each kill: shows the kills hit mid-run
    while kills < a.kills:
        if time.monotonic() - start > budget:
            sys.exit(f"FAIL: time budget {budget:.0f} s spent after {kills} kills")
        trials += 1
        d = os.path.join(root, f"trial{trials}")
        for _ in range(a.kills_per_trial):
            proc = subprocess.Popen([a.program, d, str(a.steps)], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(rng.uniform(0.05 * full_run, 0.8 * full_run))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                proc.wait()
                names = sorted(n for n in os.listdir(d) if n.startswith("ckpt-") and n.endswith(".npz")) \
                    if os.path.isdir(d) else []
                landed.append(int(names[-1][5:25]) if names else 0)
            proc.wait()
            if proc.returncode not in (0, -signal.SIGKILL):
                sys.exit(f"FAIL: trial {trials} exited with {proc.returncode}: {proc.stderr.read().decode()}")
            proc.stderr.close()
        out = run_to_end(d)  # resume and finish
        if out != reference:
            differing += 1
            print(f"trial {trials} differs:\n{out}\nexpected:\n{reference}")
        shutil.rmtree(d, ignore_errors=True)
    took = time.monotonic() - start
    mid = sum(1 for s in landed if 0 < s < a.steps)
    print(f"{kills} SIGKILLs in {trials} trials, {differing} differing runs, {took:.1f} s; "
          f"{mid} kills after a checkpoint and before the end (newest checkpoint step at the kills: "
          f"{sorted(landed)})")
    if mid < kills // 2:
        sys.exit(f"FAIL: only {mid} of {kills} kills landed mid-run; the test would not test resuming")
    sys.exit(1 if differing else 0)
finally:
    shutil.rmtree(root, ignore_errors=True)
