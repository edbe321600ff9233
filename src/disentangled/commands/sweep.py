"""``disentangled sweep SWEEP.yaml``: train every trial of a sweep on Ray, then write its report."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "sweep"
HELP = "run a sweep (presets x hyper-parameters x seeds) on Ray, resumable"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sweep", metavar="SWEEP.yaml", help="a sweep file or a shipped sweep's name")
    p.add_argument(
        "--address",
        help="an existing Ray cluster: auto, or ray://HOST:PORT (default: start Ray locally)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the sweep in --out: skip finished trials, continue unfinished ones",
    )
    p.add_argument("--retry-failed", action="store_true", help="with --resume: rerun failed trials")
    p.add_argument("--out", metavar="DIR", help="sweep directory (default sweeps/NAME)")
    p.add_argument("--no-report", action="store_true", help="skip the table and figures at the end")
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="config overrides applied last to every trial (e.g. steps=100 subset=2000)",
    )


def run(args: argparse.Namespace) -> int:
    from ..errors import UserError
    from ..sweep import load_sweep, run_sweep, summary, write_report

    if args.retry_failed and not args.resume:
        raise UserError("--retry-failed applies with --resume only")
    spec = load_sweep(args.sweep).with_overrides(args.overrides)
    out = Path(args.out) if args.out else Path("sweeps") / spec.name
    outcome = run_sweep(
        spec, out, address=args.address, resume=args.resume, retry_failed=args.retry_failed
    )
    counts = ", ".join(f"{n} {s}" for s, n in sorted(outcome.statuses.items()))
    print(
        f"sweep {spec.name}: {outcome.total} trial(s) ({counts}); ran {outcome.ran}, "
        f"skipped {outcome.skipped}, {outcome.seconds:.0f} s"
    )
    print(f"sweep directory: {out}")
    if not args.no_report:
        report = write_report(out)
        for line in summary(report.rows):
            print(line)
        for path in [*report.tables, *report.figures.values()]:
            print(f"  {path}")
    return 1 if outcome.statuses.get("failed") else 0
