"""One look for every plot: matplotlib's Agg canvas (no pyplot, no display), fonts sized to be read
at the size the report shows them, and axis labels with units (information in nats)."""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import AbstractContextManager

DPI = 150  # pixels per inch of the PNG
SHOWN_DPI = 100  # the report shows a figure at this many CSS pixels per inch (sharp on HiDPI)
PANEL = (3.6, 2.5)  # inches per small-multiple panel
PALETTE = (
    "#1f5fa8",
    "#d1495b",
    "#2a9d8f",
    "#e9a23b",
    "#6a4c93",
    "#5c946e",
    "#8d6346",
    "#c2528b",
    "#555555",
    "#3fa7d6",
)

RC = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "axes.grid": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#444444",
    "grid.color": "#dddddd",
    "grid.linewidth": 0.8,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}

# Units of the logged quantities that are not information; anything else is in nats.
UNITS = {
    "time": "seconds",
    "images_per_s": "images / s",
    "beta": "weight (no unit)",
    "gamma": "weight (no unit)",
    "lam": "weight (no unit)",
    "alpha": "weight (no unit)",
    "temperature": "no unit",
    "lr": "learning rate",
    "n_images": "images",
    "active_units": "dimensions",
}
TITLES = {
    "loss": "loss",
    "recon": "reconstruction −log p(x|z)",
    "kl": "E KL(q(z|x) ‖ p(z))",
    "capacity": "capacity C(t)",
    "mi": "I(x;z)",
    "kl_qz_pz": "KL(q(z) ‖ p(z))",
    "tc": "total correlation",
    "dwkl": "dimension-wise KL",
    "kl_post": "E KL, diagnostic sample",
    "mi_ceiling": "log N, bound on I(x;z)",
    "active_units": "active units",
    "images_per_s": "throughput",
    "time": "wall time",
    "d_loss": "discriminator loss L_D",
    "g_loss": "generator loss L_G",
    "d_objective": "L_D − Σ λ L_I",
    "d_real_acc": "real images called real",
    "d_fake_acc": "generated images called fake",
    "info": "Σ L_I over the codes",
}


def unit(key: str) -> str:
    """The unit of a logged key: nats unless it is a time, a rate, a count, a weight, an
    accuracy or a fraction (``*_frac``)."""
    if key in UNITS:
        return UNITS[key]
    if key.endswith(("_acc", "accuracy", "_frac")):
        return "fraction"
    if key.endswith(("_seconds", "_time")):
        return "seconds"
    return "nats"


def title(key: str) -> str:
    """A readable panel title: the quantity, then the key as logged when they differ."""
    name = TITLES.get(key)
    return f"{name} · {key}" if name and name != key else key


LINESTYLES = ("-", "--", ":", "-.")


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def linestyle(i: int) -> str:
    """Line style of run i in overlays, so coinciding lines and grey-scale prints stay apart."""
    return LINESTYLES[i % len(LINESTYLES)]


def style() -> AbstractContextManager:
    """The rc context every figure is drawn in."""
    import matplotlib

    return matplotlib.rc_context(RC)


def render(draw: Callable, size: tuple[float, float], **subplots) -> bytes:
    """PNG bytes of a figure of ``size`` inches: ``draw(fig, axes)`` fills the axes made by
    ``fig.subplots(**subplots)`` (or ``draw(fig, None)`` when no subplot arguments are given)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with style():
        fig = Figure(figsize=size, dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(**subplots, squeeze=False) if subplots else None
        draw(fig, axes)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()
