"""The information plane and the capacity plot, drawn where a run logged their quantities.

E_x KL(q(z|x) || p(z)) = I(x;z) + KL(q(z) || p(z)): the information plane places each logged step
at (KL(q(z)||p(z)), I(x;z)) (keys ``kl_qz_pz`` and ``mi``), coloured by step, so lines of constant
total KL run diagonally. The capacity plot shows a target capacity C(t) (``capacity`` or
``capacity_X``) beside the KL it controls (``kl`` or ``kl_X``) over training.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .series import Record, joint_series, scalar_keys, series
from .style import PANEL, color, render, title

PLANE_KEYS = ("kl_qz_pz", "mi")


def plot_information_plane(records: Sequence[Record]) -> bytes | None:
    """PNG of I(x;z) (y, nats) against KL(q(z)||p(z)) (x, nats), coloured by step, with the
    bound log N (``mi_ceiling``) when logged and near; None when no record has both keys."""
    steps, v = joint_series(records, PLANE_KEYS)
    if not steps.size:
        return None
    x, y = v[:, 0], v[:, 1]
    _, ceilings = series(records, "mi_ceiling")
    ceiling = float(ceilings[-1]) if ceilings.size else None

    def draw(fig, axes):
        ax = axes[0, 0]
        ax.plot(x, y, color="#bbbbbb", linewidth=1.0, zorder=1)
        sc = ax.scatter(x, y, c=steps, cmap="viridis", s=22, zorder=2)
        fig.colorbar(sc, ax=ax, label="step")
        total = x + y
        levels = np.unique(np.round(np.linspace(total.min(), total.max(), 4), 6))
        x_hi = max(float(x.max()), 1e-9) * 1.05
        for i, c in enumerate(levels[levels > 0]):
            xs = np.linspace(0.0, min(c, x_hi), 20)
            ax.plot(
                xs,
                c - xs,
                color="#999999",
                linestyle=":",
                linewidth=1.0,
                zorder=0,
                label="I + KL = constant (E KL)" if i == 0 else None,
            )
        y_hi = max(float(y.max()), 1e-9) * 1.05
        if ceiling is not None and ceiling <= 2 * y_hi:
            ax.axhline(ceiling, color="#d1495b", linestyle="--", linewidth=1.0,
                       label=f"log N = {ceiling:.3g} (largest I(x;z))")  # fmt: skip
            y_hi = max(y_hi, ceiling * 1.05)
        ax.set_xlim(left=min(0.0, float(x.min())), right=x_hi)
        ax.set_ylim(bottom=min(0.0, float(y.min())), top=y_hi)
        ax.set_xlabel("KL(q(z) ‖ p(z))  [nats]")
        ax.set_ylabel("I(x;z)  [nats]")
        ax.set_title("information plane")
        ax.legend(loc="lower right")

    return render(draw, (PANEL[0] * 1.6, PANEL[1] * 1.6), nrows=1, ncols=1)


def capacity_pairs(keys: Sequence[str]) -> list[tuple[str, str | None]]:
    """(capacity key, the KL key it targets or None): ``capacity`` -> ``kl``, ``capacity_X`` ->
    ``kl_X``."""
    out = []
    for k in keys:
        if k == "capacity" or k.startswith("capacity_"):
            kl = "kl" + k.removeprefix("capacity")
            out.append((k, kl if kl in keys else None))
    return out


def plot_capacity(records: Sequence[Record]) -> bytes | None:
    """PNG with one panel per capacity schedule: C(t) dashed, the measured KL it targets solid, and
    I(x;z) and KL(q(z)||p(z)) when logged (all nats, against step). None without a capacity."""
    keys = scalar_keys(records)
    pairs = capacity_pairs(keys)
    if not pairs:
        return None
    extra = [k for k in ("mi", "kl_qz_pz") if k in keys]

    def draw(fig, axes):
        for ax, (cap, kl) in zip(axes.flat, pairs, strict=True):
            s, c = series(records, cap)
            ax.plot(s, c, color="#222222", linestyle="--", label=title(cap))
            shown = [kl] if kl else []
            shown += extra if cap == "capacity" else []
            for i, k in enumerate(shown):
                s, v = series(records, k)
                ax.plot(s, v, color=color(i), label=title(k))
            ax.set_xlabel("step")
            ax.set_ylabel("nats")
            ax.set_title(f"{cap} and the KL it controls" if kl else cap)
            ax.legend(loc="upper left")

    n = len(pairs)
    return render(draw, (PANEL[0] * 1.6 * n, PANEL[1] * 1.5), nrows=1, ncols=n)
