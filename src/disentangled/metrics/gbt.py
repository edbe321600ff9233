"""Gradient boosting with the definitions of scikit-learn's GradientBoostingClassifier, vectorised.

Used by the ``fast`` DCI. It grows the model of ``GradientBoostingClassifier()`` (log-loss, 100
stages, learning rate 0.1, depth-3 squared-error regression trees on the negative gradient, one
tree per class per stage, Newton leaf values with the (K-1)/K multiclass factor, impurity-decrease
feature importances averaged over trees with a split and normalised, float32 features, every
split between two distinct values of a node considered). All trees of a stage are grown together,
level by level:

1. per-node (count, residual sum, positive-residual sum) histograms over a coarse grid of at most
   ``max_bins`` values per feature give the best split at every grid edge (only the smaller child
   of a split is histogrammed; the other is the parent minus it; the positive residuals of a
   class's tree are the class's own points, a K-th of the sample, so their histogram is cheap);
2. a grid cell can hide a better split between two of its own points. From the cell's histogram
   and the node's largest residuals of each sign the best such split is bounded above
   (:func:`_cell_bounds`), after one bound over each group of ``_GROUP`` adjacent cells has ruled
   out most of them; only the cells whose bound beats the best split so far are opened, and
   their points scanned exactly in sorted order.

The chosen split is therefore the exact best split, as scikit-learn's exhaustive search finds it,
at a fraction of the work. Two details differ: ties between features are broken uniformly at
random (the reference's random feature order does the same, with another random stream), and a
split at a grid edge uses the edge as threshold rather than the midpoint between the node's two
neighbouring values, which only matters for test points falling in between.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

_EPS = np.finfo(np.float64).eps
_FEATURE_THRESHOLD = np.float32(1e-7)
_CELLS_PER_ROUND = 16  # cells opened per node and round of the branch and bound
_GROUP = 16  # cells per group: a bound over each group of adjacent cells filters the cells


def _separated(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Whether a split may fall between sorted neighbours ``low`` <= ``high``.

    scikit-learn's splitter treats a value within 1e-7 of the previous one as the same value,
    with the sum rounded to float32 (1 to 2 float32 steps near 1).
    """
    return high.astype(np.float32) > low.astype(np.float32) + _FEATURE_THRESHOLD


@dataclass(frozen=True)
class BoostingResult:
    """Normalised feature importances (D,) and train/test accuracies in [0, 1]."""

    importances: np.ndarray
    train_accuracy: float
    test_accuracy: float


def bin_thresholds(x: np.ndarray, max_bins: int) -> list[np.ndarray]:
    """Per-feature grid edges (ascending) for x (N, D): at most ``max_bins`` - 1 per feature.

    A feature with at most ``max_bins`` distinct values keeps every midpoint. Otherwise edges sit
    near equal-count positions, each moved to the widest gap between neighbouring values within
    half a cell, so separated clusters fall on both sides of an edge.
    """
    thresholds = []
    for column in x.T:
        uniq = np.unique(column)
        gaps = np.diff(uniq)
        # values closer than the splitter's tolerance form one run that no split may cut
        gaps[~_separated(uniq[:-1], uniq[1:])] = -1.0
        usable = np.flatnonzero(gaps > 0)
        if usable.size < max_bins:
            thresholds.append((uniq[usable] + uniq[usable + 1]) / 2.0)
            continue
        half = max(1, gaps.size // (2 * max_bins))
        windows = np.lib.stride_tricks.sliding_window_view(
            np.pad(gaps, half, constant_values=-1.0), 2 * half + 1
        )
        centres = np.rint(np.linspace(0, gaps.size - 1, max_bins + 1)[1:-1]).astype(np.int64)
        widest = centres - half + windows[centres].argmax(axis=1)
        widest = widest[gaps[widest] > 0]
        thresholds.append(np.unique((uniq[widest] + uniq[widest + 1]) / 2.0))
    return thresholds


def apply_bins(x: np.ndarray, thresholds: list[np.ndarray]) -> np.ndarray:
    """Cell index per entry (N, D): cell b holds thresholds[b-1] < x <= thresholds[b]."""
    out = np.empty(x.shape, dtype=np.int64)
    for d, cut in enumerate(thresholds):
        out[:, d] = np.searchsorted(cut, x[:, d], side="left")
    return out


def _probabilities(raw: np.ndarray) -> np.ndarray:
    if raw.shape[0] == 1:
        return 1.0 / (1.0 + np.exp(-raw))
    e = np.exp(raw - raw.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _proxy(c_l, s_l, c_r, s_r):
    """scikit-learn's split proxy (c_r s_l - c_l s_r)^2 / (c_l c_r); -inf where a side is empty."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            (c_l > 0.5) & (c_r > 0.5), (c_r * s_l - c_l * s_r) ** 2 / (c_l * c_r), -np.inf
        )


def _range_bound(n, mu, d_before, c_before, positive, negative, peak_pos, peak_neg, m0, m1):
    """Upper bound of the proxy over splits with m in [m0, m1] points of a run of sorted points
    (a cell or a group of cells) on the left.

    proxy = n^2 d^2 / (c_l c_r) with d = s_l - c_l mu (mu = s_t / n the node's mean residual).
    The residuals of m points of the run sum to at most min(positive mass, m * peak_pos) and at
    least -min(negative mass, m * peak_neg) (peak_pos >= every residual of the run, peak_neg >=
    every -residual), and c_l c_r is concave in m, so smallest at m0 or m1. All arguments are
    arrays that broadcast together (or scalars).
    """
    hi = d_before + np.minimum(positive, m1 * peak_pos) - np.minimum(m0 * mu, m1 * mu)
    lo = d_before - np.minimum(negative, m1 * peak_neg) - np.maximum(m0 * mu, m1 * mu)
    first = (c_before + m0) * (n - c_before - m0)
    last = (c_before + m1) * (n - c_before - m1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        bound = n * n * np.maximum(lo * lo, hi * hi) / np.maximum(np.minimum(first, last), 1.0)
    return bound * (1.0 + 1e-9) + 1e-12


def _cell_bounds(n, mu, d_before, c_before, counts, positive, negative, peak_pos, peak_neg):
    """Upper bound of the proxy of any split inside each cell (1-D arrays, one entry per cell):
    the largest of :func:`_range_bound` over m in [1, 1], [2, 3], [4, 7], ... up to n_b - 1."""
    bound = np.full(counts.shape, -np.inf)
    idx = np.arange(counts.size)
    m0 = 1.0
    while idx.size:
        m1 = np.minimum(2.0 * m0 - 1.0, counts[idx] - 1.0)
        piece = _range_bound(
            n[idx],
            mu[idx],
            d_before[idx],
            c_before[idx],
            positive[idx],
            negative[idx],
            peak_pos[idx],
            peak_neg[idx],
            m0,
            m1,
        )
        bound[idx] = np.maximum(bound[idx], piece)
        m0 *= 2.0
        idx = idx[counts[idx] - 1.0 >= m0]
    return bound


@dataclass(frozen=True)
class _Level:
    """The splits of one level for K trees x nodes, as :meth:`route` reads them."""

    feature: np.ndarray  # (K, nodes) int64
    threshold: np.ndarray  # (K, nodes) float64: x <= threshold goes left; inf where no split
    small_side: np.ndarray  # (K, nodes) int8: 0 smaller child left, 1 right, 2 no split

    @classmethod
    def of(cls, feature, threshold, split, small_left) -> _Level:
        """From each node's feature, threshold, split flag and whether its left child is the
        smaller (all (K, nodes)); a node that does not split sends everything to child 1."""
        return cls(
            feature,
            np.where(split, threshold, np.inf),
            np.where(split, ~small_left, 2).astype(np.int8),
        )

    def route(self, x_t: np.ndarray, node: np.ndarray) -> np.ndarray:
        """Route samples x_t (D, N) (features by rows) at global node ids (K, N) one level down.

        Returns the child each sample goes to (K, N) in {0, 1}: 0 is the smaller child of the
        split (x <= threshold on the left), 1 the other; a node that does not split sends every
        sample to child 1. The next level's node id is 2 * node + child.
        """
        n = x_t.shape[1]
        value = np.take(x_t, np.take(self.feature * n, node) + np.arange(n))
        right = value > np.take(self.threshold, node)
        return right.view(np.int8) != np.take(self.small_side, node)


@dataclass
class _NodeHistograms:
    """Per-node cell histograms of one level, each (K, nodes, D, B): point counts, residual
    sums and positive-residual sums; and per node (K, nodes) the sum of squared residuals and
    upper bounds of the largest residual and of the largest -residual."""

    counts: np.ndarray
    sums: np.ndarray
    pos_sums: np.ndarray
    squares: np.ndarray
    peak_pos: np.ndarray
    peak_neg: np.ndarray

    def __post_init__(self) -> None:
        self.n_t = self.counts[:, :, 0, :].sum(axis=-1)  # (K, nodes) points per node
        self.s_t = self.sums[:, :, 0, :].sum(axis=-1)  # (K, nodes) residual sum per node
        self.c_left = np.cumsum(self.counts, axis=-1)  # left of each grid edge
        self.s_left = np.cumsum(self.sums, axis=-1)


class _Grower:
    """Grows the K depth-limited trees of one stage together (K = trees per stage)."""

    def __init__(self, x, thresholds, depth: int, rng: np.random.Generator):
        bins = apply_bins(x, thresholds)  # (N, D)
        self.bins_t = np.ascontiguousarray(bins.T)  # (D, N)
        self.x_t = np.ascontiguousarray(x.T)  # (D, N)
        self.n, self.d = x.shape
        self.b = -(-(max(t.size for t in thresholds) + 1) // _GROUP) * _GROUP  # whole groups
        self.depth = depth
        self.rng = rng
        self.edges = np.full((self.d, self.b), np.inf)
        for j, cut in enumerate(thresholds):
            self.edges[j, : cut.size] = cut
        self.offsets = (np.arange(self.d) * self.b)[None, :] + bins  # (N, D)
        rows = np.arange(self.n + 1) * self.d
        self.onehot_t = sp.csr_matrix(
            (np.ones(self.n * self.d), self.offsets.ravel(), rows),
            shape=(self.n, self.d * self.b),
        ).T.tocsr()
        self.root_counts = np.bincount(self.offsets.ravel(), minlength=self.d * self.b).astype(
            np.float64
        )
        # each feature's samples in ascending order, and where each cell starts in that order
        self.order = np.argsort(x, axis=0, kind="stable").T.copy()  # (D, N)
        sorted_bins = np.take_along_axis(self.bins_t, self.order, axis=1)
        self.cell_start = np.stack(
            [np.searchsorted(row, np.arange(self.b + 1)) for row in sorted_bins]
        )  # (D, B + 1)
        self.sorted_x = sorted_x = np.take_along_axis(x.T, self.order, axis=1)  # (D, N)
        lo = sorted_x[np.arange(self.d)[:, None], np.minimum(self.cell_start[:, :-1], self.n - 1)]
        hi = sorted_x[np.arange(self.d)[:, None], np.maximum(self.cell_start[:, 1:] - 1, 0)]
        # cells holding two values or more (the only ones a split can fall inside)
        self.divisible = (np.diff(self.cell_start, axis=1) >= 2) & _separated(lo, hi)

    def _histograms(self, node, member, r, out) -> np.ndarray:
        """Count, residual-sum and positive-residual-sum histograms of the samples flagged in
        ``member`` (K, N), at global node ids ``node`` (K, N), written into ``out`` (three
        arrays (K * nodes, D, B)); returns the sums of squared residuals (K * nodes,).

        One feature at a time: each pass's indices stay in cache, and the weights are the
        samples' residuals as they are (no copy per feature).
        """
        counts, sums, pos_sums = out
        rows = counts.shape[0]
        flat = np.flatnonzero(member)  # (a 2-D np.nonzero is several times slower)
        i_idx = flat % self.n
        at = node.ravel()[flat]
        values = r.ravel()[flat]
        up = values > 0
        base, base_up, values_up = at * self.b, at[up] * self.b, values[up]
        i_up = i_idx[up]
        size = rows * self.b
        for j, column in enumerate(self.bins_t):
            idx = base + column[i_idx]
            counts[:, j] = np.bincount(idx, minlength=size).reshape(rows, self.b)
            sums[:, j] = np.bincount(idx, weights=values, minlength=size).reshape(rows, self.b)
            pos_sums[:, j] = np.bincount(
                base_up + column[i_up], weights=values_up, minlength=size
            ).reshape(rows, self.b)
        return np.bincount(at, weights=values * values, minlength=rows)

    def _open_cells(self, cells, nodes: int, before, node, r):
        """Scan the points of some cells exactly, in their node.

        cells: flat indices into (K, nodes, D, B) (``nodes`` per tree at this level);
        ``before``: per cell the count and residual sum left of it in its node, and its node's
        count and residual sum (four arrays like cells). Returns per cell the best inside
        split's proxy (-inf where there is none), its threshold and its left count.
        """
        k = node.shape[0]
        kc, nc, dc, bc = np.unravel_index(cells, (k, nodes, self.d, self.b))
        starts = self.cell_start[dc, bc]
        lens = self.cell_start[dc, bc + 1] - starts
        seg = np.repeat(np.arange(cells.size), lens)
        at = np.arange(seg.size) - np.repeat(np.cumsum(lens) - lens - starts - dc * self.n, lens)
        ids = self.order.ravel()[at]  # the cells' points, in sorted order
        keep = node.ravel()[np.repeat(kc * self.n, lens) + ids] == np.repeat(kc * nodes + nc, lens)
        seg, ids, at = seg[keep], ids[keep], at[keep]
        rv = r.ravel()[kc[seg] * self.n + ids]
        xv = self.sorted_x.ravel()[at]
        first = np.r_[True, seg[1:] != seg[:-1]]
        head = np.flatnonzero(first)
        size = np.diff(np.r_[head, seg.size])
        owner = seg[head]  # the cell of each segment (cells with no point of the node drop out)
        cs = np.cumsum(rv)
        partial = cs - np.repeat(cs[head] - rv[head], size)
        m = np.arange(seg.size) - np.repeat(head, size) + 1.0
        c_before, s_before, n_node, s_node = (a[owner] for a in before)
        c_l = np.repeat(c_before, size) + m
        s_l = np.repeat(s_before, size) + partial
        c_r = np.repeat(n_node, size) - c_l
        s_r = np.repeat(s_node, size) - s_l
        x_next = np.r_[xv[1:], np.inf]
        splittable = np.r_[~first[1:], False] & _separated(xv, x_next)
        proxy = np.where(splittable, _proxy(c_l, s_l, c_r, s_r), -np.inf)
        best = np.full(cells.size, -np.inf)
        thr = np.zeros(cells.size)
        c_best = np.zeros(cells.size)
        if seg.size == 0:
            return best, thr, c_best
        seg_best = np.maximum.reduceat(proxy, head)
        hit = np.flatnonzero((proxy == np.repeat(seg_best, size)) & np.isfinite(proxy))
        _, at = np.unique(seg[hit], return_index=True)
        where = hit[at]  # each cell's best position (the lowest value on ties)
        lo, hi = xv[where], x_next[where]
        mid = lo / 2.0 + hi / 2.0
        best[seg[where]] = proxy[where]
        thr[seg[where]] = np.where(mid == hi, lo, mid)
        c_best[seg[where]] = c_l[where]
        return best, thr, c_best

    def _refine(self, h: _NodeHistograms, can_split, best_f, thr_f, c_f, node, r):
        """Branch and bound over the cells of every node (arrays (K, nodes, D, B)): open the
        cells whose bound beats their node's best split so far, the most promising first,
        until none does. Returns the updated best proxy, threshold and left count (K, nodes, D).
        """
        k, nodes = h.n_t.shape
        width = self.d * self.b
        shape = (k, nodes, self.d)
        best_f, thr_f, c_f = (a.reshape(k * nodes, self.d) for a in (best_f, thr_f, c_f))
        mu = h.s_t / np.where(h.n_t > 0, h.n_t, 1.0)
        current = best_f.max(axis=1)  # each node's best split so far (K * nodes,)
        eligible = can_split[..., None, None] & self.divisible & (h.counts >= 2.0)
        # a group of adjacent cells is a run of the sorted points too: one bound for any split
        # inside it rules out all its cells at once (most do not pass; those that do are
        # examined cell by cell below)
        groups = (k, nodes, self.d, self.b // _GROUP, _GROUP)
        g_cnt = h.counts.reshape(groups).sum(axis=-1)
        g_pos = h.pos_sums.reshape(groups).sum(axis=-1)
        g_neg = np.maximum(g_pos - h.sums.reshape(groups).sum(axis=-1), 0.0)
        g_cb = h.c_left.reshape(groups)[..., 0] - h.counts.reshape(groups)[..., 0]
        g_sb = h.s_left.reshape(groups)[..., 0] - h.sums.reshape(groups)[..., 0]
        g_db = g_sb - g_cb * mu[..., None, None]
        g_bound = _range_bound(
            h.n_t[..., None, None],
            mu[..., None, None],
            g_db,
            g_cb,
            g_pos,
            g_neg,
            h.peak_pos[..., None, None],
            h.peak_neg[..., None, None],
            1.0,
            g_cnt - 1.0,
        )
        g_pass = g_bound > current.reshape(k, nodes)[..., None, None]
        eligible = eligible.reshape(groups) & g_pass[..., None]
        cand = np.flatnonzero(eligible)
        row = cand // width
        n_c, mu_c = h.n_t.ravel()[row], mu.ravel()[row]
        cnt, s_c, pos = (x.ravel()[cand] for x in (h.counts, h.sums, h.pos_sums))
        pp, pn = h.peak_pos.ravel()[row], h.peak_neg.ravel()[row]
        neg = np.maximum(pos - s_c, 0.0)
        c_b = h.c_left.ravel()[cand] - cnt
        s_b = h.s_left.ravel()[cand] - s_c
        d_b = s_b - c_b * mu_c
        # a cheap bound over all m first, the tight one only where the cheap one passes
        cheap = _range_bound(n_c, mu_c, d_b, c_b, pos, neg, pp, pn, 1.0, cnt - 1.0)
        sel = np.flatnonzero(cheap > current[row])
        cand, row = cand[sel], row[sel]
        bound = _cell_bounds(
            *(a[sel] for a in (n_c, mu_c, d_b, c_b, cnt, pos, neg, pp, pn)),
        )
        order = np.flatnonzero(bound > current[row])
        order = order[np.lexsort((-bound[order], row[order]))]  # per node, largest bound first
        cand, row, bound = cand[order], row[order], bound[order]
        # per cell: count and residual sum left of it in its node, and the node's totals
        before = [c_b[sel][order], s_b[sel][order], n_c[sel][order], h.s_t.ravel()[row]]
        starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        rank = np.arange(cand.size) - np.repeat(starts, np.diff(np.r_[starts, cand.size]))
        lo = 0
        while True:
            hi = lo + _CELLS_PER_ROUND
            pick = np.flatnonzero((rank >= lo) & (rank < hi))
            pick = pick[bound[pick] > best_f.max(axis=1)[row[pick]]]
            if pick.size == 0:
                break
            cells, rows = cand[pick], row[pick]
            value, thr, c_l = self._open_cells(cells, nodes, [a[pick] for a in before], node, r)
            slot = rows * self.d + (cells % width) // self.b
            # per (node, feature) keep the better split (the lower cell on ties)
            order = np.lexsort((cells, -value, slot))
            slot, first = slot[order], np.r_[True, slot[order][1:] != slot[order][:-1]]
            win = order[first]
            better = value[win] > best_f.ravel()[slot[first]]
            target = slot[first][better]
            best_f.ravel()[target] = value[win][better]
            thr_f.ravel()[target] = thr[win][better]
            c_f.ravel()[target] = c_l[win][better]
            lo = hi
        return best_f.reshape(shape), thr_f.reshape(shape), c_f.reshape(shape)

    def grow(self, r: np.ndarray, importances: np.ndarray):
        """Grow K trees on residuals r (K, N) -> (levels, leaf of each sample (K, N), root splits).

        Node ids are global (tree * nodes_at_level + node); leaves index a (K * 2^depth) table.
        """
        k = r.shape[0]
        node = np.repeat(np.arange(k)[:, None], self.n, axis=1)
        shape = (k, 1, self.d, self.b)
        # the positive residuals (in a class's tree, the class's own points) are few
        up = np.flatnonzero(r > 0)
        up_k, up_i = np.divmod(up, self.n)
        up_idx = (up_k[:, None] * (self.d * self.b) + self.offsets[up_i]).ravel()
        pos_sums = np.bincount(
            up_idx, weights=np.repeat(r.ravel()[up], self.d), minlength=k * self.d * self.b
        )
        h = _NodeHistograms(
            counts=np.broadcast_to(self.root_counts, (k, self.d * self.b)).reshape(shape),
            sums=np.asarray(self.onehot_t @ r.T).T.reshape(shape),
            pos_sums=pos_sums.reshape(shape),
            squares=np.einsum("kn,kn->k", r, r)[:, None],
            peak_pos=np.maximum(r.max(axis=1), 0.0)[:, None],
            peak_neg=np.maximum(-r.min(axis=1), 0.0)[:, None],
        )
        alive = np.ones((k, 1), dtype=bool)
        levels = []
        root_split = None
        for level in range(self.depth):
            nodes = 2**level
            n_t = h.n_t
            with np.errstate(divide="ignore", invalid="ignore"):
                impurity = h.squares / n_t - (h.s_t / n_t) ** 2
            proxy = _proxy(
                h.c_left,
                h.s_left,
                n_t[..., None, None] - h.c_left,
                h.s_t[..., None, None] - h.s_left,
            )
            edge = proxy.argmax(axis=-1)  # (K, nodes, D): lowest edge wins ties
            best_f = np.take_along_axis(proxy, edge[..., None], -1)[..., 0]
            thr_f = self.edges[np.arange(self.d), edge]
            c_f = np.take_along_axis(h.c_left, edge[..., None], -1)[..., 0]
            # open the cells that may hide a better split than the best edge
            can_split = alive & (n_t >= 2) & (impurity > _EPS)
            best_f, thr_f, c_f = self._refine(h, can_split, best_f, thr_f, c_f, node, r)
            best = best_f.max(axis=-1)
            tied = best_f == best[..., None]
            priority = np.where(tied, self.rng.random(tied.shape), -1.0)
            feature = priority.argmax(axis=-1)
            pick = feature[..., None]
            split = can_split & np.isfinite(best)
            gain = np.where(split, best / np.where(n_t > 0, n_t, 1.0), 0.0) / self.n
            np.add.at(importances, (np.nonzero(split)[0], feature[split]), gain[split])
            if level == 0:
                root_split = split[:, 0].copy()
            c_best = np.take_along_axis(c_f, pick, -1)[..., 0]
            lv = _Level.of(
                feature,
                np.take_along_axis(thr_f, pick, -1)[..., 0],
                split,
                c_best <= n_t - c_best,  # histogram the smaller child
            )
            levels.append(lv)
            child = lv.route(self.x_t, node)
            if level + 1 < self.depth:
                # children side by side, the smaller first: its histograms are counted and the
                # other's are the parent's minus them
                pairs = [np.empty((k, nodes, 2, self.d, self.b)) for _ in range(3)]
                squares = self._histograms(
                    node, ~child, r, [a.reshape(k * nodes, 2, self.d, self.b)[:, 0] for a in pairs]
                )
                parents = (h.counts, h.sums, h.pos_sums)
                for pair, parent in zip(pairs, parents, strict=True):
                    np.subtract(parent, pair[:, :, 0], out=pair[:, :, 1])
                squares = squares.reshape(k, nodes)
                squares = np.stack([squares, h.squares - squares], axis=2)
                # a child's largest residuals are at most its parent's: upper bounds are all
                # the bounds need
                h = _NodeHistograms(
                    *(a.reshape(k, 2 * nodes, self.d, self.b) for a in pairs),
                    squares=squares.reshape(k, 2 * nodes),
                    peak_pos=np.repeat(h.peak_pos, 2, axis=1),
                    peak_neg=np.repeat(h.peak_neg, 2, axis=1),
                )
                alive = np.repeat(split, 2, axis=1)
            node = 2 * node + child
        return levels, node, root_split


def _leaves(levels: list[_Level], x_t: np.ndarray, k: int) -> np.ndarray:
    """Leaf (global id) of each sample of x_t (D, N) in each of the K trees: (K, N)."""
    node = np.repeat(np.arange(k)[:, None], x_t.shape[1], axis=1)
    for lv in levels:
        node = 2 * node + lv.route(x_t, node)
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

    ``max_bins`` sets the coarse grid (speed only: the splits are exact). Returns the normalised
    impurity importances (D,) and the train/test accuracies.
    """
    # scikit-learn's trees see float32 features; so do these (then thresholds in float64)
    x_train = np.asarray(x_train, dtype=np.float32).astype(np.float64)
    x_test_t = np.asarray(x_test, dtype=np.float32).astype(np.float64).T.copy()  # (D, N_test)
    classes, y_idx = np.unique(y_train, return_inverse=True)
    c = classes.size
    if c < 2:
        raise ValueError("boosting needs at least two classes")
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
    grower = _Grower(
        x_train, bin_thresholds(x_train, max_bins), max_depth, np.random.default_rng(seed)
    )
    importances = np.zeros((k, x_train.shape[1]))
    relevant = 0
    leaves = 2**max_depth
    for _ in range(n_estimators):
        p = _probabilities(raw)
        r = target - p
        levels, leaf, root_split = grower.grow(r, importances)
        relevant += int(root_split.sum())
        num = np.bincount(leaf.ravel(), weights=r.ravel(), minlength=k * leaves)
        den = np.bincount(leaf.ravel(), weights=(p * (1 - p)).ravel(), minlength=k * leaves)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(np.abs(den) < 1e-150, 0.0, num / den).reshape(k, leaves)
        if k > 1:
            value *= (k - 1) / k
        raw += learning_rate * value.ravel()[leaf]
        raw_test += learning_rate * value.ravel()[_leaves(levels, x_test_t, k)]
    total = importances.sum(axis=0) / max(relevant, 1)
    if total.sum() > 0:
        total = total / total.sum()

    def accuracy(raw_scores: np.ndarray, y: np.ndarray) -> float:
        pred = (raw_scores[0] > 0).astype(np.int64) if k == 1 else raw_scores.argmax(axis=0)
        return float(np.mean(classes[pred] == np.asarray(y)))

    return BoostingResult(total, accuracy(raw, y_train), accuracy(raw_test, y_test))
