"""Training throughput of the beta-VAE with the Burgess 64x64 net at batch 64.

Each configuration runs in its own child process (clean allocator state, own peak RSS):

- ``project``: the library's loop (``disentangled.train``) on procedural dSprites,
  as a user runs it;
- ``bare``: the same network, forward + backward + Adam on one fixed in-memory batch, no data
  handling at all (the ceiling for this network on this machine);
- ``conventional``: a typical PyTorch loop: a map-style Dataset over a uint8 array, a DataLoader
  with a per-item ToTensor-style transform, the same network and optimizer.

Each is measured in fp32 and bf16 autocast, with and without the allocator tuning the library
applies at start-up (``DISENTANGLED_MALLOC_TUNING``). Reported: median images/s over >= 5 windows
after warm-up, and peak RSS. ``--full`` adds the project loop on all 737,280 images.

    python benchmarks/train_throughput.py [--seconds 6] [--windows 5] [--full]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

BATCH = 64


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _windows(step, seconds: float, windows: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        step()
    rates = []
    for _ in range(windows):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            step()
            n += 1
        rates.append(n * BATCH / (time.perf_counter() - t0))
    return rates


def child(what: str, precision: str, seconds: float, windows: int, subset: int | None) -> dict:
    import torch

    from disentangled._malloc import tune_malloc

    tuned = tune_malloc()
    autocast = (
        (lambda: torch.autocast("cpu", dtype=torch.bfloat16))
        if precision == "bf16"
        else __import__("contextlib").nullcontext
    )
    if what == "project":
        from disentangled.config import load_config
        from disentangled.train.loop import build_session
        from disentangled.train.rundir import RunDir

        overrides = [f"precision={precision}", "progress=false"]
        if subset:
            overrides.append(f"subset={subset}")
        cfg = load_config(preset="betavae-dsprites", overrides=overrides)
        s = build_session(cfg, RunDir("/nonexistent"))
        from disentangled.objectives import StepContext

        ctx = StepContext(s.generators["model"], autocast, s.next_batch, len(s.dataset))
        counter = {"step": 0}

        def step():
            s.objective.training_step(s.model, s.next_batch(), counter["step"], s.optimizers, ctx)
            counter["step"] += 1

    else:
        import torch.nn.functional as F

        from disentangled.nets import build_networks

        torch.manual_seed(0)
        enc, dec = build_networks("burgess", (1, 64, 64), 20, 10)
        params = [*enc.parameters(), *dec.parameters()]
        opt = torch.optim.Adam(params, lr=5e-4)

        def update(x):
            with autocast():
                h = enc(x).float()
                mu, logvar = h[:, :10], h[:, 10:]
                z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
                logits = dec(z).float()
            rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
            kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()
            loss = rec + 4 * kl
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        if what == "bare":
            x_fixed = (torch.rand(BATCH, 1, 64, 64) > 0.8).float()

            def step():
                update(x_fixed)

        else:  # conventional
            import numpy as np
            from torch.utils.data import DataLoader, Dataset

            from disentangled.data import load_dataset

            ds = load_dataset("dsprites", subset=subset or 50_000, seed=0)
            arr = ds.images(torch.arange(len(ds))).numpy()  # (N,1,64,64) uint8

            class Images(Dataset):
                def __len__(self):
                    return len(arr)

                def __getitem__(self, i):
                    return torch.from_numpy(np.asarray(arr[i], dtype=np.float32) / 255.0), 0

            it = iter(DataLoader(Images(), batch_size=BATCH, shuffle=True, drop_last=True))
            holder = {"it": it}

            def step():
                try:
                    x, _ = next(holder["it"])
                except StopIteration:
                    holder["it"] = iter(DataLoader(Images(), batch_size=BATCH, shuffle=True))
                    x, _ = next(holder["it"])
                update(x)

    rates = _windows(step, seconds, windows, warmup=20)
    return {
        "what": what,
        "precision": precision,
        "malloc_tuned": tuned,
        "images_per_s": statistics.median(rates),
        "windows": [round(r, 1) for r in rates],
        "peak_rss_mb": round(_rss_mb(), 1),
        "subset": subset,
    }


def run_child(args, what, precision, tuned, subset) -> dict:
    env = dict(os.environ, DISENTANGLED_MALLOC_TUNING="1" if tuned else "0")
    cmd = [
        sys.executable,
        __file__,
        "--child",
        what,
        "--precision",
        precision,
        "--seconds",
        str(args.seconds),
        "--windows",
        str(args.windows),
    ]
    if subset:
        cmd += ["--subset", str(subset)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"child {what}/{precision} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=6.0, help="seconds per window")
    ap.add_argument("--windows", type=int, default=5)
    ap.add_argument("--subset", type=int, default=50_000)
    ap.add_argument(
        "--full", action="store_true", help="also the project loop on all 737,280 images"
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(
            json.dumps(child(args.child, args.precision, args.seconds, args.windows, args.subset))
        )
        return

    import torch

    print(f"# python {' '.join(sys.argv)}")
    print(
        f"# torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} CPUs, batch {BATCH}, Burgess beta-VAE, {args.windows} windows x "
        f"{args.seconds:g} s after warm-up; median images/s"
    )
    plan = [
        ("conventional", "fp32", False, args.subset),
        ("bare", "fp32", False, None),
        ("bare", "fp32", True, None),
        ("project", "fp32", True, args.subset),
        ("bare", "bf16", True, None),
        ("project", "bf16", True, args.subset),
    ]
    if args.full:
        plan.append(("project", "fp32", True, None))
    results = []
    print(f"{'loop':<13}{'precision':<10}{'malloc':<8}{'images':>9}{'img/s':>9}{'peak RSS MB':>13}")
    for what, prec, tuned, subset in plan:
        r = run_child(args, what, prec, tuned, subset)
        results.append(r)
        n = (
            "737280"
            if (what == "project" and subset is None)
            else (str(subset) if subset else "1 batch")
        )
        print(
            f"{what:<13}{prec:<10}{'tuned' if tuned else 'glibc':<8}{n:>9}"
            f"{r['images_per_s']:>9.0f}{r['peak_rss_mb']:>13.0f}",
            flush=True,
        )
    base = results[0]["images_per_s"]
    print("\nratios (same run):")
    for r in results[1:]:
        print(
            f"  {r['what']:<12} {r['precision']:<5} {'tuned' if r['malloc_tuned'] else 'glibc':<6}"
            f" / conventional fp32 = {r['images_per_s'] / base:.2f}x"
        )


if __name__ == "__main__":
    main()
