"""The FactorVAE discriminator: an MLP on codes telling q(z) samples from permuted ones."""

from __future__ import annotations

import torch
from torch import nn


class Discriminator(nn.Module):
    """``layers`` x (FC ``hidden``, LeakyReLU ``slope``) -> FC 2. Codes (B, D) -> logits (B, 2).

    Logit 0 scores "drawn from q(z)", logit 1 "drawn from the product of its marginals", so
    D(z)[:, 0] - D(z)[:, 1] estimates log q(z) / prod_d q(z_d) (Kim & Mnih, 2018). Their dSprites
    discriminator has 6 hidden layers of 1000 units, the default here.
    """

    def __init__(
        self, code_size: int, hidden: int = 1000, layers: int = 6, slope: float = 0.2
    ) -> None:
        super().__init__()
        mods: list[nn.Module] = []
        width = code_size
        for _ in range(layers):
            mods += [nn.Linear(width, hidden), nn.LeakyReLU(slope)]
            width = hidden
        mods.append(nn.Linear(width, 2))
        self.net = nn.Sequential(*mods)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)
