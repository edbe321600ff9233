"""Soak test: long training on procedural dSprites under random SIGKILLs, against a run left alone.

One ``python -m disentangled train`` child at a time trains the beta-VAE (Burgess 64x64 net,
batch 32, one thread) towards a step target worth ``--seconds`` of uninterrupted training,
checkpointing every ``--checkpoint-seconds`` (both converted to steps by a short calibration
run). Each child is SIGKILLed after a delay drawn uniformly from [``--kill-min``,
``--kill-max``] s (a seeded RNG) and restarted with ``--resume`` until the target step is
reached; after every kill the newest checkpoint must load. Then an uninterrupted run of the same
config and seed trains to the same step, and the two are compared: every tensor of the final
checkpoints (weights, Adam moments, RNG states) and the checkpoint's JSON state must be equal
(CPU training resumes bit for bit), and so must the final loss (mean of the last
``--last-losses`` logged values).

Memory: every ``--sample-seconds`` each process's VmRSS (resident memory) and VmHWM (its peak
so far) are read from /proc/PID/status. A process's warm-up lasts at least ``--warmup-seconds``
(imports, dataset) and until it has written a checkpoint and logged diagnostics once (their
working set is the largest of a run); samples before that are left out. The allocator tuning
(``disentangled._malloc``) keeps freed heap for reuse, so the level a fresh process settles at
varies by up to ~8 % between processes in the same state, while one process stays within ~1 %.
Hence two checks:

- across the killed run: the median of the first three children's median RSS against that of
  the last three, under ``--max-growth-across`` (10 %);
- within one process: the uninterrupted run (one process for the whole run), the median RSS of
  its last quarter of post-warm-up samples against its first quarter, under ``--max-growth``
  (5 %).

    python benchmarks/soak.py --seconds 3600 --out soak.json
    python benchmarks/soak.py --seconds 150 --kill-min 20 --kill-max 60 --checkpoint-seconds 10 \\
        --sample-seconds 1 --warmup-seconds 10 --diagnostics-every 200 --out soak.json  # short

Exit code 0 when every check passes, 1 otherwise; the summary is printed and written as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PRESET = "betavae-dsprites"
# Burgess net at batch 32: the project's dSprites network, at half the paper's batch so a step
# costs ~30-50 ms on one core; diagnostics and logging as in a normal run.
OVERRIDES = ["batch_size=32", "progress=false", "log_every=50", "keep_checkpoints=2"]
CHILD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
MB = 1024  # KiB per MiB


@dataclass
class Child:
    """One training process: how it ended and its memory samples."""

    label: str
    resumed_from: int | None  # checkpoint step it resumed from; None: a fresh start
    kill_after_s: float | None  # None: never killed
    outcome: str = "running"  # killed | finished
    seconds: float = 0.0
    last_logged_step: int | None = None  # the last step in metrics.jsonl when it ended
    partial_writes: int = 0  # temporary checkpoint files it left (killed mid-write)
    warm_at: float | None = None  # seconds after its start when its warm-up ended
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (s, VmRSS, VmHWM) KiB

    def warm(self) -> list[tuple[int, int]]:
        """(VmRSS, VmHWM) in KiB of the samples after warm-up."""
        if self.warm_at is None:
            return []
        return [(rss, hwm) for t, rss, hwm in self.samples if t >= self.warm_at]


# ---- files of a run -------------------------------------------------------------------------


def records(run: Path) -> list[dict[str, Any]]:
    """Training records of metrics.jsonl (no events or diagnostics); a torn line is skipped."""
    path = run / "metrics.jsonl"
    out = []
    for line in path.read_text().splitlines() if path.is_file() else []:
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if "event" not in r and "kind" not in r and "loss" in r:
            out.append(r)
    return out


def checkpoint_steps(run: Path) -> list[int]:
    from disentangled.train.checkpoint import list_checkpoints

    return [int(p.stem.split("_")[1]) for p in list_checkpoints(run / "checkpoints")]


def newest_loadable(run: Path) -> int | None:
    """Step of the newest checkpoint, which must load (a CheckpointError propagates)."""
    from disentangled.train.checkpoint import list_checkpoints, load_checkpoint

    paths = list_checkpoints(run / "checkpoints")
    return load_checkpoint(paths[-1]).step if paths else None


def warmed_up(run: Path, since: int | None) -> bool:
    """Whether the child that started at step ``since`` has written a checkpoint and logged a
    diagnostics record (the diagnostics' working set is the largest of a run)."""
    steps = checkpoint_steps(run)
    if not steps or steps[-1] <= (since or 0):
        return False
    path = run / "metrics.jsonl"
    for line in reversed(path.read_text().splitlines() if path.is_file() else []):
        if '"diagnostics"' in line:
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if r.get("kind") == "diagnostics" and r["step"] > (since or 0):
                return True
    return False


# ---- children -------------------------------------------------------------------------------


def train_argv(run: Path, overrides: list[str] | None) -> list[str]:
    """A fresh run into ``run`` with ``overrides``, or (None) ``--resume run``."""
    argv = [sys.executable, "-m", "disentangled", "train"]
    if overrides is None:
        return [*argv, "--resume", str(run)]
    return [*argv, "--preset", PRESET, "--out", str(run), "--overwrite", *overrides]


def memory_kb(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) of a live process in KiB, None once it is gone."""
    found: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    found[line[:5]] = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return (found["VmRSS"], found["VmHWM"]) if len(found) == 2 else None


def watch(child: Child, argv: list[str], run: Path, final: Path, log: Path, every: float,
          warmup: float) -> None:  # fmt: skip
    """Run ``argv`` to its end or its kill time, sampling its memory until ``final`` exists
    (the final figures are not training). Raises SystemExit if it fails."""
    env = {**os.environ, **CHILD_ENV}
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = math.inf if child.kill_after_s is None else start + child.kill_after_s
        next_sample = start
        while proc.poll() is None:
            now = time.perf_counter()
            if now >= deadline:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                child.outcome = "killed"
                break
            if now >= next_sample:
                mem = memory_kb(proc.pid)
                if mem is not None and not final.is_file():
                    child.samples.append((round(now - start, 2), *mem))
                    if (
                        child.warm_at is None
                        and now - start >= warmup
                        and warmed_up(run, child.resumed_from)
                    ):
                        child.warm_at = round(now - start, 2)
                next_sample = max(next_sample + every, now)
            time.sleep(max(0.0, min(next_sample, deadline) - time.perf_counter()))
        child.seconds = round(time.perf_counter() - start, 2)
    if child.outcome != "killed":
        if proc.returncode != 0:
            raise SystemExit(f"{child.label} exited {proc.returncode}; see {log}")
        child.outcome = "finished"
    rs = records(run)
    child.last_logged_step = rs[-1]["step"] if rs else None
    child.partial_writes = len(list((run / "checkpoints").glob(".step_*.tmp")))


# ---- calibration, the killed run, the uninterrupted run ------------------------------------


def calibrate(work: Path, steps: int) -> float:
    """Steps per second of the soak's config on this machine (after start-up)."""
    run = work / "calibration"
    argv = train_argv(run, [*OVERRIDES, f"steps={steps}", "log_every=10", "diagnostics_every=0"])
    with open(work / "calibration.log", "wb") as out:
        code = subprocess.call(argv, env={**os.environ, **CHILD_ENV}, stdout=out, stderr=out)
    if code != 0:
        raise SystemExit(f"the calibration run exited {code}; see {work / 'calibration.log'}")
    rs = records(run)
    a, b = rs[1], rs[-1]  # the first record holds the first steps' one-off costs
    shutil.rmtree(run)
    return (b["step"] - a["step"]) / max(b["time"] - a["time"], 1e-9)


def run_overrides(target: int, every: int, args: argparse.Namespace) -> list[str]:
    """The config of both runs: the soak's overrides, the step target and checkpoint interval."""
    over = [*OVERRIDES, f"steps={target}", f"checkpoint_every={every}", f"seed={args.seed}"]
    if args.diagnostics_every is not None:
        over.append(f"diagnostics_every={args.diagnostics_every}")
    return over


def final_checkpoint(run: Path, target: int) -> Path:
    return run / "checkpoints" / f"step_{target:09d}.safetensors"


def soak(work: Path, overrides: list[str], target: int, args: argparse.Namespace) -> list[Child]:
    """Train ``work/killed`` to ``target`` steps under random SIGKILLs; one Child per process."""
    rng = random.Random(args.seed)
    run, children = work / "killed", []
    final = final_checkpoint(run, target)
    while not final.is_file():
        resumed = newest_loadable(run) if run.is_dir() else None
        child = Child(f"child {len(children)}", resumed, rng.uniform(args.kill_min, args.kill_max))
        children.append(child)
        argv = train_argv(run, overrides if resumed is None else None)
        log = work / f"child_{len(children) - 1:03d}.log"
        watch(child, argv, run, final, log, args.sample_seconds, args.warmup_seconds)
        print(
            f"{child.label:>9}: {child.outcome:<8} after {child.seconds:7.1f} s (resumed from "
            f"{child.resumed_from}, last logged step {child.last_logged_step}, newest "
            f"checkpoint {newest_loadable(run)})",
            flush=True,
        )
    return children


def uninterrupted(work: Path, overrides: list[str], target: int, args) -> Child:
    run = work / "uninterrupted"
    child = Child("uninterrupted", None, None)
    final = final_checkpoint(run, target)
    watch(child, train_argv(run, overrides), run, final, work / "uninterrupted.log",
          args.sample_seconds, args.warmup_seconds)  # fmt: skip
    return child


# ---- comparison -----------------------------------------------------------------------------


def compare_checkpoints(a: Path, b: Path) -> dict[str, Any]:
    """Every tensor and the JSON state of two checkpoints: equal or not, and what differs."""
    from disentangled.train.checkpoint import load_checkpoint

    ca, cb = load_checkpoint(a), load_checkpoint(b)
    differ = sorted(set(ca.tensors) ^ set(cb.tensors))
    for k in sorted(set(ca.tensors) & set(cb.tensors)):
        x, y = ca.tensors[k], cb.tensors[k]
        if x.dtype != y.dtype or x.shape != y.shape or not bool((x == y).all()):
            differ.append(k)
    state_equal = ca.state == cb.state
    return {
        "tensors": len(ca.tensors),
        "differing_tensors": differ[:20],
        "state_equal": state_equal,
        "equal": not differ and state_equal,
    }


def final_loss(run: Path, last: int) -> float:
    return statistics.fmean([r["loss"] for r in records(run)][-last:])


def mb(kb: float) -> float:
    return round(kb / MB, 1)


def memory(children: list[Child], alone: Child, k: int = 3) -> dict[str, Any]:
    """RSS after warm-up (MB) and its growth across the killed run (the median of the first ``k``
    children's medians against that of the last ``k``) and within the uninterrupted process (the
    median of its last quarter of samples against its first quarter); peaks (VmHWM) reported."""
    warm = [c.warm() for c in children if c.warm()]
    out: dict[str, Any] = {"children_past_warmup": len(warm)}
    if len(warm) >= 2:
        k = min(k, len(warm) // 2)
        levels = [statistics.median(r for r, _ in w) for w in warm]
        first, last = statistics.median(levels[:k]), statistics.median(levels[-k:])
        out.update(
            first_mb=mb(first),
            last_mb=mb(last),
            max_mb=mb(max(r for w in warm for r, _ in w)),
            children_compared=k,
            growth=round(last / first - 1, 4),
            child_levels_mb=[mb(v) for v in levels],
            peak_first_mb=mb(warm[0][-1][1]),
            peak_last_mb=mb(warm[-1][-1][1]),
        )
    w = alone.warm()
    if len(w) >= 4:
        q = len(w) // 4
        start, end = statistics.median(r for r, _ in w[:q]), statistics.median(r for r, _ in w[-q:])
        out["uninterrupted"] = {
            "seconds_after_warmup": round(alone.samples[-1][0] - (alone.warm_at or 0.0), 1),
            "start_mb": mb(start),
            "end_mb": mb(end),
            "growth": round(end / start - 1, 4),
            "peak_at_warmup_mb": mb(w[0][1]),
            "peak_end_mb": mb(w[-1][1]),
        }
    return out


# ---- main -----------------------------------------------------------------------------------


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=3600.0, help="uninterrupted training time")
    p.add_argument("--kill-min", type=float, default=60.0, help="earliest kill after a start, s")
    p.add_argument("--kill-max", type=float, default=300.0, help="latest kill after a start, s")
    p.add_argument("--checkpoint-seconds", type=float, default=60.0, help="checkpoint interval")
    p.add_argument("--sample-seconds", type=float, default=5.0, help="memory sampling interval")
    p.add_argument("--warmup-seconds", type=float, default=30.0, help="shortest warm-up, s")
    p.add_argument("--max-growth", type=float, default=0.05, help="within one process")
    p.add_argument("--max-growth-across", type=float, default=0.10, help="first vs last children")
    p.add_argument("--steps", type=int, help="step target (default: calibrated from --seconds)")
    p.add_argument("--checkpoint-every", type=int, help="in steps (default: calibrated)")
    p.add_argument("--diagnostics-every", type=int, help="in steps (default: the config's)")
    p.add_argument("--calibration-steps", type=int, default=300)
    p.add_argument("--last-losses", type=int, default=10, help="logged losses averaged at the end")
    p.add_argument("--seed", type=int, default=0, help="training seed and kill-time seed")
    p.add_argument("--workdir", type=Path, help="keep the runs here (default: a temporary folder)")
    p.add_argument("--out", type=Path, help="write the summary as JSON here")
    p.add_argument(
        "--parallel",
        action="store_true",
        help="run the uninterrupted run beside the killed one (needs a second core)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if not 0 < args.kill_min <= args.kill_max:
        raise SystemExit("need 0 < --kill-min <= --kill-max")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="soak_"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rate = None
    if args.steps is None or args.checkpoint_every is None:
        rate = calibrate(work, args.calibration_steps)
    target = args.steps or max(1, math.ceil(rate * args.seconds))
    every = args.checkpoint_every or max(1, round(rate * args.checkpoint_seconds))
    rate_text = f"{rate:.1f} steps/s, " if rate else ""
    print(f"soak: {rate_text}target {target} steps, checkpoint every {every} steps", flush=True)
    overrides = run_overrides(target, every, args)
    t1 = time.perf_counter()
    if args.parallel:  # the two runs side by side: half the wall time on a machine with 2 cores
        done: dict[str, Any] = {}

        def reference() -> None:
            done["alone"] = uninterrupted(work, overrides, target, args)
            done["t"] = time.perf_counter()

        thread = threading.Thread(target=reference)
        thread.start()
        children = soak(work, overrides, target, args)
        t2 = time.perf_counter()
        thread.join()
        alone, t3 = done["alone"], done["t"]
    else:
        children = soak(work, overrides, target, args)
        t2 = time.perf_counter()
        alone = uninterrupted(work, overrides, target, args)
        t3 = time.perf_counter()

    same = compare_checkpoints(
        final_checkpoint(work / "killed", target), final_checkpoint(work / "uninterrupted", target)
    )
    mem = memory(children, alone)
    kills = sum(c.outcome == "killed" for c in children)
    loss = {
        "killed": final_loss(work / "killed", args.last_losses),
        "uninterrupted": final_loss(work / "uninterrupted", args.last_losses),
        "last_n": args.last_losses,
    }
    within = mem.get("uninterrupted", {})
    checks = {
        "parameters_equal": same["equal"],
        "final_loss_equal": loss["killed"] == loss["uninterrupted"],
        "killed_at_least_once": kills >= 1,
        "memory_flat_across_children": "growth" in mem
        and abs(mem["growth"]) < args.max_growth_across,
        "memory_flat_within_one_process": "growth" in within
        and abs(within["growth"]) < args.max_growth,
    }
    summary = {
        "preset": PRESET,
        "overrides": overrides,
        "seconds": args.seconds,
        "calibrated_steps_per_s": round(rate, 2) if rate else None,
        "target_steps": target,
        "checkpoint_every": every,
        "kill_window_s": [args.kill_min, args.kill_max],
        "kills": kills,
        "children": len(children),
        "kills_leaving_a_partial_checkpoint": sum(c.partial_writes > 0 for c in children),
        "memory": mem,
        "max_growth": {"within": args.max_growth, "across": args.max_growth_across},
        "final_loss": loss,
        "checkpoints": same,
        "wall_s": {
            "calibration": round(t1 - t0, 1),
            "killed": round(t2 - t1, 1),
            "uninterrupted": round(t3 - (t1 if args.parallel else t2), 1),
            "parallel": args.parallel,
        },
        "checks": checks,
        "passed": all(checks.values()),
        "children_detail": [asdict(c) for c in children],
        "uninterrupted_detail": asdict(alone),
        "workdir": str(work),
    }
    print_table(summary)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=1) + "\n")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if summary["passed"] else 1


def print_table(s: dict[str, Any]) -> None:
    m, loss = s["memory"], s["final_loss"]
    u = m.get("uninterrupted", {})
    rows = [
        ("kills survived", f"{s['kills']} of {s['children']} children"),
        ("  leaving a partial checkpoint", str(s["kills_leaving_a_partial_checkpoint"])),
        ("steps", f"{s['target_steps']} (checkpoint every {s['checkpoint_every']})"),
        ("RSS first / last / max (MB)", f"{m.get('first_mb')} / {m.get('last_mb')} / "
                                        f"{m.get('max_mb')} (growth {m.get('growth')})"),
        ("peak first / last child (MB)", f"{m.get('peak_first_mb')} / {m.get('peak_last_mb')}"),
        ("uninterrupted RSS start / end", f"{u.get('start_mb')} / {u.get('end_mb')} MB over "
                                          f"{u.get('seconds_after_warmup')} s (growth "
                                          f"{u.get('growth')})"),
        (f"final loss (last {loss['last_n']})",
         f"killed {loss['killed']:.6g}, uninterrupted {loss['uninterrupted']:.6g}"),
        ("parameters equal", f"{'yes' if s['checkpoints']['equal'] else 'NO'} "
                             f"({s['checkpoints']['tensors']} tensors and the JSON state)"),
        ("wall time (s)", ", ".join(f"{k} {v}" for k, v in s["wall_s"].items())),
        ("passed", "yes" if s["passed"] else f"NO: {s['checks']}"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    sys.exit(main())
