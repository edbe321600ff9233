"""``sweep-report``: the table, the figures, and a short text summary of a sweep directory."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .analysis import finite, metric_columns
from .figures import write_figures
from .state import SweepDir
from .table import collect, write_tables


@dataclass
class SweepReport:
    """What ``write_report`` produced."""

    rows: list[dict[str, Any]]
    tables: list[Path]
    figures: dict[str, Path]


def write_report(sweep_dir: str | Path) -> SweepReport:
    """Collect the trials into ``results.csv`` (and ``.parquet``) and draw the figures into
    ``SWEEP_DIR/figures/``."""
    sd = SweepDir(Path(sweep_dir))
    rows = collect(sd.path)
    tables = write_tables(rows, sd.path)
    figures = write_figures(rows, sd.figures)
    return SweepReport(rows=rows, tables=tables, figures=figures)


def summary(rows: list[dict[str, Any]]) -> list[str]:
    """Lines: counts by status, each failed trial with its message, and the median of each
    headline metric per method and hyper-parameter value (over seeds)."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    lines = [f"{len(rows)} trial(s): " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))]
    lines += [
        f"  failed {r['trial']}: {r['error']}: {r['message']}"
        for r in rows
        if r["status"] == "failed"
    ]
    cols = metric_columns(rows)
    if not cols:
        return lines
    names = [c.removeprefix("eval.").split(".")[0] for c in cols]
    keys = list(dict.fromkeys((r["experiment"], r["params"]) for r in rows))
    head = "median over seeds"
    width = max(len(head), *(len(f"{e} {p}") for e, p in keys))
    lines.append(f"  {head:<{width}}" + "".join(f"{n[:12]:>13}" for n in names))
    for exp, params in keys:
        cells = []
        for c in cols:
            vals = [
                v
                for r in rows
                if (r["experiment"], r["params"]) == (exp, params) and r["status"] == "done"
                if (v := finite(r.get(c))) is not None
            ]
            cells.append(f"{statistics.median(vals):>13.3f}" if vals else f"{'-':>13}")
        lines.append(f"  {f'{exp} {params}':<{width}}" + "".join(cells))
    return lines
