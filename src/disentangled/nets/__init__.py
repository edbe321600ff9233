"""Encoders and decoders as plain nn.Modules, built by name."""

from __future__ import annotations

from torch import nn

from ..errors import ConfigError
from .burgess import BurgessDecoder, BurgessEncoder
from .conv32 import Conv32Decoder, Conv32Encoder
from .discriminator import Discriminator
from .infogan import InfoGANGenerator, InfoGANTrunk, QHead
from .mlp import MLPDecoder, MLPEncoder

__all__ = [
    "BurgessDecoder",
    "BurgessEncoder",
    "Conv32Decoder",
    "Conv32Encoder",
    "Discriminator",
    "InfoGANGenerator",
    "InfoGANTrunk",
    "MLPDecoder",
    "MLPEncoder",
    "QHead",
    "build_networks",
]


def build_networks(
    net: str, image_shape: tuple[int, int, int], num_params: int, code_size: int, hidden: int = 256
) -> tuple[nn.Module, nn.Module]:
    """An encoder image (B,C,H,W) -> (B, num_params) and a decoder (B, code_size) -> logits."""
    c, h, w = image_shape
    if net == "burgess":
        if (h, w) != (64, 64):
            raise ConfigError(f"model.net=burgess needs 64x64 images, the dataset has {h}x{w}")
        return BurgessEncoder(c, num_params, hidden), BurgessDecoder(c, code_size, hidden)
    if net == "conv32":
        if (h, w) not in ((32, 32), (64, 64)):
            raise ConfigError(f"model.net=conv32 needs 32x32 or 64x64 images, got {h}x{w}")
        return Conv32Encoder(c, num_params, h, hidden), Conv32Decoder(c, code_size, h, hidden)
    if net == "mlp":
        return MLPEncoder(image_shape, num_params, hidden), MLPDecoder(
            image_shape, code_size, hidden
        )
    raise ConfigError(f"unknown model.net {net!r}; known: burgess, conv32, mlp")
