"""Labelled traversal pictures of a trained model: one PNG grid per seed image and an animated GIF.

PNG: one row per latent (sorted by mean KL, inactive rows greyed or hidden), one column per value.
GIF: one row per latent and one column per seed image; frame t sets every row's latent to its t-th
value, running forwards then backwards so the loop is smooth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..errors import UserError
from ..io import atomic_write_bytes
from .grid import gif_bytes, make_grid, png_bytes, to_image
from .labels import label_rows
from .seeds import data_sample, fixed_images
from .traversal import (
    DEFAULT_LIMIT,
    MODES,
    LatentStats,
    TraversalRow,
    animation_columns,
    latent_stats,
    traversal_cells,
    traversal_rows,
    traversal_values,
)

PAD = 2
FRAME_MS = 160


def display_scale(height: int) -> int:
    """Integer upscaling so a cell is about 64 pixels high (1 for 64x64 images, 2 for 32x32)."""
    return max(1, 64 // max(height, 1))


@dataclass
class Traversals:
    """Traversal pictures of one model: ``grids[s]`` for seed image s, ``frames`` of the GIF."""

    mode: str
    rows: list[TraversalRow]
    values: torch.Tensor  # (D, n_values) the Gaussian dimensions' values, same for every seed
    stats: LatentStats
    grids: list[Image.Image]
    frames: list[Image.Image]

    def png(self, s: int) -> bytes:
        return png_bytes(self.grids[s])

    def gif(self) -> bytes:
        return gif_bytes(self.frames, FRAME_MS)


def _labelled(grid, rows: list[TraversalRow], cell: int, scale: int) -> Image.Image:
    """The grid upscaled, with each row's label in a left margin and inactive rows greyed."""
    return label_rows(
        to_image(grid, scale),
        [r.label for r in rows],
        top=PAD * scale,
        pitch=(cell + PAD) * scale,
        height=cell * scale,
        muted=[not r.active for r in rows],
    )


@torch.no_grad()
def render_traversals(
    model,
    dataset,
    device: torch.device | str,
    *,
    mode: str = "prior",
    seeds: int = 3,
    n_values: int = 10,
    limit: float = DEFAULT_LIMIT,
    hide_inactive: bool = False,
    animate: bool = True,
    sample_size: int = 1000,
) -> Traversals:
    """Traversals of ``seeds`` fixed seed images; ranges and KL order from ``sample_size``
    distinct images of the dataset."""
    if mode not in MODES:
        raise UserError(f"unknown traversal mode {mode!r}; choose one of {', '.join(MODES)}")
    if seeds < 1:
        raise UserError(f"--seeds must be at least 1, got {seeds}")
    if n_values < 2:
        raise UserError(f"--values must be at least 2, got {n_values}")
    if not limit > 0:
        raise UserError(f"--limit must be a positive number of standard deviations, got {limit}")
    model.eval()
    stats = latent_stats(model, data_sample(dataset, sample_size, device))
    rows = traversal_rows(stats, model.latent.disc, n_values, hide_inactive=hide_inactive)
    if not rows:
        raise UserError(
            "every latent is inactive (mean KL < 0.01 nats); drop --hide-inactive to see them"
        )
    values = traversal_values(mode, stats, n_values, limit)
    cells = traversal_cells(model, fixed_images(dataset, seeds, device), rows, values).numpy()
    s_n, r_n, width, c, h, w = cells.shape
    scale = display_scale(h)
    grids = [
        _labelled(make_grid(cells[s].reshape(-1, c, h, w), ncol=width, pad=PAD), rows, h, scale)
        for s in range(s_n)
    ]
    frames = []
    if animate:
        cols = animation_columns(rows, width).numpy()  # (width, R)
        order = list(range(width)) + list(range(width - 2, 0, -1))  # forwards, then back
        r_idx = np.arange(r_n)
        for f in order:
            frame = cells[:, r_idx, cols[f]].swapaxes(0, 1)  # (R, S, C, H, W)
            grid = make_grid(frame.reshape(-1, c, h, w), ncol=s_n, pad=PAD)
            frames.append(_labelled(grid, rows, h, scale))
    return Traversals(mode, rows, values, stats, grids, frames)


def write_traversals(t: Traversals, folder: str | Path, *, gif: bool = True) -> dict[str, Path]:
    """``traversal-MODE-seedS.png`` for each seed (and ``traversal-MODE.gif``) in ``folder``."""
    folder = Path(folder)
    out: dict[str, Path] = {}
    try:
        for s in range(len(t.grids)):
            path = folder / f"traversal-{t.mode}-seed{s}.png"
            atomic_write_bytes(path, t.png(s))
            out[f"traversal seed {s}"] = path
        if gif and t.frames:
            path = folder / f"traversal-{t.mode}.gif"
            atomic_write_bytes(path, t.gif())
            out["traversal animation"] = path
    except OSError as exc:
        raise UserError(f"cannot write traversals to {folder}: {exc.strerror or exc}") from None
    return out
