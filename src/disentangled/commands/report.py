"""``disentangled report RUN_DIR [RUN_DIR ...]``: a self-contained HTML page per run, or one page
comparing several runs."""

from __future__ import annotations

import argparse

from ..errors import UserError

NAME = "report"
HELP = "write RUN_DIR/report.html, or with several runs and --out FILE a comparison page"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..viz.infogan import SPAN
    from ..viz.traversal import DEFAULT_LIMIT, MODES

    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="one run, or several to compare")
    p.add_argument(
        "--out", metavar="FILE", help="page to write (default RUN_DIR/report.html for one run)"
    )
    p.add_argument(
        "--mode", choices=MODES, default="prior", help="traversal mode of a VAE (default prior)"
    )
    p.add_argument(
        "--seeds", type=int, default=3, help="traversal seed images of a VAE (default 3)"
    )
    p.add_argument(
        "--values",
        type=int,
        default=10,
        help="values per traversal row, or per InfoGAN code-grid row (default 10)",
    )
    p.add_argument(
        "--limit",
        type=float,
        default=None,
        help=f"traversal range of a VAE in standard deviations (default {DEFAULT_LIMIT}); for an "
        f"InfoGAN, the continuous codes sweep [-LIMIT, LIMIT] (default {SPAN:g})",
    )
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")


def run(args: argparse.Namespace) -> int:
    from ..report import write_comparison, write_run_report

    if len(args.run_dirs) > 1:
        if not args.out:
            raise UserError("comparing runs writes one page: pass --out FILE")
        path = write_comparison(args.run_dirs, args.out)
    else:
        path = write_run_report(
            args.run_dirs[0],
            args.out,
            device=args.device,
            mode=args.mode,
            seeds=args.seeds,
            n_values=args.values,
            limit=args.limit,
        )
    print(f"report: {path}")
    return 0
