"""Scores for discrete latents: Hungarian-matched accuracy, majority-label accuracy, NMI."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ._checks import as_codes, as_factors, require
from .mutual_info import discrete_entropy, discrete_mutual_info


def assignments_from_codes(codes: np.ndarray) -> np.ndarray:
    """Cluster ids (N,): a single column is read as integer ids, wider codes by their argmax."""
    codes = np.asarray(codes)
    if codes.ndim == 1 or codes.shape[1] == 1:
        return np.rint(codes.reshape(-1)).astype(np.int64)
    return codes.argmax(axis=1).astype(np.int64)


def confusion(clusters: np.ndarray, labels: np.ndarray, n_clusters: int, n_labels: int):
    """Counts (n_clusters, n_labels) of each (cluster, label) pair; inputs are 0-based ids."""
    flat = np.bincount(clusters * n_labels + labels, minlength=n_clusters * n_labels)
    return flat.reshape(n_clusters, n_labels)


def _index(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Position of each value in the sorted ``known`` array, -1 where absent."""
    pos = np.clip(np.searchsorted(known, values), 0, max(known.size - 1, 0))
    return np.where(known[pos] == values, pos, -1)


def cluster_to_label_maps(clusters: np.ndarray, labels: np.ndarray):
    """Fit on training ids: (cluster values, label values, Hungarian map, majority map).

    Maps give a label index per cluster index, -1 where a cluster is left unmatched.
    """
    cvals = np.unique(clusters)
    lvals = np.unique(labels)
    counts = confusion(_index(clusters, cvals), _index(labels, lvals), cvals.size, lvals.size)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    hungarian = np.full(cvals.size, -1)
    hungarian[rows] = cols
    majority = counts.argmax(axis=1)
    return cvals, lvals, hungarian, majority


def _accuracy(clusters, labels, cvals, lvals, mapping) -> float:
    ci = _index(clusters, cvals)
    li = _index(labels, lvals)
    predicted = np.where(ci >= 0, mapping[np.maximum(ci, 0)], -1)
    return float(np.mean((predicted >= 0) & (predicted == li)))


def normalized_mutual_info(clusters: np.ndarray, labels: np.ndarray) -> float:
    """MI over the arithmetic mean of the entropies (sklearn's default); 1 if both are constant."""
    h = discrete_entropy(np.stack([clusters, labels], axis=1))
    if h.max() == 0.0:
        return 1.0
    mi = discrete_mutual_info(clusters[:, None], labels[:, None])[0, 0]
    return float(mi / max(h.mean(), np.finfo(float).eps))


def clustering(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray | None = None,
    factors_test: np.ndarray | None = None,
    *,
    mode: str = "fast",
    factor: int = 0,
) -> dict[str, float]:
    """Accuracy of discrete latents as a classifier of one factor (column ``factor``).

    The cluster -> class maps (one-to-one Hungarian on the confusion matrix; many-to-one
    majority) are fitted on the training set and scored on the test set when one is given.
    """
    codes = as_codes(codes)
    factors = as_factors(factors, codes.shape[0])
    require(0 <= factor < factors.shape[1], f"factor index {factor} out of range")
    train_c = assignments_from_codes(codes)
    train_y = factors[:, factor]
    if codes_test is None or factors_test is None:
        test_c, test_y = train_c, train_y
    else:
        test_c = assignments_from_codes(as_codes(codes_test, "codes_test"))
        test_y = as_factors(factors_test, test_c.size, "factors_test")[:, factor]
    cvals, lvals, hungarian, majority = cluster_to_label_maps(train_c, train_y)
    return {
        "train_accuracy": _accuracy(train_c, train_y, cvals, lvals, hungarian),
        "accuracy": _accuracy(test_c, test_y, cvals, lvals, hungarian),
        "majority_accuracy": _accuracy(test_c, test_y, cvals, lvals, majority),
        "normalized_mutual_info": normalized_mutual_info(test_c, test_y),
    }
