"""Mutual Information Gap (Chen et al., 2018)."""

from __future__ import annotations

import numpy as np

from ._checks import as_codes, as_factors, check_mode, require, require_varying_factors
from .discretize import NUM_BINS, histogram_discretize
from .mutual_info import discrete_entropy, discrete_mutual_info


def code_factor_mutual_info(
    codes: np.ndarray, factors: np.ndarray, num_bins: int = NUM_BINS
) -> np.ndarray:
    """MI (nats) of each histogram-discretised code with each factor: (D, K)."""
    return discrete_mutual_info(histogram_discretize(codes, num_bins), factors)


def mig(codes: np.ndarray, factors: np.ndarray, *, mode: str = "fast", num_bins: int = NUM_BINS):
    """MIG of codes (N, D) for factors (N, K): mean over factors of (top-1 - top-2 MI) / H(factor).

    Codes are discretised into ``num_bins`` equal-width bins; information in nats (the ratio is
    unitless). Both modes compute the same numbers.
    """
    check_mode(mode)
    codes = as_codes(codes)
    factors = as_factors(factors, codes.shape[0])
    require(codes.shape[1] >= 2, "MIG needs at least two code dimensions (it is a gap)")
    require_varying_factors(factors, "MIG")
    mi = code_factor_mutual_info(codes, factors, num_bins)
    entropy = discrete_entropy(factors)
    top = -np.sort(-mi, axis=0)
    return {"discrete_mig": float(np.mean((top[0] - top[1]) / entropy))}
