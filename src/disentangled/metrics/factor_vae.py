"""FactorVAE score (Kim & Mnih, 2018): majority vote from the least-varying normalised code."""

from __future__ import annotations

import numpy as np

from ._checks import as_codes, as_factors, check_mode, require
from .sampling import CodeCache, draw_fixed_factor_batches, reduce_batches

PRUNE_THRESHOLD = 0.05


def sample_global_variances(
    cache: CodeCache, num_points: int, rng: np.random.RandomState
) -> np.ndarray:
    """Variance (ddof=1) of each code over ``num_points`` random images: (D,). One draw call,
    as the reference's ``sample_observations``."""
    factors = np.asarray(cache.dataset.sample_factors(num_points, rng), dtype=np.int64)
    return np.var(cache.codes_for(factors), axis=0, ddof=1)


def sample_factor_vae_points(
    cache: CodeCache,
    num_points: int,
    rng: np.random.RandomState,
    *,
    batch_size: int = 64,
    mode: str = "fast",
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``num_points`` FactorVAE points: local code variances (P, D) and fixed factor (P,)."""
    index, a, _ = draw_fixed_factor_batches(
        cache.dataset, num_points, batch_size, rng, pairs=False, mode=mode
    )
    rows = cache.rows_for(a.reshape(-1, a.shape[-1])).reshape(num_points, batch_size)
    return reduce_batches(cache.table, _batch_variances, rows), index


def _batch_variances(codes: np.ndarray) -> np.ndarray:
    """Variance (ddof=1) of each code within each batch: (P, B, D) -> (P, D)."""
    return np.var(codes, axis=1, ddof=1)


def active_dims(global_variances: np.ndarray, threshold: float = PRUNE_THRESHOLD) -> np.ndarray:
    """Mask (D,) of codes whose global standard deviation is at least ``threshold``."""
    return np.sqrt(global_variances) >= threshold


def factor_vae_votes(
    local_variances: np.ndarray,
    labels: np.ndarray,
    global_variances: np.ndarray,
    num_factors: int,
    *,
    threshold: float = PRUNE_THRESHOLD,
    mode: str = "fast",
) -> np.ndarray:
    """Vote counts (K, D): row = fixed factor, column = argmin of local/global variance.

    Only active codes compete. compat indexes the column by position among the active codes
    (the reference's argmin into the pruned vector); fast uses the code's own index. The
    accuracy is the same either way; only the meaning of a column differs.
    """
    mask = active_dims(global_variances, threshold)
    ratio = local_variances[:, mask] / global_variances[mask]
    winner = ratio.argmin(axis=1)
    if mode != "compat":
        winner = np.flatnonzero(mask)[winner]
    votes = np.zeros((num_factors, global_variances.shape[0]), dtype=np.int64)
    np.add.at(votes, (labels, winner), 1)
    return votes


def vote_accuracy(votes: np.ndarray, classifier: np.ndarray) -> float:
    """Share of votes (K, D) whose row is the column's predicted factor ``classifier`` (D,)."""
    total = votes.sum()
    return float(votes[classifier, np.arange(votes.shape[1])].sum() / total) if total else 0.0


def factor_vae_score(
    local_variances: np.ndarray,
    labels: np.ndarray,
    local_variances_eval: np.ndarray,
    labels_eval: np.ndarray,
    *,
    global_variances: np.ndarray,
    num_factors: int | None = None,
    threshold: float = PRUNE_THRESHOLD,
    mode: str = "fast",
) -> dict[str, float]:
    """FactorVAE score from sampled points: local variances (P, D), fixed-factor labels (P,).

    The majority-vote classifier maps each code to the factor that most often made it the
    least-varying one on the training points. Returns ``train_accuracy``, ``eval_accuracy``
    and ``num_active_dims`` (compat: the number of codes, as the reference reports
    ``len(mask)``; fast: the number of codes with std >= ``threshold``).
    """
    check_mode(mode)
    lv = as_codes(local_variances, "local_variances")
    lv_eval = as_codes(local_variances_eval, "local_variances_eval")
    y = as_factors(labels, lv.shape[0], "labels")[:, 0]
    y_eval = as_factors(labels_eval, lv_eval.shape[0], "labels_eval")[:, 0]
    gv = np.asarray(global_variances, dtype=np.float64).reshape(-1)
    require(gv.size == lv.shape[1], "global_variances must have one entry per code dimension")
    k = int(max(y.max(), y_eval.max()) + 1) if num_factors is None else int(num_factors)
    require(k >= 2, "the FactorVAE score needs at least two factors")
    mask = active_dims(gv, threshold)
    if not mask.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}
    votes = factor_vae_votes(lv, y, gv, k, threshold=threshold, mode=mode)
    votes_eval = factor_vae_votes(lv_eval, y_eval, gv, k, threshold=threshold, mode=mode)
    classifier = votes.argmax(axis=0)
    return {
        "train_accuracy": vote_accuracy(votes, classifier),
        "eval_accuracy": vote_accuracy(votes_eval, classifier),
        "num_active_dims": int(mask.size if mode == "compat" else mask.sum()),
    }
