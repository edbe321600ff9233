"""Reparameterised diagonal Gaussian q(z|x) = N(mu, diag(exp(logvar)))."""

from __future__ import annotations

import torch

from ..info import kl_normal_std


class DiagonalGaussian:
    """``dim`` Gaussian dimensions read from ``2 * dim`` encoder outputs (mu, then log-variance)."""

    def __init__(self, dim: int) -> None:
        self.dim = dim

    @property
    def num_params(self) -> int:
        return 2 * self.dim

    def split(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 2D) -> mu (B, D), logvar (B, D)."""
        return params[:, : self.dim], params[:, self.dim :]

    @staticmethod
    def sample(
        mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """z = mu + sigma * eps with eps ~ N(0, I) drawn from ``generator``; (B, D)."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    @staticmethod
    def kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """KL(q(z|x) || N(0, I)) per sample and dimension, (B, D), nats."""
        return kl_normal_std(mu, logvar)
