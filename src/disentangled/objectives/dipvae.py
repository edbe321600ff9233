"""DIP-VAE I and II (Kumar et al., 2018): ELBO + moment matching of q(z) to p(z) = N(0, I).

Penalty on a (D, D) covariance C of the batch: λ_od Σ_{i≠j} C_ij² + λ_d Σ_i (C_ii − 1)².
DIP-VAE-I takes C = Cov_x[μ(x)], the covariance of the encoder means; DIP-VAE-II takes the
covariance of q(z), C = Cov_x[μ(x)] + E_x[diag σ²(x)]. Both are computed per batch, with the
biased (1/M) covariance of the M batch means.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import check_float
from ..errors import ConfigError
from .base import Objective, Terms
from .recon import reconstruction


def batch_covariance(mu: torch.Tensor) -> torch.Tensor:
    """Biased covariance (D, D) of the rows of mu (M, D): mean of (mu − mean)ᵀ(mu − mean)."""
    centred = mu - mu.mean(0, keepdim=True)
    return centred.T @ centred / mu.shape[0]


def dip_penalties(cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(Σ_{i≠j} C_ij², Σ_i (C_ii − 1)²) of a (D, D) covariance C."""
    diag = torch.diagonal(cov)
    off = cov.pow(2).sum() - diag.pow(2).sum()
    return off, (diag - 1.0).pow(2).sum()


@dataclass
class DIPVAE1Params:
    lambda_od: float = 10.0
    lambda_d: float = 100.0

    def validate(self) -> None:
        check_float("objective.lambda_od", self.lambda_od, lo=0.0)
        check_float("objective.lambda_d", self.lambda_d, lo=0.0)


@dataclass
class DIPVAE2Params(DIPVAE1Params):
    lambda_d: float = 10.0


class DIPVAE1Objective(Objective):
    """recon + KL + λ_od Σ_{i≠j} Cov[μ]_ij² + λ_d Σ_i (Cov[μ]_ii − 1)² (DIP-VAE-I)."""

    name = "dipvae1"
    Params = DIPVAE1Params

    def check_model(self, model) -> None:
        if model.latent.cont == 0 or model.latent.disc:
            raise ConfigError(
                f"objective {self.name} needs a Gaussian code only "
                "(model.latent_dim > 0 and no model.disc)"
            )

    def covariance(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """The (D, D) covariance the penalty matches to the identity."""
        return batch_covariance(mu)

    def loss(self, model, x, step, generator) -> Terms:
        p = self.params
        out = model(x, generator)
        rec = reconstruction(self.recon, out.logits, x)
        kl_dims = model.latent.kl_cont(out.post).mean(0)
        kl = kl_dims.sum()
        off, diag = dip_penalties(self.covariance(out.post.mu, out.post.logvar))
        terms: Terms = {"recon": rec, "kl": kl, "kl_dims": kl_dims.detach()}
        terms.update(dip_offdiag=off, dip_diag=diag)
        terms["loss"] = rec + kl + p.lambda_od * off + p.lambda_d * diag
        return terms


class DIPVAE2Objective(DIPVAE1Objective):
    """DIP-VAE-II: the penalty on Cov_q(z) = Cov[μ] + E[diag σ²]."""

    name = "dipvae2"
    Params = DIPVAE2Params

    def covariance(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return batch_covariance(mu) + torch.diag(logvar.exp().mean(0))
