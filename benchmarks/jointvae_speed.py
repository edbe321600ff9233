"""Training speed of JointVAE on MNIST (conv32 net, 10 Gaussian + categorical(10)) at batch 64.

Each loop runs in its own child process with the same network, loss and optimizer (Adam 5e-4):

- ``project``: the library's loop as ``disentangled train --preset jointvae-mnist`` runs it
  (batches drawn by index from the 32x32 uint8 tensor built once at load, the objective's
  training step); diagnostics are off, as they are not part of the update;
- ``conventional``: a PyTorch trainer organised like the JointVAE authors' reference trainer
  (Schlumberger/joint-vae), written here as a stand-in: their code needs torchvision and a
  pre-1.0 PyTorch API and cannot run in this environment. A map-style Dataset over the 28x28
  uint8 arrays whose per-item transform resizes to 32x32 with Pillow (bilinear, as their
  ``Resize(32)``) and converts to a float tensor (their ``ToTensor()``), a
  ``DataLoader(batch_size=64, shuffle=True)`` in the main process, the same network, the loss
  written out inline (Gaussian and Gumbel-softmax sampling, KLs, capacities, the total divided
  by the number of pixels as theirs is);
- ``project-bf16``: the library's loop with ``precision=bf16`` (bfloat16 autocast), an option of
  the loop that the presets do not use;
- ``bare``: the same update as ``conventional`` on one fixed batch of MNIST, no data handling.

Reported: median images per wall-clock second and per CPU second of the process (the second is
steadier on a shared machine) over the windows after warm-up, the time one MNIST epoch (60,000
images) takes at that rate, and the CPU seconds the data side alone needs for one epoch of
batches; ``--epoch`` also times one full epoch of each loop directly. The floating-point work of
one update (forward and backward of the network, counted by ``torch.utils.flop_counter``) turns
the per-CPU-second rates into achieved GFLOP/s: the share of a loop's time its arithmetic takes.

    python benchmarks/jointvae_speed.py --data /work/shared/data/mnist [--threads N] [--epoch]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

BATCH = 64
EPOCH = 60_000
CONT, DISC, TEMPERATURE = 10, 10, 0.67
GAMMA, C_MAX, C_STEPS = 30.0, 5.0, 25_000


def _windows(step, seconds: float, windows: int, warmup: int) -> tuple[list[float], list[float]]:
    """Images per wall-clock second and per CPU second of this process, one value per window."""
    for _ in range(warmup):
        step()
    rates, cpu_rates = [], []
    for _ in range(windows):
        n, t0, c0 = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - t0 < seconds:
            step()
            n += 1
        rates.append(n * BATCH / (time.perf_counter() - t0))
        cpu_rates.append(n * BATCH / max(time.process_time() - c0, 1e-9))
    return rates, cpu_rates


def data_epoch_seconds(what: str, data: str) -> float:
    """CPU seconds to produce one epoch of float batches (no update): the data side alone."""
    import torch

    c0 = time.process_time()
    if what == "conventional":
        for _x, _y in conventional_loader(data):
            pass
    else:
        from disentangled.data import load_dataset

        ds = load_dataset("mnist", path=data)
        c0 = time.process_time()  # loading (decode + resize, once per run) is timed apart
        g = torch.Generator().manual_seed(0)
        for _ in range(math.ceil(EPOCH / BATCH)):
            ds.batch(torch.randint(len(ds), (BATCH,), generator=g), "cpu")
    return time.process_time() - c0


def project_step(data: str, precision: str = "fp32"):
    from disentangled.config import load_config
    from disentangled.objectives import StepContext
    from disentangled.train.device import autocast_factory
    from disentangled.train.loop import build_session
    from disentangled.train.rundir import RunDir

    overrides = [f"data.path={data}", "progress=false", "diagnostics_every=0"]
    cfg = load_config(preset="jointvae-mnist", overrides=[*overrides, f"precision={precision}"])
    s = build_session(cfg, RunDir("/nonexistent"))
    autocast = autocast_factory(s.device, precision)
    ctx = StepContext(s.generators["model"], autocast, s.next_batch, len(s.dataset))
    counter = {"step": 0}

    def step():
        s.objective.training_step(s.model, s.next_batch(), counter["step"], s.optimizers, ctx)
        counter["step"] += 1

    return step


def legacy_transposed_init(module) -> None:
    """PyTorch 0.3.1's default for transposed convolutions, which the authors' code ran with:
    weights and biases from U(+-1/sqrt(in_channels * k * k)); PyTorch now takes the fan from
    the output channels."""
    import torch

    for m in module.modules():
        if isinstance(m, torch.nn.ConvTranspose2d):
            bound = 1.0 / math.sqrt(m.in_channels * m.kernel_size[0] * m.kernel_size[1])
            torch.nn.init.uniform_(m.weight, -bound, bound)
            torch.nn.init.uniform_(m.bias, -bound, bound)


def conventional_parts(
    data: str, seed: int = 0, legacy_init: bool = False, parts: dict | None = None
):
    """Network, optimizer and an update function written inline, reference-trainer style;
    ``parts`` (a dict), when given, receives the encoder and decoder."""
    import torch
    import torch.nn.functional as F

    from disentangled.nets import build_networks

    torch.manual_seed(seed)
    enc, dec = build_networks("conv32", (1, 32, 32), 2 * CONT + DISC, CONT + DISC)
    if legacy_init:
        legacy_transposed_init(dec)
    if parts is not None:
        parts.update(encoder=enc, decoder=dec)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=5e-4)
    eps = 1e-12
    state = {"steps": 0}

    def update(x):
        state["steps"] += 1
        h = enc(x)
        mean, log_var, alpha = h[:, :CONT], h[:, CONT : 2 * CONT], F.softmax(h[:, 2 * CONT :], 1)
        z_cont = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        u = torch.rand_like(alpha)
        gumbel = -torch.log(-torch.log(u + eps) + eps)
        z_disc = F.softmax((torch.log(alpha + eps) + gumbel) / TEMPERATURE, dim=1)
        recon = torch.sigmoid(dec(torch.cat([z_cont, z_disc], 1)))
        rec = F.binary_cross_entropy(recon.view(-1, 1024), x.view(-1, 1024)) * 1024
        kl_cont = (-0.5 * (1 + log_var - mean.pow(2) - log_var.exp())).mean(0).sum()
        neg_entropy = (alpha * torch.log(alpha + eps)).sum(1).mean()
        kl_disc = math.log(DISC) + neg_entropy
        c = min(C_MAX * state["steps"] / C_STEPS, C_MAX)
        c_disc = min(c, math.log(DISC))
        loss = rec + GAMMA * (kl_cont - c).abs() + GAMMA * (kl_disc - c_disc).abs()
        loss = loss / 1024  # the reference trainer divides by the number of pixels
        opt.zero_grad()
        loss.backward()
        opt.step()

    return update


def update_gflop(data: str) -> float:
    """Floating-point operations of one update at batch 64 (matrix products and convolutions,
    forward and backward), in GFLOP."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from disentangled.data import load_dataset

    update = conventional_parts(data)
    x = load_dataset("mnist", path=data).batch(torch.arange(BATCH), "cpu")
    counter = FlopCounterMode(display=False)
    with counter:
        update(x)
    return counter.get_total_flops() / 1e9


def raw_digits(data: str):
    """The training digits as the IDX file holds them: (60000, 28, 28) uint8, and the labels."""
    from disentangled.data.mnist import MNIST, load_source

    raw = load_source(MNIST, path=data, size=28)
    return raw.images_u8[:, 0].numpy(), raw.labels.numpy()


def pillow_item(digit):
    """One (28, 28) uint8 digit as the authors' ``Resize(32)`` (Pillow, bilinear) and
    ``ToTensor()`` give it: float32 (1, 32, 32) in [0, 1]."""
    import numpy as np
    import torch
    from PIL import Image

    img = Image.fromarray(digit, mode="L").resize((32, 32), Image.BILINEAR)
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0)[None]


def conventional_loader(data: str):
    """DataLoader over 28x28 uint8 MNIST with a per-item Pillow resize to 32 and ToTensor."""
    from torch.utils.data import DataLoader, Dataset

    arr, labels = raw_digits(data)

    class MnistImages(Dataset):
        def __len__(self):
            return len(arr)

        def __getitem__(self, i):
            return pillow_item(arr[i]), int(labels[i])

    return DataLoader(MnistImages(), batch_size=BATCH, shuffle=True)


def child(what: str, data: str, seconds: float, windows: int, epoch: bool) -> dict:
    import torch

    if what.startswith("project"):
        step = project_step(data, "bf16" if what == "project-bf16" else "fp32")
        steps_per_epoch = math.ceil(EPOCH / BATCH)

        def run_epoch():
            for _ in range(steps_per_epoch):
                step()

    else:
        update = conventional_parts(data)
        if what == "bare":
            from disentangled.data import load_dataset

            x_fixed = load_dataset("mnist", path=data).batch(torch.arange(BATCH), "cpu")

            def step():
                update(x_fixed)

            def run_epoch():
                for _ in range(math.ceil(EPOCH / BATCH)):
                    update(x_fixed)

        else:
            loader = conventional_loader(data)
            holder = {"it": iter(loader)}

            def step():
                try:
                    x, _ = next(holder["it"])
                except StopIteration:
                    holder["it"] = iter(loader)
                    x, _ = next(holder["it"])
                update(x)

            def run_epoch():
                for x, _ in loader:
                    update(x)

    rates, cpu_rates = _windows(step, seconds, windows, warmup=10)
    out = {
        "what": what,
        "threads": torch.get_num_threads(),
        "images_per_s": statistics.median(rates),
        "images_per_cpu_s": statistics.median(cpu_rates),
        "windows": [round(r, 1) for r in rates],
    }
    if what in ("conventional", "project"):
        out["data_epoch_cpu_s"] = data_epoch_seconds(what, data)
    if epoch:
        t0 = time.perf_counter()
        run_epoch()
        out["epoch_seconds"] = time.perf_counter() - t0
    return out


def run_child(args, what: str) -> dict:
    cmd = [sys.executable, __file__, "--child", what, "--data", args.data]
    cmd += ["--seconds", str(args.seconds), "--windows", str(args.windows)]
    if args.epoch:
        cmd.append("--epoch")
    env = dict(os.environ)
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"child {what} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="folder with the MNIST IDX files")
    ap.add_argument("--seconds", type=float, default=8.0, help="seconds per window")
    ap.add_argument("--windows", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (0: torch default)")
    ap.add_argument("--epoch", action="store_true", help="also time one full epoch per loop")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.data is None:
        from disentangled.data.download import cache_dir

        args.data = str(cache_dir() / "mnist")
    if args.child:
        r = child(args.child, args.data, args.seconds, args.windows, args.epoch)
        print(json.dumps(r))
        return

    import torch

    print(f"# python {' '.join(sys.argv)}")
    print(
        f"# torch {torch.__version__}, {os.cpu_count()} CPUs, batch {BATCH}, JointVAE conv32 "
        f"10 + [10] on MNIST 32x32, {args.windows} windows x {args.seconds:g} s after warm-up; "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )
    header = f"{'loop':<14}{'threads':>8}{'img/s':>8}{'img/CPU-s':>11}{'epoch s (est.)':>16}"
    header += f"{'data-only epoch CPU s':>23}{'GFLOP/CPU-s':>13}"
    gflop = update_gflop(args.data)
    print(header + (f"{'epoch s (timed)':>17}" if args.epoch else ""))
    results = {}
    for what in ("conventional", "project", "project-bf16", "bare"):
        r = run_child(args, what)
        results[what] = r
        line = f"{what:<14}{r['threads']:>8}{r['images_per_s']:>8.0f}"
        line += f"{r['images_per_cpu_s']:>11.0f}{EPOCH / r['images_per_s']:>16.1f}"
        data_s = r.get("data_epoch_cpu_s")
        line += f"{data_s:>23.2f}" if data_s is not None else f"{'-':>23}"
        line += f"{r['images_per_cpu_s'] / BATCH * gflop:>13.1f}"
        if args.epoch:
            line += f"{r['epoch_seconds']:>17.1f}"
        print(line, flush=True)
    for key, label in (("images_per_s", "wall-clock"), ("images_per_cpu_s", "per CPU second")):
        base = results["conventional"][key]
        ratios = ", ".join(
            f"{w} {results[w][key] / base:.2f}x" for w in ("project", "project-bf16", "bare")
        )
        print(f"{label}, relative to conventional (same run): {ratios}")
    print(f"one update: {gflop:.3f} GFLOP (network forward + backward, batch {BATCH})")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
