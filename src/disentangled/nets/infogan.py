"""The InfoGAN networks (Chen et al., 2016): generator, discriminator trunk, D head and Q head.

MNIST (the paper's, Table 1 of its appendix), for 28x28 images, and unchanged for 32x32 (the
spatial sizes are 8 -> 16 -> 32 instead of 7 -> 14 -> 28):

- G: FC 1024 BN ReLU -> FC (s/4)·(s/4)·128 BN ReLU -> ConvT 64 (4x4, s2) BN ReLU -> ConvT C (4x4,
  s2), pixel logits;
- D trunk: Conv 64 (4x4, s2) lReLU -> Conv 128 (4x4, s2) BN lReLU -> FC 1024 BN lReLU;
- D head: FC 1 (logit of "real"); Q head: FC 128 BN lReLU -> FC code parameters.

The 64x64 variant (for dSprites) adds one stride-2 stage on each side: G goes 8 -> 16 -> 32 -> 64
through ConvT 64, 32, C, and the trunk comes back through Conv 32, 64, 128. The leaky ReLUs' slope
is ``model.leaky_slope`` (0.1 in the paper's text, 0.01 in the authors' code); weights N(0, 0.02),
batch-norm scales N(1, 0.02), biases 0 (the DCGAN initialisation).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError

FC_HIDDEN = 1024  # G's first layer and the trunk's feature size
Q_HIDDEN = 128  # width of the Q head's hidden layer
INIT_STD = 0.02

# image side -> (side of G's first feature map, G's channels from the widest)
LAYOUTS: dict[int, tuple[int, tuple[int, ...]]] = {
    28: (7, (128, 64)),
    32: (8, (128, 64)),
    64: (8, (128, 64, 32)),
}
NET_SIDES: dict[str, tuple[int, ...]] = {"infogan": (28, 32), "infogan64": (64,)}


def layout(net: str, image_shape: tuple[int, int, int]) -> tuple[int, tuple[int, ...]]:
    """(first feature-map side, G channels) for ``net`` on images (C, H, W); ConfigError when
    the net does not take that image size."""
    _, h, w = image_shape
    sides = NET_SIDES.get(net)
    if sides is None:
        raise ConfigError(f"unknown InfoGAN net {net!r}; known: {', '.join(NET_SIDES)}")
    if h != w or h not in sides:
        want = " or ".join(f"{s}x{s}" for s in sides)
        raise ConfigError(f"model.net={net} needs {want} images, the dataset has {h}x{w}")
    return LAYOUTS[h]


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation in place, drawn from torch's global generator (seeded by the loop)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, INIT_STD)
            nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, INIT_STD)
            nn.init.zeros_(m.bias)


class InfoGANGenerator(nn.Module):
    """Generator input (B, in_features) -> pixel logits (B, C, H, W)."""

    def __init__(self, in_features: int, image_shape: tuple[int, int, int], net: str) -> None:
        super().__init__()
        base, widths = layout(net, image_shape)
        self.base, self.width = base, widths[0]
        self.fc = nn.Sequential(
            nn.Linear(in_features, FC_HIDDEN),
            nn.BatchNorm1d(FC_HIDDEN),
            nn.ReLU(inplace=True),
            nn.Linear(FC_HIDDEN, base * base * widths[0]),
            nn.BatchNorm1d(base * base * widths[0]),
            nn.ReLU(inplace=True),
        )
        layers: list[nn.Module] = []
        for c_in, c_out in zip(widths[:-1], widths[1:], strict=True):
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
        layers.append(nn.ConvTranspose2d(widths[-1], image_shape[0], 4, stride=2, padding=1))
        self.deconv = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, g_input: torch.Tensor) -> torch.Tensor:
        h = self.fc(g_input).view(-1, self.width, self.base, self.base)
        return self.deconv(h)


class InfoGANTrunk(nn.Module):
    """The layers D and Q share: images (B, C, H, W) in [0, 1] -> features (B, 1024)."""

    def __init__(self, image_shape: tuple[int, int, int], net: str, slope: float) -> None:
        super().__init__()
        base, widths = layout(net, image_shape)
        channels = (image_shape[0], *reversed(widths))
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:], strict=True)):
            layers.append(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1))
            if i > 0:  # no batch norm on the first layer, as in the paper (and DCGAN)
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(slope, inplace=True))
        self.conv = nn.Sequential(*layers)
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.Linear(base * base * widths[0], FC_HIDDEN),
            nn.BatchNorm1d(FC_HIDDEN),
            nn.LeakyReLU(slope, inplace=True),
        )
        self.features = FC_HIDDEN
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x))


class QHead(nn.Module):
    """Trunk features (B, 1024) -> parameters of Q(c | x), (B, out): FC 128 BN lReLU -> FC out."""

    def __init__(self, features: int, out: int, slope: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(features, Q_HIDDEN),
            nn.BatchNorm1d(Q_HIDDEN),
            nn.LeakyReLU(slope, inplace=True),
            nn.Linear(Q_HIDDEN, out),
        )
        init_weights(self)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


def discriminator_head(features: int) -> nn.Linear:
    """Trunk features (B, 1024) -> (B, 1), the logit of "real"."""
    head = nn.Linear(features, 1)
    init_weights(head)
    return head
