"""Unsupervised scores of a representation: Gaussian total/Wasserstein correlation, pairwise MI."""

from __future__ import annotations

import numpy as np
import scipy.linalg

from ._checks import as_codes, check_mode, require
from .discretize import NUM_BINS, histogram_discretize
from .mutual_info import discrete_mutual_info


def gaussian_total_correlation(cov: np.ndarray) -> float:
    """Total correlation (nats) of a zero-mean Gaussian with covariance (D, D)."""
    return float(0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1]))


def gaussian_wasserstein_correlation(cov: np.ndarray) -> float:
    """Squared 2-Wasserstein distance between N(0, cov) and N(0, diag(cov))."""
    root = scipy.linalg.sqrtm(cov * np.diag(cov)[:, None])
    return float(np.real(2.0 * np.trace(cov) - 2.0 * np.trace(root)))


def unsupervised(
    codes: np.ndarray,
    factors: np.ndarray | None = None,
    *,
    mode: str = "fast",
    num_bins: int = NUM_BINS,
) -> dict[str, float]:
    """Scores of codes (N, D) alone (factors ignored): see the reference key names returned."""
    check_mode(mode)
    codes = as_codes(codes)
    d = codes.shape[1]
    require(d >= 2, "the unsupervised scores need at least two code dimensions")
    cov = np.atleast_2d(np.cov(codes, rowvar=False))
    wasserstein = gaussian_wasserstein_correlation(cov)
    disc = histogram_discretize(codes, num_bins)
    mi = discrete_mutual_info(disc, disc)
    np.fill_diagonal(mi, 0.0)
    return {
        "gaussian_total_correlation": gaussian_total_correlation(cov),
        "gaussian_wasserstein_correlation": wasserstein,
        "gaussian_wasserstein_correlation_norm": wasserstein / float(np.sum(np.diag(cov))),
        "mutual_info_score": float(np.sum(mi) / (d**2 - d)),
    }
