"""The JointVAE convolutional net (Dupont, 2018) for 32x32 inputs, with a 64x64 variant."""

from __future__ import annotations

import torch
from torch import nn


class Conv32Encoder(nn.Module):
    """[Conv 32 (64x64 only)], Conv 32, 64, 64 (4x4, s2) ReLU -> FC 1024->hidden -> FC out."""

    def __init__(self, channels: int, out: int, size: int = 32, hidden: int = 256) -> None:
        super().__init__()
        widths = ([32] if size == 64 else []) + [32, 64, 64]
        layers: list[nn.Module] = []
        c = channels
        for w in widths:
            layers += [nn.Conv2d(c, w, 4, stride=2, padding=1), nn.ReLU(inplace=True)]
            c = w
        self.conv = nn.Sequential(*layers)
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64 * 4 * 4, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x))


class Conv32Decoder(nn.Module):
    """FC hidden -> FC 1024 -> (64,4,4) -> ConvT [64 (64x64 only)], 32, 32, C. Logits."""

    def __init__(self, channels: int, code: int, size: int = 32, hidden: int = 256) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(code, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, 64 * 4 * 4),
            nn.ReLU(inplace=True),
        )
        widths = ([64] if size == 64 else []) + [32, 32, channels]
        layers: list[nn.Module] = []
        c = 64
        for i, w in enumerate(widths):
            layers.append(nn.ConvTranspose2d(c, w, 4, stride=2, padding=1))
            if i < len(widths) - 1:
                layers.append(nn.ReLU(inplace=True))
            c = w
        self.deconv = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.fc(z).view(-1, 64, 4, 4))
