"""The variational autoencoder shared by every VAE-family objective."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config import ModelConfig
from ..latents import JointLatent, LatentSample
from ..nets import build_networks


@dataclass
class VAEOutput:
    """One forward pass: posterior ``post``, the sample ``z`` (B, code) and decoder ``logits``."""

    post: LatentSample
    z: torch.Tensor
    logits: torch.Tensor


class VAE(nn.Module):
    """Encoder -> joint latent (Gaussian + categoricals) -> decoder producing pixel logits."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, latent: JointLatent) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.latent = latent

    @classmethod
    def from_config(cls, cfg: ModelConfig, image_shape: tuple[int, int, int]) -> VAE:
        latent = JointLatent(cfg.latent_dim, list(cfg.disc), cfg.temperature)
        enc, dec = build_networks(
            cfg.net, tuple(image_shape), latent.num_params, latent.code_size, cfg.hidden
        )
        return cls(enc, dec, latent)

    def posterior(self, x: torch.Tensor) -> LatentSample:
        """Posterior parameters for images x (B,C,H,W) in [0,1]."""
        return self.latent.split(self.encoder(x).float())

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> VAEOutput:
        post = self.posterior(x)
        z = self.latent.sample(post, generator)
        post.z = z
        return VAEOutput(post=post, z=z, logits=self.decoder(z))

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic representation (B, code): Gaussian means, then argmax one-hots."""
        return self.latent.mode(self.posterior(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel logits (B,C,H,W) for codes z (B, code)."""
        return self.decoder(z)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Mean reconstruction in [0,1] from the deterministic code."""
        return torch.sigmoid(self.decode(self.encode(x)).float())
