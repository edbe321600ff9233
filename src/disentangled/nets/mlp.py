"""A two-hidden-layer MLP encoder/decoder for small images."""

from __future__ import annotations

import math

import torch
from torch import nn


class MLPEncoder(nn.Module):
    """Flatten -> FC hidden -> FC hidden -> FC out (ReLU). (B,C,H,W) -> (B,out)."""

    def __init__(self, image_shape: tuple[int, int, int], out: int, hidden: int = 256) -> None:
        super().__init__()
        n = math.prod(image_shape)
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(n, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class MLPDecoder(nn.Module):
    """FC hidden -> FC hidden -> FC C*H*W (ReLU). (B,code) -> logits (B,C,H,W)."""

    def __init__(self, image_shape: tuple[int, int, int], code: int, hidden: int = 256) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.net = nn.Sequential(
            nn.Linear(code, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, math.prod(image_shape)),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, *self.image_shape)
