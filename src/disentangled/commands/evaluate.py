"""``disentangled evaluate RUN_DIR``: disentanglement metrics of a trained run."""

from __future__ import annotations

import argparse

NAME = "evaluate"
HELP = "score a trained run with the disentanglement metrics (writes eval/metrics.json)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument(
        "--metrics",
        help="comma-separated names (default: the reference suite, and "
        "discrete_code for categorical latents)",
    )
    p.add_argument(
        "--mode",
        choices=("fast", "compat"),
        default="fast",
        help="fast (default) or compat (disentanglement_lib's draws and estimators)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--num-train",
        type=int,
        default=None,
        help="override num_train of every metric (quick looks; not the reference size)",
    )


def run(args: argparse.Namespace) -> int:
    from ..errors import UserError
    from ..evaluation.run import as_table, evaluate_run
    from ..metrics import available_metrics

    names = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    known = {*available_metrics(), "discrete_code"}
    for m in names or []:
        if m not in known:
            raise UserError(f"unknown metric {m!r}; known: {', '.join(sorted(known))}")
    sizes = None
    if args.num_train is not None:
        if args.num_train < 10:
            raise UserError("--num-train must be at least 10")
        from ..metrics.registry import METRICS

        n = args.num_train
        sizes = {
            name: {k: (n if k.startswith("num_") else v) for k, v in spec.sizes.items()}
            for name, spec in METRICS.items()
            if (names is None or name in names) and spec.sizes
        }
    record = evaluate_run(
        args.run_dir, names, mode=args.mode, seed=args.seed, device=args.device, sizes=sizes
    )
    print(as_table(record))
    print(f"written to {args.run_dir}/eval/metrics.json")
    return 0
