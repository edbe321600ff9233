"""Training curves of an InfoGAN run: the two players' losses, L_I per code against H(c), and the
discriminator's accuracy on real and generated images."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from .series import Record, scalar_keys, series
from .style import PANEL, color, render

LOSSES = ("d_loss", "g_loss")
ACCURACIES = ("d_real_acc", "d_fake_acc")
LABELS = {
    "d_loss": "D: L_D",
    "g_loss": "G: L_G",
    "d_real_acc": "real called real",
    "d_fake_acc": "fake called fake",
}
_CAT = re.compile(r"info_cat(\d+)$")
_CONT = re.compile(r"info_cont(\d+)$")


def gan_keys(records: Sequence[Record]) -> dict[str, list[str]]:
    """The logged keys of each panel: ``losses``, ``cat`` (L_I of categoricals), ``cont``
    (L_I of continuous codes), ``accuracy``; panels with no key are left out."""
    keys = scalar_keys(records)
    panels = {
        "losses": [k for k in LOSSES if k in keys],
        "cat": [k for k in keys if _CAT.match(k)],
        "cont": [k for k in keys if _CONT.match(k)],
        "accuracy": [k for k in ACCURACIES if k in keys],
    }
    return {name: ks for name, ks in panels.items() if ks}


def plot_gan_curves(records: Sequence[Record], disc: Sequence[int] = ()) -> bytes | None:
    """PNG of up to four panels against the training step: L_D and L_G (dotted: 2 log 2, L_D when
    D cannot tell real from fake); L_I of each categorical code (dashed: its ceiling log K_i,
    from ``disc``); L_I of each continuous code (dashed: H(c) = log 2, a reference, not a
    ceiling); the fractions of real and of generated images D classifies correctly. None when
    no InfoGAN term was logged."""
    panels = gan_keys(records)
    if not panels:
        return None

    def line(ax, key: str, i: int, label: str) -> None:
        steps, vals = series(records, key)
        kw = {"marker": "o", "markersize": 4} if vals.size == 1 else {}
        ax.plot(steps, vals, color=color(i), label=label, **kw)

    def draw(fig, axes):
        for ax, (name, keys) in zip(axes.flat, panels.items(), strict=False):
            for i, key in enumerate(keys):
                line(ax, key, i, LABELS.get(key, key.removeprefix("info_")))
                if name == "cat":
                    k = int(_CAT.match(key).group(1))
                    if k < len(disc):
                        ax.axhline(math.log(disc[k]), color=color(i), linestyle="--", linewidth=1)
            if name == "losses":
                ax.axhline(2 * math.log(2), color="#888888", linestyle=":", linewidth=1)
                ax.set_title("GAN losses (dotted: 2 log 2)")
                ax.set_ylabel("nats")
            elif name == "cat":
                ax.set_title("L_I, categorical (dashed: log K)")
                ax.set_ylabel("nats")
            elif name == "cont":
                ax.axhline(math.log(2), color="#888888", linestyle="--", linewidth=1)
                ax.set_title("L_I, continuous (dashed: log 2)")
                ax.set_ylabel("nats")
            else:
                ax.axhline(0.5, color="#888888", linestyle=":", linewidth=1)
                ax.set_ylim(-0.03, 1.03)
                ax.set_title("D accuracy")
                ax.set_ylabel("fraction")
            ax.set_xlabel("step")
            ax.legend(loc="best", fontsize=8)

    n = len(panels)
    return render(draw, (PANEL[0] * n, PANEL[1] * 1.2), nrows=1, ncols=n)


def shown_keys(records: Sequence[Record]) -> set[str]:
    """Every key :func:`plot_gan_curves` draws."""
    return {k for keys in gan_keys(records).values() for k in keys}
