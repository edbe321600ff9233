"""The standard pictures of a run: reconstructions and latent traversals, as PNGs in figures/."""

from __future__ import annotations

from pathlib import Path

import torch

from .grid import save_png
from .traversal import latent_order, reconstruction_grid, traversal_grid

FIGURE_SEED = 20170401


def fixed_images(dataset, n: int, device: torch.device) -> torch.Tensor:
    """n images chosen by a fixed seed, so every run of a dataset shows the same ones."""
    g = torch.Generator().manual_seed(FIGURE_SEED)
    idx = torch.randint(len(dataset), (n,), generator=g)
    return dataset.batch(idx, device)


@torch.no_grad()
def write_run_figures(model, dataset, folder: Path, device: torch.device) -> dict[str, Path]:
    """reconstructions.png (8 inputs over outputs) and traversals.png (dims by KL, 10 values)."""
    folder = Path(folder)
    model.eval()
    x = fixed_images(dataset, 64, device)
    scale = 2 if x.shape[-1] <= 64 else 1
    out = {
        "reconstructions": save_png(
            reconstruction_grid(model, x[:8]), folder / "reconstructions.png", scale
        )
    }
    if model.latent.cont:
        dims, _ = latent_order(model, x)
        grid = traversal_grid(model, x[:1], dims=dims)
        out["traversals"] = save_png(grid, folder / "traversals.png", scale)
    return out
