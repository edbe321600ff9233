"""``disentangled diagnose RUN_DIR``: information diagnostics of a trained run (full data).

A VAE: I(x;z), KL(q(z)||p(z)), TC and dimension-wise KL of its posterior, and the reconstruction
term at the posterior mode on the same images. An InfoGAN (no encoder posterior): L_I per code on
generated images, I(x;c) of Q's categoricals on the data and the discriminator's accuracies (see
:func:`disentangled.evaluation.infogan.infogan_diagnostics`)."""

from __future__ import annotations

import argparse
import json
import math

NAME = "diagnose"
HELP = (
    "estimate I(x;z), KL(q(z)||p(z)), TC, dimension-wise KL and the reconstruction at the "
    "posterior mode of a trained run "
    "(InfoGAN: L_I per code, Q's I(x;c) on the data, D's accuracies)"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument(
        "--images", type=int, default=None, help="encode this many training images (default: all)"
    )
    p.add_argument(
        "--samples",
        type=int,
        default=10_000,
        help="number of z samples at which log q(z) is estimated (InfoGAN: generated draws on "
        "which L_I is estimated; default 10000)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")


def run(args: argparse.Namespace) -> int:
    import torch

    from ..data import load_configured
    from ..diagnostics import (
        dataset_batches,
        encode_posteriors,
        information_estimates,
        reconstruction_at_mode,
    )
    from ..errors import UserError
    from ..io import atomic_write_text
    from ..models.kind import is_generative_adversarial
    from ..train.device import resolve_device
    from ..train.load import load_model
    from ..train.rundir import RunDir

    if args.samples < 2 or (args.images is not None and args.images < 2):
        raise UserError("--samples and --images must be at least 2")
    run_dir = RunDir.open(args.run_dir)
    cfg = run_dir.load_config()
    device = resolve_device(args.device)
    dataset = load_configured(cfg.data, seed=cfg.train.seed)
    _, model, step = load_model(run_dir, image_shape=dataset.image_shape, device=device)
    g = torch.Generator().manual_seed(args.seed)
    n = len(dataset) if args.images is None else min(args.images, len(dataset))
    index = torch.randperm(len(dataset), generator=g)[:n] if n < len(dataset) else torch.arange(n)
    gan = is_generative_adversarial(model)
    if gan:
        from ..evaluation.infogan import infogan_diagnostics

        est = infogan_diagnostics(model, dataset, index, device, samples=args.samples, generator=g)
        result = {"step": step, "model": "infogan", "n_images": n, "samples": args.samples}
        result.update(seed=args.seed, **est)
    else:
        post = encode_posteriors(model, dataset_batches(dataset, index, device))
        est = information_estimates(post, generator=g, samples=args.samples)
        result = {
            "step": step,
            "estimator": "full",
            "n_images": n,
            "samples": min(args.samples, n),
            "seed": args.seed,
            **est,
            "recon": cfg.model.recon,
            "recon_mode": reconstruction_at_mode(
                model, dataset_batches(dataset, index, device), cfg.model.recon
            ),
        }
    run_dir.eval.mkdir(exist_ok=True)
    out = run_dir.eval / "diagnostics.json"
    atomic_write_text(out, json.dumps(result, indent=2) + "\n")
    if gan:
        _print_gan(result, model.codes)
    else:
        _print(result)
    print(f"written to {out}")
    return 0


def _print_gan(r: dict, codes) -> None:
    from ..evaluation.infogan import info_lines

    print(
        f"step {r['step']}: InfoGAN, L_I on {r['samples']} generated draws, Q and D on "
        f"{r['n_images']} data images (eval mode)"
    )
    for line in info_lines(codes, r):
        print(f"  {line}")
    for i, k in enumerate(codes.disc):
        print(
            f"  cat{i} on the data: I(x;c) = {r[f'mi_disc_{i}']:.3f} nats of log {k} = "
            f"{math.log(k):.3f}, E KL(Q(c|x) || uniform) = {r[f'kl_disc_{i}']:.3f} nats"
        )
    if "q_mean_std_dims" in r:
        stds = " ".join(f"{v:.3f}" for v in r["q_mean_std_dims"])
        print(f"  std of Q's continuous means over the data: {stds} (U(-1, 1): 0.577)")
    print(
        f"  D accuracy: real {r['d_real_acc']:.3f}, generated {r['d_fake_acc']:.3f} "
        "(fractions classified correctly)"
    )


def _print(r: dict) -> None:
    print(
        f"step {r['step']}: {r['n_images']} images, log q(z) at {r['samples']} samples "
        f"(full-data estimator; I(x;z) <= log N = {r['mi_ceiling']:.3f} nats)"
    )
    rows = [
        ("E_x KL(q(z|x)||p(z))", "kl_post"),
        ("I(x;z)", "mi"),
        ("KL(q(z)||p(z))", "kl_qz_pz"),
        ("total correlation", "tc"),
        ("dimension-wise KL", "dwkl"),
    ]
    for label, key in rows:
        if key in r:
            print(f"  {label:<24}{r[key]:>10.3f} nats")
    if "kl_post" in r:
        gap = r["kl_post"] - r["mi"] - r["kl_qz_pz"]
        print(f"  {'identity gap':<24}{gap:>10.3f} nats (Monte Carlo error of the sample estimate)")
        print(f"  {'active units':<24}{r['active_units']:>10d}")
        dims = " ".join(f"{v:.2f}" for v in r["kl_post_dims"])
        print(f"  KL per dimension: {dims}")
    if "recon_mode" in r:
        unit = "nats per image" if r["recon"] == "bernoulli" else "per image (model.recon)"
        print(f"  {'reconstruction at mode':<24}{r['recon_mode']:>10.3f} {unit} ({r['recon']})")
    i = 0
    while f"mi_disc_{i}" in r:
        print(
            f"  categorical {i}: I(x;c) = {r[f'mi_disc_{i}']:.3f} nats, "
            f"KL to uniform = {r[f'kl_disc_{i}']:.3f} nats"
        )
        i += 1
