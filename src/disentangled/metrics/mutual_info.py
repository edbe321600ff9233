"""Discrete mutual information between label columns, all pairs at once (nats)."""

from __future__ import annotations

import numpy as np

_MAX_INDEX_ENTRIES = 20_000_000  # bound on (pairs x N) combined labels per bincount


def compact_labels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map each column of (N, P) labels to 0..n_p-1; returns (labels int64 (N, P), n_p (P,))."""
    labels = np.asarray(labels)
    if labels.ndim == 1:
        labels = labels[:, None]
    out = np.empty(labels.shape, dtype=np.int64)
    sizes = np.empty(labels.shape[1], dtype=np.int64)
    for p in range(labels.shape[1]):  # one np.unique per column, vectorised over samples
        uniq, inverse = np.unique(labels[:, p], return_inverse=True)
        out[:, p] = inverse.reshape(-1)
        sizes[p] = uniq.size
    return out, sizes


def mutual_info_from_joint(joint: np.ndarray) -> np.ndarray:
    """MI (nats) of joint count tables (..., A, B); zero-count cells contribute nothing."""
    joint = np.asarray(joint, dtype=np.float64)
    n = joint.sum(axis=(-2, -1), keepdims=True)
    row = joint.sum(axis=-1, keepdims=True)
    col = joint.sum(axis=-2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = joint / n * (np.log(joint) + np.log(n) - np.log(row * col))
    mi = np.where(joint > 0, terms, 0.0).sum(axis=(-2, -1))
    return np.clip(mi, 0.0, None)


def discrete_mutual_info(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mutual information (nats) of every column of ``a`` (N, P) with every column of ``b`` (N, Q).

    Returns (P, Q); equals ``sklearn.metrics.mutual_info_score(b[:, q], a[:, p])`` to ~1e-12.
    The joint tables of all pairs come from one ``np.bincount`` on combined labels (chunked over
    pairs only to bound memory).
    """
    ca, na = compact_labels(a)
    cb, nb = compact_labels(b)
    n, P = ca.shape
    Q = cb.shape[1]
    A, B = int(na.max()), int(nb.max())
    pa, pb = np.divmod(np.arange(P * Q), Q)
    mi = np.empty(P * Q)
    chunk = max(1, _MAX_INDEX_ENTRIES // max(n, A * B))
    for start in range(0, P * Q, chunk):
        sel = slice(start, start + chunk)
        m = pa[sel].size
        combined = (np.arange(m)[None, :] * A + ca[:, pa[sel]]) * B + cb[:, pb[sel]]
        joint = np.bincount(combined.ravel(), minlength=m * A * B).reshape(m, A, B)
        mi[sel] = mutual_info_from_joint(joint)
    return mi.reshape(P, Q)


def discrete_entropy(labels: np.ndarray) -> np.ndarray:
    """Entropy (nats) of each label column of (N, K); equals the MI of a column with itself."""
    c, sizes = compact_labels(labels)
    n, k = c.shape
    size = int(sizes.max())
    counts = np.bincount((c + np.arange(k)[None, :] * size).ravel(), minlength=k * size)
    p = counts.reshape(k, size) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
    return np.clip(h, 0.0, None)
