"""DCI: disentanglement, completeness and informativeness (Eastwood & Williams, 2018)."""

from __future__ import annotations

import numpy as np

from ._checks import as_codes, as_factors, check_mode, require
from .estimators import gradient_boosting, quiet_fit
from .gbt_workers import fit_factors

FAST_MAX_BINS = 256  # coarse grid of the fast boosting (speed only: its splits are exact)


def _normalised_entropy(p: np.ndarray, base: int, axis: int) -> np.ndarray:
    """Entropy along ``axis`` of p + 1e-11 renormalised, in units of log(base) (scipy's way)."""
    q = p + 1e-11
    q = q / q.sum(axis=axis, keepdims=True)
    return -(q * np.log(q)).sum(axis=axis) / np.log(base)


def disentanglement_per_code(importance: np.ndarray) -> np.ndarray:
    """1 - entropy (base K) of each code's importance over factors: (D,)."""
    return 1.0 - _normalised_entropy(importance, importance.shape[1], axis=1)


def completeness_per_factor(importance: np.ndarray) -> np.ndarray:
    """1 - entropy (base D) of each factor's importance over codes: (K,)."""
    return 1.0 - _normalised_entropy(importance, importance.shape[0], axis=0)


def disentanglement(importance: np.ndarray) -> float:
    """Disentanglement from an importance matrix R (D codes, K factors), in [0, 1]."""
    per_code = disentanglement_per_code(importance)
    weights = importance if importance.sum() != 0.0 else np.ones_like(importance)
    return float(np.sum(per_code * weights.sum(axis=1) / weights.sum()))


def completeness(importance: np.ndarray) -> float:
    """Completeness from an importance matrix R (D codes, K factors), in [0, 1]."""
    per_factor = completeness_per_factor(importance)
    weights = importance if importance.sum() != 0.0 else np.ones_like(importance)
    return float(np.sum(per_factor * weights.sum(axis=0) / weights.sum()))


def importance_matrix(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    *,
    mode: str = "fast",
    seed: int = 0,
    max_bins: int = FAST_MAX_BINS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradient-boosting importances R (D, K) and per-factor train/test accuracies (K,), (K,).

    compat: scikit-learn ``GradientBoostingClassifier`` (defaults, random_state=seed) per factor.
    fast: the same model, every tree of a stage grown at once with exact splits (:mod:`.gbt`),
    the factors' models fitted on every core (:mod:`.gbt_workers`).
    """
    d, k = codes.shape[1], factors.shape[1]
    importance = np.zeros((d, k))
    train_acc = np.zeros(k)
    test_acc = np.zeros(k)
    if mode == "compat":
        for j in range(k):  # one boosted model per factor, as the reference
            model = quiet_fit(gradient_boosting(seed), codes, factors[:, j])
            importance[:, j] = np.abs(model.feature_importances_)
            train_acc[j] = np.mean(model.predict(codes) == factors[:, j])
            test_acc[j] = np.mean(model.predict(codes_test) == factors_test[:, j])
        return importance, train_acc, test_acc

    fits = fit_factors(codes, factors, codes_test, factors_test, seed=seed, max_bins=max_bins)
    for j, res in enumerate(fits):
        importance[:, j] = res.importances
        train_acc[j], test_acc[j] = res.train_accuracy, res.test_accuracy
    return importance, train_acc, test_acc


def dci(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    *,
    mode: str = "fast",
    seed: int = 0,
    max_bins: int = FAST_MAX_BINS,
) -> dict[str, float]:
    """DCI scores of codes (N, D) for factors (N, K), with a held-out test set.

    Returns ``disentanglement``, ``completeness`` (in [0, 1]) and ``informativeness_train`` /
    ``informativeness_test``: mean classification accuracy over factors (the reference reports
    accuracy under these names, though it calls it an error).
    """
    check_mode(mode)
    codes = as_codes(codes)
    factors = as_factors(factors, codes.shape[0])
    codes_test = as_codes(codes_test, "codes_test")
    factors_test = as_factors(factors_test, codes_test.shape[0], "factors_test")
    require(codes.shape[1] >= 2, "DCI needs at least two code dimensions")
    require(factors.shape[1] >= 2, "DCI needs at least two factors")
    require(codes_test.shape[1] == codes.shape[1], "codes_test and codes differ in width")
    require(factors_test.shape[1] == factors.shape[1], "factors_test and factors differ in width")
    require(
        bool(np.all(factors.min(axis=0) < factors.max(axis=0))),
        "DCI needs every factor to take at least two values in the training sample",
    )
    importance, train_acc, test_acc = importance_matrix(
        codes, factors, codes_test, factors_test, mode=mode, seed=seed, max_bins=max_bins
    )
    return {
        "informativeness_train": float(np.mean(train_acc)),
        "informativeness_test": float(np.mean(test_acc)),
        "disentanglement": disentanglement(importance),
        "completeness": completeness(importance),
    }
