"""BetaVAE score (Higgins et al., 2017): predict the fixed factor from code differences."""

from __future__ import annotations

import numpy as np

from ._checks import as_codes, as_factors, check_mode, require
from .estimators import logistic_regression, quiet_fit
from .sampling import CodeCache, draw_fixed_factor_batches, reduce_batches


def beta_vae_features(codes_a: np.ndarray, codes_b: np.ndarray) -> np.ndarray:
    """Per-point features (P, D): mean over the batch of |z_a - z_b|, from codes (P, B, D)."""
    return np.mean(np.abs(codes_a - codes_b), axis=1)


def sample_beta_vae_points(
    cache: CodeCache,
    num_points: int,
    rng: np.random.RandomState,
    *,
    batch_size: int = 64,
    mode: str = "fast",
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``num_points`` BetaVAE points: features (P, D) and the fixed factor index (P,)."""
    index, a, b = draw_fixed_factor_batches(
        cache.dataset, num_points, batch_size, rng, pairs=True, mode=mode
    )
    k = a.shape[-1]
    rows_a = cache.rows_for(a.reshape(-1, k)).reshape(num_points, batch_size)
    rows_b = cache.rows_for(b.reshape(-1, k)).reshape(num_points, batch_size)
    return reduce_batches(cache.table, beta_vae_features, rows_a, rows_b), index


def beta_vae_score(
    features: np.ndarray,
    labels: np.ndarray,
    features_eval: np.ndarray,
    labels_eval: np.ndarray,
    *,
    mode: str = "fast",
) -> dict[str, float]:
    """Accuracy of a logistic regression from features (P, D) to the fixed factor labels (P,).

    Returns ``train_accuracy`` and ``eval_accuracy`` in [0, 1]. Both modes fit the pinned
    ``LogisticRegression`` (see :mod:`.estimators`).
    """
    check_mode(mode)
    x = as_codes(features, "features")
    y = as_factors(labels, x.shape[0], "labels")[:, 0]
    x_eval = as_codes(features_eval, "features_eval")
    y_eval = as_factors(labels_eval, x_eval.shape[0], "labels_eval")[:, 0]
    require(np.unique(y).size >= 2, "the BetaVAE score needs points for at least two factors")
    model = quiet_fit(logistic_regression(), x, y)
    return {
        "train_accuracy": float(np.mean(model.predict(x) == y)),
        "eval_accuracy": float(np.mean(model.predict(x_eval) == y_eval)),
    }
