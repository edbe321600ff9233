"""Images decoded from codes drawn from the prior p(z)."""

from __future__ import annotations

import torch

from .grid import make_grid

SAMPLE_SEED = 20170402


@torch.no_grad()
def prior_samples(model, n: int, *, seed: int = SAMPLE_SEED, device=None) -> torch.Tensor:
    """Mean images (n,C,H,W) in [0,1] decoded from z ~ p(z) (N(0,I) and uniform one-hots).

    The codes are drawn on the CPU from a generator seeded with ``seed``, so every run (and
    every device) decodes the same codes.
    """
    model.eval()
    g = torch.Generator().manual_seed(seed)
    z = model.latent.prior_sample(n, generator=g)
    if device is not None:
        z = z.to(device)
    return torch.sigmoid(model.decode(z).float()).cpu()


def sample_grid(model, n: int = 64, ncol: int = 8, *, seed: int = SAMPLE_SEED, device=None):
    """(C,H',W') grid of ``n`` prior samples, ``ncol`` per row."""
    return make_grid(prior_samples(model, n, seed=seed, device=device), ncol=ncol)
