"""The 64x64 convolutional encoder/decoder of Burgess et al. (2018), for any channel count."""

from __future__ import annotations

import torch
from torch import nn


class BurgessEncoder(nn.Module):
    """4x Conv(32, 4x4, s2) ReLU -> FC hidden -> FC hidden -> FC out. (B,C,64,64) -> (B,out)."""

    def __init__(self, channels: int, out: int, hidden: int = 256) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = channels
        for _ in range(4):
            layers += [nn.Conv2d(c, 32, 4, stride=2, padding=1), nn.ReLU(inplace=True)]
            c = 32
        self.conv = nn.Sequential(*layers)
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.Linear(32 * 4 * 4, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x))


class BurgessDecoder(nn.Module):
    """FC hidden -> hidden -> 512 -> (32,4,4) -> 4x ConvT(4x4, s2). Logits (B,C,64,64)."""

    def __init__(self, channels: int, code: int, hidden: int = 256) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(code, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, 32 * 4 * 4),
            nn.ReLU(inplace=True),
        )
        layers: list[nn.Module] = []
        for i in range(4):
            last = i == 3
            layers.append(nn.ConvTranspose2d(32, channels if last else 32, 4, stride=2, padding=1))
            if not last:
                layers.append(nn.ReLU(inplace=True))
        self.deconv = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.fc(z).view(-1, 32, 4, 4))
