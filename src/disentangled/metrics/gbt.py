"""Histogram gradient boosting with the definitions of scikit-learn's GradientBoostingClassifier.

Used by the ``fast`` DCI. It reproduces ``GradientBoostingClassifier()`` (log-loss, 100 stages,
learning rate 0.1, depth-3 squared-error regression trees on the negative gradient, one tree per
class per stage, Newton leaf values with the (K-1)/K multiclass factor, impurity-decrease feature
importances averaged over trees with a split and normalised, float32 features) with one
approximation: split thresholds are restricted to at most ``max_bins`` - 1 per feature (every
midpoint between distinct values when a feature has at most ``max_bins`` of them, else
gap-snapped quantiles; see :func:`bin_thresholds`). Ties between features are broken uniformly
at random, as the reference's random feature order does. All trees of a stage are grown
together, level by level, from per-node (count, residual-sum) histograms; only the smaller child
of each split is histogrammed, the other is the parent minus it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

_EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class BoostingResult:
    """Normalised feature importances (D,) and train/test accuracies in [0, 1]."""

    importances: np.ndarray
    train_accuracy: float
    test_accuracy: float


def bin_thresholds(x: np.ndarray, max_bins: int) -> list[np.ndarray]:
    """Per-feature split thresholds (ascending) for x (N, D).

    A feature with at most ``max_bins`` distinct values keeps every midpoint (no loss). Otherwise
    thresholds sit near equal-count positions, each moved to the widest gap between neighbouring
    values within half a bin: separated clusters (a class boundary in a good code) stay
    separable, which plain quantile edges would break.
    """
    thresholds = []
    for column in x.T:
        uniq = np.unique(column)
        if uniq.size <= max_bins:
            thresholds.append((uniq[:-1] + uniq[1:]) / 2.0)
            continue
        gaps = np.diff(uniq)
        half = max(1, gaps.size // (2 * max_bins))
        windows = np.lib.stride_tricks.sliding_window_view(
            np.pad(gaps, half, constant_values=-1.0), 2 * half + 1
        )
        centres = np.rint(np.linspace(0, gaps.size - 1, max_bins + 1)[1:-1]).astype(np.int64)
        widest = centres - half + windows[centres].argmax(axis=1)
        thresholds.append(np.unique((uniq[widest] + uniq[widest + 1]) / 2.0))
    return thresholds


def apply_bins(x: np.ndarray, thresholds: list[np.ndarray]) -> np.ndarray:
    """Bin index per entry (N, D): bin b holds thresholds[b-1] < x <= thresholds[b]."""
    out = np.empty(x.shape, dtype=np.int64)
    for d, cut in enumerate(thresholds):
        out[:, d] = np.searchsorted(cut, x[:, d], side="left")
    return out


def _probabilities(raw: np.ndarray) -> np.ndarray:
    if raw.shape[0] == 1:
        return 1.0 / (1.0 + np.exp(-raw))
    e = np.exp(raw - raw.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


class _Grower:
    """Grows the K depth-limited trees of one stage together (K = trees per stage)."""

    def __init__(self, bins: np.ndarray, num_bins: int, depth: int, rng: np.random.Generator):
        self.bins = bins
        self.n, self.d = bins.shape
        self.b = num_bins
        self.depth = depth
        self.rng = rng
        self.offsets = (np.arange(self.d) * num_bins)[None, :] + bins  # (N, D)
        rows = np.arange(self.n + 1) * self.d
        self.onehot_t = sp.csr_matrix(
            (np.ones(self.n * self.d), self.offsets.ravel(), rows),
            shape=(self.n, self.d * num_bins),
        ).T.tocsr()
        self.root_counts = np.bincount(self.offsets.ravel(), minlength=self.d * num_bins).astype(
            np.float64
        )

    def _histograms(self, node, member, r, rows: int):
        """Count and residual-sum histograms (K * nodes, D * B) of the samples in ``member``.

        ``node`` holds global node ids (tree * nodes + node), so they index rows directly.
        """
        k_idx, i_idx = np.nonzero(member)
        idx = (node[k_idx, i_idx][:, None] * (self.d * self.b) + self.offsets[i_idx]).ravel()
        size = rows * self.d * self.b
        counts = np.bincount(idx, minlength=size).astype(np.float64)
        sums = np.bincount(idx, weights=np.repeat(r[k_idx, i_idx], self.d), minlength=size)
        return counts, sums

    def grow(self, r: np.ndarray, importances: np.ndarray):
        """Grow K trees on residuals r (K, N) -> (split keys per level, leaves, root splits).

        Node ids are global (tree * nodes_at_level + node); leaves index a (K * 2^depth) table.
        """
        k = r.shape[0]
        node = np.repeat(np.arange(k)[:, None], self.n, axis=1)
        counts = np.broadcast_to(self.root_counts, (k, self.d * self.b)).reshape(
            k, 1, self.d, self.b
        )
        sums = np.asarray(self.onehot_t @ r.T).T.reshape(k, 1, self.d, self.b)
        alive = np.ones((k, 1), dtype=bool)
        keys = []
        root_split = None
        for level in range(self.depth):
            nodes = 2**level
            n_t = counts[:, :, 0, :].sum(axis=-1)
            s_t = sums[:, :, 0, :].sum(axis=-1)
            ss_t = np.bincount(node.ravel(), weights=(r * r).ravel(), minlength=k * nodes).reshape(
                k, nodes
            )
            with np.errstate(divide="ignore", invalid="ignore"):
                impurity = ss_t / n_t - (s_t / n_t) ** 2
            c_left = np.cumsum(counts, axis=-1)
            s_left = np.cumsum(sums, axis=-1)
            c_right = n_t[..., None, None] - c_left
            s_right = s_t[..., None, None] - s_left
            valid = (c_left > 0.5) & (c_right > 0.5)
            with np.errstate(divide="ignore", invalid="ignore"):
                proxy = np.where(
                    valid, (c_right * s_left - c_left * s_right) ** 2 / (c_left * c_right), -np.inf
                )
            best_bin = proxy.argmax(axis=-1)  # (K, nodes, D): first (lowest) threshold wins
            best_per_feature = np.take_along_axis(proxy, best_bin[..., None], -1)[..., 0]
            best = best_per_feature.max(axis=-1)
            tied = best_per_feature == best[..., None]
            priority = np.where(tied, self.rng.random(tied.shape), -1.0)
            feature = priority.argmax(axis=-1)
            threshold = np.take_along_axis(best_bin, feature[..., None], -1)[..., 0]
            split = alive & (n_t >= 2) & (impurity > _EPS) & np.isfinite(best)
            gain = np.where(split, best / np.where(n_t > 0, n_t, 1.0), 0.0) / self.n
            np.add.at(importances, (np.nonzero(split)[0], feature[split]), gain[split])
            if level == 0:
                root_split = split[:, 0].copy()
            # which child is smaller: histogram it, the other is the parent minus it
            c_best = np.take_along_axis(
                np.take_along_axis(c_left, feature[..., None, None], 2)[:, :, 0],
                threshold[..., None],
                -1,
            )[..., 0]
            small_left = c_best <= n_t - c_best
            key = pack_splits(feature, threshold, split, small_left, self.b)
            keys.append(key)
            go_right, in_small = route(self.bins, node, key, self.b)
            if level + 1 < self.depth:
                s_counts, s_sums = self._histograms(node, in_small, r, k * nodes)
                s_counts = s_counts.reshape(k, nodes, self.d, self.b)
                s_sums = s_sums.reshape(k, nodes, self.d, self.b)
                o_counts, o_sums = counts - s_counts, sums - s_sums
                sl = small_left[..., None, None]
                counts = np.stack(
                    [np.where(sl, s_counts, o_counts), np.where(sl, o_counts, s_counts)], axis=2
                ).reshape(k, 2 * nodes, self.d, self.b)
                sums = np.stack(
                    [np.where(sl, s_sums, o_sums), np.where(sl, o_sums, s_sums)], axis=2
                ).reshape(k, 2 * nodes, self.d, self.b)
                alive = np.repeat(split, 2, axis=1)
            node = 2 * node + go_right
        return keys, node, root_split


def pack_splits(feature, threshold, split, small_left, num_bins: int) -> np.ndarray:
    """Pack a level's splits (K, nodes) into int64 keys: feature, bin, split flag, smaller side."""
    shift = int(num_bins - 1).bit_length()
    key = ((feature << shift) | threshold) << 2
    return np.where(split, key | 2 | small_left, 0)


def route(bins: np.ndarray, node: np.ndarray, key: np.ndarray, num_bins: int):
    """Route samples one level down: node (K, N) global ids, key (K, nodes) from
    :func:`pack_splits`. Returns (goes right (K, N), is in the smaller child (K, N))."""
    n, d = bins.shape
    shift = int(num_bins - 1).bit_length()
    kv = key.ravel()[node]
    feature = kv >> (shift + 2)
    threshold = (kv >> 2) & ((1 << shift) - 1)
    split = (kv & 2) != 0
    right = split & (bins.ravel()[feature + (np.arange(n) * d)[None, :]] > threshold)
    in_small = split & (right != ((kv & 1) != 0))
    return right, in_small


def _leaves(keys, bins: np.ndarray, k: int, num_bins: int) -> np.ndarray:
    node = np.repeat(np.arange(k)[:, None], bins.shape[0], axis=1)
    for key in keys:
        node = 2 * node + route(bins, node, key, num_bins)[0]
    return node


def boosted_importances(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    n_estimators: int = 100,
    learning_rate: float = 0.1,
    max_depth: int = 3,
    max_bins: int = 256,
    seed: int = 0,
) -> BoostingResult:
    """Fit the boosted classifier of codes x (N, D) -> labels y (N,) and score it.

    Returns the normalised impurity importances (D,) and the train/test accuracies.
    """
    # scikit-learn's trees see float32 features; so do these (then thresholds in float64)
    x_train = np.asarray(x_train, dtype=np.float32).astype(np.float64)
    x_test = np.asarray(x_test, dtype=np.float32).astype(np.float64)
    classes, y_idx = np.unique(y_train, return_inverse=True)
    c = classes.size
    if c < 2:
        raise ValueError("boosting needs at least two classes")
    thresholds = bin_thresholds(x_train, max_bins)
    num_bins = max(t.size for t in thresholds) + 1
    bins = apply_bins(x_train, thresholds)
    bins_test = apply_bins(x_test, thresholds)
    k = 1 if c == 2 else c
    prior = np.clip(np.bincount(y_idx, minlength=c) / y_idx.size, _EPS, 1 - _EPS)
    if k == 1:
        target = (y_idx == 1)[None, :].astype(np.float64)
        init = np.array([np.log(prior[1] / (1 - prior[1]))])
    else:
        target = (y_idx[None, :] == np.arange(c)[:, None]).astype(np.float64)
        init = np.log(prior)
    raw = np.repeat(init[:, None], x_train.shape[0], axis=1)
    raw_test = np.repeat(init[:, None], x_test.shape[0], axis=1)
    grower = _Grower(bins, num_bins, max_depth, np.random.default_rng(seed))
    importances = np.zeros((k, x_train.shape[1]))
    relevant = 0
    leaves = 2**max_depth
    for _ in range(n_estimators):
        p = _probabilities(raw)
        r = target - p
        keys, leaf, root_split = grower.grow(r, importances)
        relevant += int(root_split.sum())
        num = np.bincount(leaf.ravel(), weights=r.ravel(), minlength=k * leaves)
        den = np.bincount(leaf.ravel(), weights=(p * (1 - p)).ravel(), minlength=k * leaves)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(np.abs(den) < 1e-150, 0.0, num / den).reshape(k, leaves)
        if k > 1:
            value *= (k - 1) / k
        raw += learning_rate * value.ravel()[leaf]
        raw_test += learning_rate * value.ravel()[_leaves(keys, bins_test, k, num_bins)]
    total = importances.sum(axis=0) / max(relevant, 1)
    if total.sum() > 0:
        total = total / total.sum()

    def accuracy(raw_scores: np.ndarray, y: np.ndarray) -> float:
        pred = (raw_scores[0] > 0).astype(np.int64) if k == 1 else raw_scores.argmax(axis=0)
        return float(np.mean(classes[pred] == np.asarray(y)))

    return BoostingResult(total, accuracy(raw, y_train), accuracy(raw_test, y_test))
