"""Reconstruction grids and latent traversals of a VAE."""

from __future__ import annotations

import torch
from scipy.stats import norm

from .grid import make_grid


@torch.no_grad()
def reconstruction_grid(model, x: torch.Tensor) -> torch.Tensor:
    """Inputs (top row) above their reconstructions (bottom row): (C, H', W')."""
    model.eval()
    rec = model.reconstruct(x).cpu()
    return make_grid(torch.cat([x.cpu(), rec]), ncol=x.shape[0])


@torch.no_grad()
def latent_order(model, x: torch.Tensor) -> tuple[list[int], torch.Tensor]:
    """Gaussian dimensions sorted by mean KL over x, largest first; and the KL per dimension."""
    post = model.posterior(x)
    kl = model.latent.kl_cont(post).mean(0).cpu()
    return sorted(range(kl.numel()), key=lambda d: -float(kl[d])), kl


@torch.no_grad()
def traversal_grid(
    model,
    x_seed: torch.Tensor,
    *,
    dims: list[int] | None = None,
    n_values: int = 10,
    quantiles: tuple[float, float] = (0.05, 0.95),
) -> torch.Tensor:
    """One row per Gaussian dimension: the seed image's code with that dimension set to values at
    evenly spaced quantiles of N(0, 1) (5 %..95 % by default: -1.645..1.645).

    ``x_seed`` is one image (1,C,H,W); ``dims`` the dimensions to show in order (default: by KL).
    Returns a (C, H', W') grid.
    """
    model.eval()
    if dims is None:
        dims, _ = latent_order(model, x_seed)
    base = model.encode(x_seed)[0]
    qs = torch.linspace(quantiles[0], quantiles[1], n_values).double().numpy()
    values = torch.tensor(norm.ppf(qs), dtype=base.dtype, device=base.device)
    codes = base.repeat(len(dims) * n_values, 1)
    for r, d in enumerate(dims):
        codes[r * n_values : (r + 1) * n_values, d] = values
    images = torch.sigmoid(model.decode(codes).float()).cpu()
    return make_grid(images, ncol=n_values)
