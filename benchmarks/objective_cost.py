"""Cost of one training step of each objective relative to the β-VAE step, same network and batch.

Every objective runs its shipped ``<name>-dsprites`` preset (Burgess 64x64 net, 10 latents) at
batch 64 through its own ``training_step`` (FactorVAE: two batches and the discriminator update;
MI-VAE: the extra decode / re-encode of prior samples), all on one procedural dSprites subset.
Windows are interleaved round-robin (β-VAE, FactorVAE, ..., β-VAE, FactorVAE, ...) so that load
from other processes falls on all objectives alike. Reported, in wall-clock and in process CPU
time: the median milliseconds per step over the windows, and the median over windows of the ratio
to the β-VAE window of the same round (with its range).

    python benchmarks/objective_cost.py [--windows 7] [--seconds 3] [--subset 5000] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

BATCH = 64
BASE = "betavae-dsprites"
PRESETS = (
    BASE,
    "factorvae-dsprites",
    "tcvae-dsprites",
    "dipvae1-dsprites",
    "dipvae2-dsprites",
    "mivae-dsprites",
)
TARGET = 2.2  # the most any step may cost, in β-VAE steps


def build_steppers(subset: int, device: str) -> dict:
    """One session per preset sharing a dataset; returns name -> zero-argument step function."""
    from disentangled.config import load_config
    from disentangled.data import load_dataset
    from disentangled.objectives import StepContext
    from disentangled.train.device import autocast_factory
    from disentangled.train.loop import build_session
    from disentangled.train.rundir import RunDir

    dataset = load_dataset("dsprites", subset=subset, seed=0)
    steppers = {}
    for name in PRESETS:
        overrides = [f"batch_size={BATCH}", "progress=false", f"device={device}"]
        cfg = load_config(preset=name, overrides=overrides)
        s = build_session(cfg, RunDir("/nonexistent"), dataset=dataset)
        ctx = StepContext(
            s.generators["model"], autocast_factory(s.device, "fp32"), s.next_batch, len(dataset)
        )

        def step(s=s, ctx=ctx, counter=[0]):  # noqa: B006 - per-session step counter
            s.objective.training_step(s.model, s.next_batch(), counter[0], s.optimizers, ctx)
            counter[0] += 1

        steppers[name] = (step, s.device)
    return steppers


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_window(step, device, seconds: float) -> tuple[float, float]:
    """(wall, CPU) seconds per step over a window of at least ``seconds`` of wall time.

    CPU time is this process's (all its threads); on a machine shared with other jobs it is the
    steadier measure of the work a step does, wall time the one a user waits for.
    """
    _sync(device)
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while True:
        step()
        n += 1
        _sync(device)
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return elapsed / n, (time.process_time() - c0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=3.0, help="seconds per window")
    ap.add_argument("--subset", type=int, default=5000)
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps per objective")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    import os

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    steppers = build_steppers(args.subset, args.device)
    for step, _ in steppers.values():
        for _ in range(args.warmup):
            step()
    wall: dict[str, list[float]] = {name: [] for name in steppers}
    cpu: dict[str, list[float]] = {name: [] for name in steppers}
    for _ in range(args.windows):
        for name, (step, device) in steppers.items():
            w, c = time_window(step, device, args.seconds)
            wall[name].append(w)
            cpu[name].append(c)

    print(f"# python {' '.join(sys.argv)}")
    print(
        f"# torch {torch.__version__}, device {args.device}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; batch {BATCH}, "
        f"Burgess 64x64 net, {args.windows} interleaved windows x {args.seconds:g} s; "
        "ratio = median over windows of (step time / beta-VAE step time of the same round)"
    )
    print(
        f"{'preset':<22}{'wall ms':>9}{'ratio':>7}{'range':>12}"
        f"{'CPU ms':>9}{'ratio':>7}{'range':>12}"
    )
    worst = {"wall": 0.0, "CPU": 0.0}
    for name in steppers:
        cells = []
        for kind, table in (("wall", wall), ("CPU", cpu)):
            ratios = [t / b for t, b in zip(table[name], table[BASE], strict=True)]
            ratio = statistics.median(ratios)
            worst[kind] = max(worst[kind], ratio)
            spread = f"{min(ratios):.2f}..{max(ratios):.2f}"
            cells.append(f"{1000 * statistics.median(table[name]):>9.1f}{ratio:>7.2f}{spread:>12}")
        print(f"{name:<22}{''.join(cells)}")
    for kind, w in worst.items():
        verdict = "within" if w <= TARGET else "OVER"
        print(f"# largest {kind} ratio {w:.2f}: {verdict} the {TARGET}x target")


if __name__ == "__main__":
    main()
