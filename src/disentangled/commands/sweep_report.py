"""``disentangled sweep-report SWEEP_DIR``: one table of every trial and the study's figures."""

from __future__ import annotations

import argparse

NAME = "sweep-report"
HELP = "collect a sweep's trials into results.csv (and .parquet) and draw its figures"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sweep_dir", metavar="SWEEP_DIR")


def run(args: argparse.Namespace) -> int:
    from ..sweep import summary, write_report

    report = write_report(args.sweep_dir)
    for line in summary(report.rows):
        print(line)
    for path in [*report.tables, *report.figures.values()]:
        print(f"  {path}")
    return 0
