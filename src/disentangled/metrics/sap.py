"""SAP score (Kumar et al., 2018), discrete factors."""

from __future__ import annotations

import numpy as np

from ._checks import as_codes, as_factors, check_mode, require
from ._parallel import thread_map
from .estimators import linear_svc, quiet


def sap_score_matrix(
    codes: np.ndarray, factors: np.ndarray, codes_test: np.ndarray, factors_test: np.ndarray
) -> np.ndarray:
    """Test accuracy of a linear SVM from each single code to each factor: (D, K) in [0, 1].

    A code that is constant in the training sample scores 0 for every factor (nothing to learn).
    The D x K one-feature fits are independent; they run on a thread per core (liblinear
    releases the GIL), which changes only the wall time.
    """
    d, k = codes.shape[1], factors.shape[1]
    scores = np.zeros((d, k))
    pairs = [
        (i, j)
        for i in range(d)
        if np.ptp(codes[:, i]) != 0
        for j in range(k)
        if np.ptp(factors[:, j]) != 0
    ]

    def fit(pair: tuple[int, int]) -> float:
        i, j = pair
        model = linear_svc().fit(codes[:, i : i + 1], factors[:, j])
        return float(np.mean(model.predict(codes_test[:, i : i + 1]) == factors_test[:, j]))

    with quiet():  # once, outside the threads
        values = thread_map(fit, pairs)
    for (i, j), value in zip(pairs, values, strict=True):
        scores[i, j] = value
    return scores


def continuous_score_matrix(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Squared correlation of each code with each factor (D, K); 0 for near-constant codes."""
    zc = codes - codes.mean(axis=0)
    zf = factors - factors.mean(axis=0)
    n = codes.shape[0] - 1
    cov = zc.T @ zf / n
    var_c = (zc * zc).sum(axis=0) / n
    var_f = (zf * zf).sum(axis=0) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        out = cov**2 / (var_c[:, None] * var_f[None, :])
    return np.where(var_c[:, None] > 1e-12, out, 0.0)


def sap(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray | None = None,
    factors_test: np.ndarray | None = None,
    *,
    mode: str = "fast",
    continuous_factors: bool = False,
) -> dict[str, float]:
    """SAP of codes (N, D) for factors (N, K): mean over factors of the top-1 minus top-2 score.

    Discrete factors (the reference default) need a test set; ``continuous_factors=True`` uses
    squared correlations on the training sample instead. Both modes fit the same classifiers.
    """
    check_mode(mode)
    codes = as_codes(codes)
    factors = as_factors(factors, codes.shape[0])
    require(codes.shape[1] >= 2, "SAP needs at least two code dimensions (it is a gap)")
    if continuous_factors:
        matrix = continuous_score_matrix(codes, factors.astype(np.float64))
    else:
        require(codes_test is not None and factors_test is not None, "SAP needs a test set")
        codes_test = as_codes(codes_test, "codes_test")
        factors_test = as_factors(factors_test, codes_test.shape[0], "factors_test")
        matrix = sap_score_matrix(codes, factors, codes_test, factors_test)
    top = np.sort(matrix, axis=0)
    return {"SAP_score": float(np.mean(top[-1] - top[-2]))}
