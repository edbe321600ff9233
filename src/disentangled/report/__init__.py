"""Self-contained HTML reports: one page per run (``report.html``) and a comparison of runs."""

from .compare import comparison_html, write_comparison
from .run import run_report_html, write_run_report
from .rundata import RunInfo, metric_rows, read_run

__all__ = [
    "RunInfo",
    "comparison_html",
    "metric_rows",
    "read_run",
    "run_report_html",
    "write_comparison",
    "write_run_report",
]
