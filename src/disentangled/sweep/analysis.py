"""Numbers behind the sweep figures: which score of each metric to show, the scores grouped by
method and hyper-parameter, and the Spearman rank correlation between metrics."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# The score of each metric that the study reports (the other keys stay in the table).
HEADLINE = {
    "beta_vae": "eval_accuracy",
    "factor_vae": "eval_accuracy",
    "mig": "discrete_mig",
    "dci": "disentanglement",
    "sap": "SAP_score",
    "modularity_explicitness": "modularity_score",
    "irs": "IRS",
    "unsupervised": "gaussian_total_correlation",
}
MIN_PAIRS = 3  # fewest trials with both scores for a rank correlation


def metric_columns(rows: list[dict[str, Any]]) -> list[str]:
    """The ``eval.`` columns to plot: each metric's headline score (every score of a metric
    without one; the Hungarian accuracy of each categorical for ``discrete_code``), in first-seen
    order."""
    out: list[str] = []
    for col in (c for r in rows for c in r):
        if not col.startswith("eval.") or col in out:
            continue
        metric, _, key = col[len("eval.") :].partition(".")
        if metric in HEADLINE:
            keep = key == HEADLINE[metric]
        elif metric == "discrete_code":
            keep = key.endswith("accuracy_hungarian")
        else:
            keep = True
        if keep:
            out.append(col)
    return out


def short_name(column: str) -> str:
    """``eval.mig.discrete_mig`` -> ``mig`` for a headline score (the unsupervised one by its key,
    ``gaussian_total_correlation``), else ``METRIC.KEY``."""
    metric, _, key = column.removeprefix("eval.").partition(".")
    if HEADLINE.get(metric) != key:
        return f"{metric}.{key}"
    return key if metric == "unsupervised" else metric


def split_labels(labels: list[str]) -> tuple[str, list[str]]:
    """Point labels ``k1=v1, k2=v2`` that share their keys -> (``k1, k2``, [``v1, v2``, ...]);
    other labels are returned unchanged with an empty axis name."""
    parts = [[item.partition("=") for item in lab.split(", ")] for lab in labels]
    keys = {tuple(k for k, eq, _ in p if eq) for p in parts}
    if len(keys) != 1 or any(not eq for p in parts for _, eq, _ in p):
        return "", labels
    return ", ".join(next(iter(keys))), [", ".join(v for _, _, v in p) for p in parts]


def finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite number, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def grouped(
    rows: list[dict[str, Any]], column: str, by: tuple[str, ...]
) -> dict[tuple[str, ...], list[float]]:
    """Finite values of ``column`` of the done trials, grouped by the ``by`` columns; groups in
    first-seen order, every group present even when it has no value."""
    out: dict[tuple[str, ...], list[float]] = {}
    for r in rows:
        key = tuple(str(r.get(b)) for b in by)
        values = out.setdefault(key, [])
        v = finite(r.get(column))
        if r.get("status") == "done" and v is not None:
            values.append(v)
    return out


def rank_correlation(
    rows: list[dict[str, Any]], columns: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Spearman's rho between every pair of columns over the done trials where both are finite
    (pairwise-complete): (rho (M, M), number of trials used (M, M)). rho is NaN where fewer than
    :data:`MIN_PAIRS` trials remain or a column is constant on them; the diagonal is 1 where a
    column has at least that many distinct values."""
    from scipy.stats import spearmanr

    done = [r for r in rows if r.get("status") == "done"]
    data = np.array(
        [[np.nan if finite(r.get(c)) is None else finite(r.get(c)) for c in columns] for r in done],
        dtype=np.float64,
    ).reshape(len(done), len(columns))
    m = len(columns)
    rho = np.full((m, m), np.nan)
    count = np.zeros((m, m), dtype=np.int64)
    for i in range(m):
        for j in range(i, m):
            both = np.isfinite(data[:, i]) & np.isfinite(data[:, j])
            a, b = data[both, i], data[both, j]
            count[i, j] = count[j, i] = int(both.sum())
            if a.size < MIN_PAIRS or np.ptp(a) == 0 or np.ptp(b) == 0:
                continue
            rho[i, j] = rho[j, i] = 1.0 if i == j else float(spearmanr(a, b).statistic)
    return rho, count
