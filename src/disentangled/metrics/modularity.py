"""Modularity and explicitness (Ridgeway & Mozer, 2018)."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

from ._checks import as_codes, as_factors, check_mode, require
from ._parallel import thread_map
from .discretize import NUM_BINS
from .estimators import logistic_regression, quiet
from .mig import code_factor_mutual_info


def modularity(mutual_info: np.ndarray) -> float:
    """Modularity from code-factor MI (D, K): mean over codes of 1 - (sum MI^2 - max)/(max (K-1)).

    A code with no information about any factor scores 0.
    """
    sq = np.square(mutual_info)
    top = sq.max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = 1.0 - (sq.sum(axis=1) - top) / (top * (sq.shape[1] - 1.0))
    return float(np.mean(np.where(top == 0.0, 0.0, score)))


def standardise(codes: np.ndarray, codes_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standardise both sets with the training mean and std (ddof=0); constant codes get std 1."""
    mean = codes.mean(axis=0)
    std = codes.std(axis=0)
    std = np.where(std == 0.0, 1.0, std)
    return (codes - mean) / std, (codes_test - mean) / std


def _macro_auc(
    labels: np.ndarray, proba: np.ndarray, classes: np.ndarray, mode: str = "compat"
) -> float:
    """Macro ROC-AUC of one-vs-rest columns of proba (N, C); classes absent from ``labels``
    (or holding every label) are skipped.

    compat: scikit-learn's ``roc_auc_score`` (the reference's). fast: all columns at once from
    midranks, AUC = (rank sum of the positives - P (P + 1) / 2) / (P N) (Mann-Whitney), which is
    the trapezoidal ROC area with tied scores, the same number up to rounding.
    """
    onehot = labels[:, None] == classes[None, :]
    positives = onehot.sum(axis=0)
    keep = (positives > 0) & (positives < labels.size)
    if mode == "compat":
        truth = onehot[:, keep].astype(np.int64)
        return float(roc_auc_score(truth, proba[:, keep], average="macro"))
    ranks = rankdata(proba[:, keep], axis=0)
    pos = positives[keep].astype(np.float64)
    rank_sum = np.where(onehot[:, keep], ranks, 0.0).sum(axis=0)
    auc = (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * (labels.size - pos))
    return float(np.mean(auc))


def explicitness(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    mode: str = "compat",
) -> tuple[float, float]:
    """Mean over factors of the macro ROC-AUC of a logistic regression on standardised codes
    (the AUC computed as ``mode`` says, see :func:`_macro_auc`)."""
    x, x_test = standardise(codes, codes_test)

    def fit(j: int) -> tuple[float, float]:  # one classifier per factor, independent fits
        model = logistic_regression().fit(x, factors[:, j])
        return (
            _macro_auc(factors[:, j], model.predict_proba(x), model.classes_, mode),
            _macro_auc(factors_test[:, j], model.predict_proba(x_test), model.classes_, mode),
        )

    with quiet():  # once, outside the threads
        scores = thread_map(fit, range(factors.shape[1]))
    return float(np.mean([s[0] for s in scores])), float(np.mean([s[1] for s in scores]))


def modularity_explicitness(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    *,
    mode: str = "fast",
    num_bins: int = NUM_BINS,
) -> dict[str, float]:
    """Modularity (from 20-bin MI) and explicitness (train/test ROC-AUC) of codes (N, D)."""
    check_mode(mode)
    codes = as_codes(codes)
    factors = as_factors(factors, codes.shape[0])
    codes_test = as_codes(codes_test, "codes_test")
    factors_test = as_factors(factors_test, codes_test.shape[0], "factors_test")
    require(factors.shape[1] >= 2, "modularity needs at least two factors")
    require(
        bool(np.all(factors.min(axis=0) < factors.max(axis=0))),
        "explicitness needs every factor to take at least two values in the training sample",
    )
    mi = code_factor_mutual_info(codes, factors, num_bins)
    train, test = explicitness(codes, factors, codes_test, factors_test, mode)
    return {
        "modularity_score": modularity(mi),
        "explicitness_score_train": train,
        "explicitness_score_test": test,
    }
