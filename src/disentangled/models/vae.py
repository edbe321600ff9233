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
        self.micro_batch = 0  # > 0: run the nets on slices of this many images (train.micro_batch)

    def _run(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """net(x), on slices of ``micro_batch`` rows joined when that is set (the nets have no
        batch statistics, so the result is the same function of x)."""
        if self.micro_batch <= 0 or x.shape[0] <= self.micro_batch:
            return net(x)
        return torch.cat([net(part) for part in x.split(self.micro_batch)])

    @classmethod
    def from_config(cls, cfg: ModelConfig, image_shape: tuple[int, int, int]) -> VAE:
        latent = JointLatent(cfg.latent_dim, list(cfg.disc), cfg.temperature)
        enc, dec = build_networks(
            cfg.net, tuple(image_shape), latent.num_params, latent.code_size, cfg.hidden
        )
        return cls(enc, dec, latent)

    def posterior(self, x: torch.Tensor) -> LatentSample:
        """Posterior parameters for images x (B,C,H,W) in [0,1]."""
        return self.latent.split(self._run(self.encoder, x).float())

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> VAEOutput:
        post = self.posterior(x)
        z = self.latent.sample(post, generator)
        post.z = z
        return VAEOutput(post=post, z=z, logits=self._run(self.decoder, z))

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
