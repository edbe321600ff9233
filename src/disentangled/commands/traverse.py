"""``disentangled traverse RUN_DIR``: latent traversals of a trained run as PNG grids and a GIF."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "traverse"
HELP = "draw latent traversals of a trained run (PNG grids per seed image, optional GIF)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..viz.traversal import DEFAULT_LIMIT, MODES

    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory with a checkpoint")
    p.add_argument(
        "--mode",
        choices=MODES,
        default="prior",
        help="values of the Gaussian latents: prior quantiles (default), a Gaussian fitted to "
        "the code over data, or the code's min-max over data",
    )
    p.add_argument("--seeds", type=int, default=3, help="number of seed images (default 3)")
    p.add_argument("--values", type=int, default=10, help="values per row (default 10)")
    p.add_argument(
        "--limit",
        type=float,
        default=DEFAULT_LIMIT,
        help=f"range in standard deviations for prior/fitted (default {DEFAULT_LIMIT})",
    )
    p.add_argument("--gif", action="store_true", help="also write an animated GIF")
    p.add_argument(
        "--hide-inactive", action="store_true", help="leave out latents with mean KL < 0.01 nats"
    )
    p.add_argument("--out", metavar="DIR", help="folder for the pictures (default RUN_DIR/figures)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")


def run(args: argparse.Namespace) -> int:
    from ..data import load_dataset
    from ..train.device import resolve_device
    from ..train.load import load_model
    from ..train.rundir import RunDir
    from ..viz.traversal_figures import render_traversals, write_traversals

    run_dir = RunDir.open(args.run_dir)
    cfg = run_dir.load_config()
    device = resolve_device(args.device)
    data = load_dataset(
        cfg.data.name, subset=cfg.data.subset, seed=cfg.train.seed, path=cfg.data.path
    )
    _, model, step = load_model(run_dir, image_shape=data.image_shape, device=device)
    t = render_traversals(
        model,
        data,
        device,
        mode=args.mode,
        seeds=args.seeds,
        n_values=args.values,
        limit=args.limit,
        hide_inactive=args.hide_inactive,
        animate=args.gif,
    )
    folder = Path(args.out) if args.out else run_dir.figures
    paths = write_traversals(t, folder, gif=args.gif)
    print(f"traversals of {run_dir.path} at step {step} ({args.mode} mode):")
    for r in t.rows:
        print(f"  {r.label}")
    for name, path in paths.items():
        print(f"  {name:<20} {path}")
    return 0
