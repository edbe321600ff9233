"""The study's figures from the sweep table (matplotlib, Agg canvas, PNG):

- ``metric_<METRIC>.png``: one panel per method, one box per hyper-parameter value, the box over
  seeds (each seed also drawn as a point);
- ``metrics_by_method.png``: one panel per metric, one box per method over all its trials;
- ``rank_correlation.png``: Spearman's rho between the metrics over all finished trials.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..io import atomic_write_bytes
from ..viz.style import PANEL, color, render
from .analysis import grouped, metric_columns, rank_correlation, short_name, split_labels

MAX_COLS = 3


def write_figures(rows: list[dict[str, Any]], folder: Path) -> dict[str, Path]:
    """Draw every figure that the table has data for; returns {name: path}."""
    metrics = metric_columns(rows)
    out: dict[str, Path] = {}
    for col in metrics:
        name = "metric_" + _safe(short_name(col))
        out[name] = _save(folder / f"{name}.png", metric_by_hyperparameter(rows, col))
    if metrics:
        out["metrics_by_method"] = _save(
            folder / "metrics_by_method.png", metrics_by_method(rows, metrics)
        )
    if len(metrics) >= 2:
        out["rank_correlation"] = _save(
            folder / "rank_correlation.png", rank_correlation_figure(rows, metrics)
        )
    for stale in folder.glob("metric_*.png") if folder.is_dir() else ():
        if stale.stem not in out:  # a metric no longer in the sweep
            stale.unlink()
    return out


def metric_by_hyperparameter(rows: list[dict[str, Any]], column: str) -> bytes:
    """PNG: ``column`` per method (panel) and hyper-parameter value (box over seeds)."""
    groups = grouped(rows, column, ("experiment", "params"))
    methods = list(dict.fromkeys(k[0] for k in groups))
    ncols = min(MAX_COLS, len(methods))
    nrows = math.ceil(len(methods) / ncols)
    widest = max(sum(1 for k in groups if k[0] == m) for m in methods)
    size = (PANEL[0] * ncols * max(1.0, widest / 6), PANEL[1] * 1.3 * nrows + 0.4)

    def draw(fig, axes):
        for ax in axes.flat[len(methods) :]:
            ax.set_visible(False)
        for i, method in enumerate(methods):
            ax = axes.flat[i]
            labels = [k[1] for k in groups if k[0] == method]
            values = [groups[(method, lab)] for lab in labels]
            axis, ticks = split_labels(labels)
            _boxes(ax, values, ticks, color(i))
            ax.set_title(method)
            ax.set_xlabel(axis)
            if i % ncols == 0:
                ax.set_ylabel(short_name(column))
        fig.suptitle(f"{short_name(column)} per method and hyper-parameter (box over seeds)")

    return render(draw, size, nrows=nrows, ncols=ncols)


def metrics_by_method(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    """PNG: one panel per metric, one box per method over all its finished trials."""
    ncols = min(MAX_COLS, len(columns))
    nrows = math.ceil(len(columns) / ncols)
    size = (PANEL[0] * ncols, PANEL[1] * 1.3 * nrows + 0.4)

    def draw(fig, axes):
        for ax in axes.flat[len(columns) :]:
            ax.set_visible(False)
        for i, col in enumerate(columns):
            groups = grouped(rows, col, ("experiment",))
            labels = [k[0] for k in groups]
            _boxes(axes.flat[i], [groups[k] for k in groups], labels, color(i))
            axes.flat[i].set_title(short_name(col))
        fig.suptitle("metrics per method (all hyper-parameters and seeds)")

    return render(draw, size, nrows=nrows, ncols=ncols)


def rank_correlation_figure(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    """PNG: heat map of Spearman's rho between the metrics, values written in the cells."""
    rho, count = rank_correlation(rows, columns)
    names = [short_name(c) for c in columns]
    side = 0.7 * len(columns) + 0.09 * max(len(n) for n in names)

    def draw(fig, axes):
        ax = axes[0, 0]
        im = ax.imshow(np.nan_to_num(rho, nan=0.0), vmin=-1, vmax=1, cmap="RdBu_r")
        ax.grid(False)
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
        ax.set_yticks(range(len(names)), names)
        for i in range(len(names)):
            for j in range(len(names)):
                v = rho[i, j]
                text = "n/a" if np.isnan(v) else f"{v:.2f}"
                shade = "white" if not np.isnan(v) and abs(v) > 0.6 else "black"
                ax.text(j, i, text, ha="center", va="center", fontsize=8, color=shade)
        fig.colorbar(im, ax=ax, label="Spearman's rho", shrink=0.8)
        n = int(count.max()) if count.size else 0
        ax.set_title(f"rank correlation of metrics\n(up to {n} models)")

    return render(draw, (side + 2.8, side + 1.2), nrows=1, ncols=1)


def _boxes(ax, values: list[list[float]], labels: list[str], col: str) -> None:
    """Box plots of ``values`` at positions 1..n with every value drawn as a point."""
    positions = np.arange(1, len(values) + 1)
    filled = [(p, v) for p, v in zip(positions, values, strict=True) if v]
    if filled:
        ax.boxplot(
            [v for _, v in filled],
            positions=[p for p, _ in filled],
            widths=0.6,
            patch_artist=True,
            boxprops={"facecolor": col, "alpha": 0.35},
            medianprops={"color": col},
            showfliers=False,
        )
        for p, v in filled:
            ax.plot(np.full(len(v), p), v, "o", color=col, markersize=3)
    else:
        ax.text(0.5, 0.5, "no finished trial", transform=ax.transAxes, ha="center")
    slanted = sum(len(t) + 2 for t in labels) > 30
    ax.set_xticks(
        positions, labels, rotation=45 if slanted else 0, ha="right" if slanted else "center"
    )
    ax.set_xlim(0.4, len(values) + 0.6)


def _save(path: Path, png: bytes) -> Path:
    atomic_write_bytes(path, png)
    return path


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)
