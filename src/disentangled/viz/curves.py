"""Training curves from ``metrics.jsonl`` records: every logged scalar, and per-dimension terms.

Several runs can be overlaid (one colour per run, the same colour in every panel).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .series import Record, dims_series, display_order, scalar_keys, series
from .style import PALETTE, PANEL, color, linestyle, render, title, unit

LOG_RATIO = 100.0  # a positive series spanning more than this factor is drawn on a log axis


def overlaid_keys(runs: Mapping[str, Sequence[Record]]) -> list[str]:
    """Scalar keys of all runs, in display order, without repeats."""
    return display_order(k for recs in runs.values() for k in scalar_keys(recs))


def use_log_axis(values: Sequence[np.ndarray]) -> bool:
    """True when every value is positive and the largest is > LOG_RATIO times the smallest."""
    v = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in values] or [np.zeros(0)])
    return bool(v.size) and bool(np.all(v > 0)) and float(v.max() / v.min()) > LOG_RATIO


def plot_curves(
    runs: Mapping[str, Sequence[Record]], keys: Sequence[str] | None = None, ncols: int = 3
) -> bytes | None:
    """PNG of one panel per scalar key (x: step; y: the key's unit), one line per run.

    ``runs`` maps a label to that run's records. None when there is nothing to plot.
    """
    keys = list(keys) if keys is not None else overlaid_keys(runs)
    if not keys:
        return None
    ncols = max(1, min(ncols, len(keys)))
    nrows = -(-len(keys) // ncols)
    labels = list(runs)

    from matplotlib.lines import Line2D

    def draw(fig, axes):
        for ax, key in zip(axes.flat, keys, strict=False):
            drawn = []
            for i, label in enumerate(labels):
                steps, vals = series(runs[label], key)
                if vals.size:
                    kw = {"marker": "o", "markersize": 4} if vals.size == 1 else {}
                    kw.update(color=color(i), linestyle=linestyle(i), label=label)
                    ax.plot(steps, vals, **kw)
                    drawn.append(vals)
            log = use_log_axis(drawn)
            if log:
                ax.set_yscale("log")
            ax.set_title(title(key))
            ax.set_xlabel("step")
            ax.set_ylabel(unit(key) + (" (log scale)" if log else ""))
        for ax in list(axes.flat)[len(keys) :]:
            ax.set_visible(False)
        if len(labels) > 1:
            handles = [
                Line2D([], [], color=color(i), linestyle=linestyle(i)) for i in range(len(labels))
            ]
            fig.legend(
                handles, labels, loc="outside upper center", ncols=min(len(labels), 4), fontsize=10
            )

    height = PANEL[1] * nrows + (0.4 if len(labels) > 1 else 0.0)
    return render(draw, (PANEL[0] * ncols, height), nrows=nrows, ncols=ncols)


def dim_labels(
    n: int, cont: int | None = None, disc: Sequence[int] = (), key: str = ""
) -> list[str]:
    """Names of the n entries of a per-dimension vector ``key``: z0.. for Gaussian dimensions,
    then c0 (K=...) for categoricals, when the model's ``cont`` and ``disc`` say which is which
    (a vector as long as the whole code, or a ``*disc*`` vector with one entry per categorical)."""
    cats = [f"c{j} (K={k})" for j, k in enumerate(disc)]
    if cont is not None and cont + len(disc) == n:
        return [f"z{d}" for d in range(cont)] + cats
    if disc and "disc" in key and len(disc) == n:
        return cats
    return [f"z{d}" for d in range(n)]


def plot_dims(
    records: Sequence[Record],
    key: str = "kl_dims",
    labels: Sequence[str] | None = None,
    threshold: float | None = 0.01,
) -> bytes | None:
    """PNG of a per-dimension term: its value per dimension over training (left) and at the last
    logged step, largest first (right; dimensions below ``threshold`` nats in grey)."""
    steps, vals = dims_series(records, key)
    if not steps.size or not vals.shape[1]:
        return None
    d = vals.shape[1]
    labels = list(labels) if labels is not None and len(labels) == d else dim_labels(d)
    name = key.removesuffix("_dims")
    last = vals[-1]
    order = np.argsort(-np.nan_to_num(last, nan=-np.inf), kind="stable")

    def draw(fig, axes):
        left, right = axes[0]
        marker = "o" if steps.size == 1 else None  # a single logged step is a point, not a line
        for j in range(d):
            left.plot(
                steps,
                vals[:, j],
                color=color(j),
                linestyle=linestyle(j // len(PALETTE)),  # past 10 dimensions, colours repeat
                label=labels[j],
                linewidth=1.3,
                marker=marker,
            )
        left.set_title(f"{name} per dimension over training")
        left.set_xlabel("step")
        left.set_ylabel(unit(name))
        if d <= 12:
            left.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        shown = last[order]
        active = np.nan_to_num(shown, nan=0.0) >= (threshold if threshold is not None else -np.inf)
        bar_colors = [color(int(j)) if a else "#bbbbbb" for j, a in zip(order, active, strict=True)]
        right.bar(np.arange(d), np.nan_to_num(shown), color=bar_colors)
        right.set_xticks(np.arange(d), [labels[int(j)] for j in order], rotation=60, ha="right")
        if threshold is not None:
            right.axhline(threshold, color="#888888", linestyle="--", linewidth=1)
        right.set_title(f"{name} at step {int(steps[-1])}, largest first")
        right.set_ylabel(unit(name))
        if threshold is not None and not active.all():
            right.text(
                0.98,
                0.95,
                f"grey: inactive (< {threshold:g} {unit(name)})",
                transform=right.transAxes,
                ha="right",
                va="top",
                fontsize=9,
                color="#555555",
            )

    return render(draw, (PANEL[0] * 3, PANEL[1] * 1.35), nrows=1, ncols=2)
