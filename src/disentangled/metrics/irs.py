"""Interventional Robustness Score (Suter et al., 2019), the reference's scalable estimator."""

from __future__ import annotations

import numpy as np

from ._checks import as_codes, as_factors, check_mode
from .discretize import NUM_BINS, histogram_discretize
from .mutual_info import compact_labels


def _group_quantiles(values: np.ndarray, groups: np.ndarray, n_groups: int, q: float) -> np.ndarray:
    """q-quantile ('linear', as ``np.quantile``) of each column within each group: (G, L)."""
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    pos = q * (counts - 1)
    lo = np.floor(pos).astype(np.int64)
    t = pos - lo
    hi = np.minimum(lo + 1, counts - 1)
    out = np.empty((n_groups, values.shape[1]))
    for col in range(values.shape[1]):  # one lexsort per code column, vectorised over samples
        ordered = values[np.lexsort((values[:, col], groups)), col]
        a = ordered[starts + lo]
        b = ordered[starts + hi]
        diff = b - a
        out[:, col] = np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)
    return out


def irs_matrix(codes: np.ndarray, factor_labels: np.ndarray, diff_quantile: float = 0.99):
    """IRS matrix (L codes, K factors) and per-code max deviations (L,), for active codes."""
    max_dev = np.max(np.abs(codes - codes.mean(axis=0)), axis=0)
    labels, sizes = compact_labels(factor_labels)
    cum = np.zeros((codes.shape[1], labels.shape[1]))
    for i in range(labels.shape[1]):  # per factor: E[z | g_i] and the spread around it
        g = labels[:, i]
        counts = np.bincount(g, minlength=sizes[i])
        means = (
            np.stack(
                [
                    np.bincount(g, weights=codes[:, c], minlength=sizes[i])
                    for c in range(codes.shape[1])
                ],
                axis=1,
            )
            / counts[:, None]
        )
        diffs = np.abs(codes - means[g])
        cum[:, i] = _group_quantiles(diffs, g, sizes[i], diff_quantile).sum(axis=0) / sizes[i]
    with np.errstate(divide="ignore", invalid="ignore"):
        matrix = 1.0 - cum / max_dev[:, None]
    return matrix, max_dev


def irs(
    codes: np.ndarray,
    factors: np.ndarray,
    *,
    mode: str = "fast",
    diff_quantile: float = 0.99,
    num_bins: int = NUM_BINS,
) -> dict[str, float]:
    """IRS of codes (N, D) for factors (N, K), in [0, 1] (higher is more robust).

    Factors are histogram-discretised (``num_bins``) as in the reference; constant codes are
    dropped. ``num_active_dims``: compat reproduces the reference, which reports the *sum of the
    active codes' values*; fast reports the number of active codes.
    """
    check_mode(mode)
    codes = as_codes(codes)
    factors = as_factors(factors, codes.shape[0])
    active = codes.var(axis=0) > 0.0
    z = codes[:, active]
    if not z.any():
        score = 0.0
    else:
        matrix, max_dev = irs_matrix(z, histogram_discretize(factors, num_bins), diff_quantile)
        per_code = matrix.max(axis=1)
        if np.sum(max_dev) > 0.0:
            score = float(np.average(per_code, weights=max_dev))
        else:
            score = float(np.mean(per_code))
    num_active = float(np.sum(z)) if mode == "compat" else int(active.sum())
    return {"IRS": float(score), "num_active_dims": num_active}
