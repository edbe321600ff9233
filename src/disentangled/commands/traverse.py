"""``disentangled traverse RUN_DIR``: latent traversals of a trained run as PNG grids and a GIF;
for an InfoGAN run, the paper's code grids."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError

NAME = "traverse"
HELP = (
    "draw latent traversals of a trained run (PNG grids per seed image, optional GIF); "
    "for an InfoGAN, its code grids"
)
DEFAULT_SEEDS = 3


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..viz.infogan import SPAN
    from ..viz.traversal import DEFAULT_LIMIT, MODES

    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory with a checkpoint")
    p.add_argument(
        "--mode",
        choices=MODES,
        default="prior",
        help="values of the Gaussian latents: prior quantiles (default), a Gaussian fitted to "
        "the code over data, or the code's min-max over data",
    )
    p.add_argument(
        "--seeds", type=int, default=None, help=f"number of seed images (default {DEFAULT_SEEDS})"
    )
    p.add_argument(
        "--values", type=int, default=10, help="values per row (default 10; InfoGAN: per grid row)"
    )
    p.add_argument(
        "--limit",
        type=float,
        default=None,
        help=f"range in standard deviations for prior/fitted (default {DEFAULT_LIMIT}); for an "
        f"InfoGAN, the continuous codes sweep [-LIMIT, LIMIT] (default {SPAN:g})",
    )
    p.add_argument("--gif", action="store_true", help="also write an animated GIF")
    p.add_argument(
        "--hide-inactive", action="store_true", help="leave out latents with mean KL < 0.01 nats"
    )
    p.add_argument("--out", metavar="DIR", help="folder for the pictures (default RUN_DIR/figures)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")


def run(args: argparse.Namespace) -> int:
    from ..data import load_configured
    from ..models.kind import is_generative_adversarial
    from ..train.device import resolve_device
    from ..train.load import load_model
    from ..train.rundir import RunDir

    run_dir = RunDir.open(args.run_dir)
    cfg = run_dir.load_config()
    device = resolve_device(args.device)
    data = load_configured(cfg.data, seed=cfg.train.seed)
    _, model, step = load_model(run_dir, image_shape=data.image_shape, device=device)
    folder = Path(args.out) if args.out else run_dir.figures
    if is_generative_adversarial(model):
        return _code_grids(args, model, data, device, folder, run_dir.path, step)
    from ..viz.traversal import DEFAULT_LIMIT
    from ..viz.traversal_figures import render_traversals, write_traversals

    t = render_traversals(
        model,
        data,
        device,
        mode=args.mode,
        seeds=DEFAULT_SEEDS if args.seeds is None else args.seeds,
        n_values=args.values,
        limit=DEFAULT_LIMIT if args.limit is None else args.limit,
        hide_inactive=args.hide_inactive,
        animate=args.gif,
    )
    paths = write_traversals(t, folder, gif=args.gif)
    print(f"traversals of {run_dir.path} at step {step} ({args.mode} mode):")
    for r in t.rows:
        print(f"  {r.label}")
    for name, path in paths.items():
        print(f"  {name:<20} {path}")
    return 0


def _code_grids(args, model, data, device, folder: Path, path: Path, step: int) -> int:
    """An InfoGAN has no encoder to traverse a seed image's code with: draw its code grids."""
    from ..viz.infogan import SPAN, code_grid_specs, write_code_grids
    from ..viz.traversal_figures import display_scale

    vae_only = [
        flag
        for flag, given in (
            ("--mode", args.mode != "prior"),
            ("--seeds", args.seeds is not None),
            ("--gif", args.gif),
            ("--hide-inactive", args.hide_inactive),
        )
        if given
    ]
    if vae_only:
        raise UserError(
            f"{', '.join(vae_only)} {'does' if len(vae_only) == 1 else 'do'} not apply to an "
            "InfoGAN run (it has no encoder to traverse seed images with); its code grids take "
            "--values and --limit"
        )
    span = SPAN if args.limit is None else args.limit
    scale = display_scale(data.image_shape[-1])
    paths = write_code_grids(model, folder, device, scale, n_values=args.values, span=span)
    print(f"code grids of {path} at step {step}:")
    for g in code_grid_specs(model.codes):
        print(f"  {paths[g.name]}")
        print(f"    {g.describe(model.codes, args.values, span)}")
    return 0
