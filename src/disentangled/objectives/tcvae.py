"""β-TCVAE (Chen et al., 2018): recon + α·I(x; z) + β·TC + γ·dimension-wise KL.

E_x KL(q(z|x) || p(z)) = I(x; z) + TC(z) + Σ_d KL(q(z_d) || p(z_d)) (all in nats), each term a
batch average of differences of log q(z|x), log q(z), Σ_d log q(z_d) and log p(z) at the samples
z_i ~ q(z | x_i). log q(z) and log q(z_d) come from the batch by minibatch-stratified (``mss``,
the default) or minibatch-weighted (``mws``) sampling with the dataset size N of the objective.

Logged values: ``mi``, ``tc``, ``dwkl`` from the chosen estimator, ``kl_sample`` = their sum =
E[log q(z|x) − log p(z)], and the closed-form ``kl`` and ``kl_dims``. The ``mws`` estimate uses
log q(z_i) ≈ logsumexp_j log q(z_i|x_j) − log M (unbiased for the data distribution), not Chen et
al.'s − log(N·M): gradients are identical; their logged MI is log N higher, their TC
(D − 1)·log N higher and their dimension-wise KL D·log N lower.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import check_choice, check_float
from ..errors import ConfigError
from ..info import gaussian_log_density, log_qz_mss, log_qz_mws
from .base import Objective, Terms
from .recon import reconstruction

TC_ESTIMATORS = ("mss", "mws")


@dataclass
class TCVAEParams:
    alpha: float = 1.0
    beta: float = 6.0
    gamma: float = 1.0
    estimator: str = "mss"

    def validate(self) -> None:
        check_float("objective.alpha", self.alpha, lo=0.0)
        check_float("objective.beta", self.beta, lo=0.0)
        check_float("objective.gamma", self.gamma, lo=0.0)
        check_choice("objective.estimator", self.estimator, TC_ESTIMATORS)


def kl_decomposition(
    z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, dataset_size: int, estimator: str
) -> dict[str, torch.Tensor]:
    """Batch estimates (nats, 0-dim, differentiable) of I(x; z), TC and dimension-wise KL.

    z, mu, logvar: (M, D), z_i ~ N(mu_i, exp(logvar_i)); prior N(0, I). Returns ``mi``, ``tc``,
    ``dwkl`` and ``kl_sample`` = mi + tc + dwkl = mean_i [log q(z_i|x_i) − log p(z_i)].
    """
    if estimator == "mss":
        log_qz, log_qz_dims = log_qz_mss(z, mu, logvar, dataset_size)
    else:
        log_qz, log_qz_dims = log_qz_mws(z, mu, logvar, dataset_size)
    log_qz_x = gaussian_log_density(z, mu, logvar).sum(1)
    log_pz = gaussian_log_density(z, 0.0, 0.0).sum(1)
    log_prod_qzd = log_qz_dims.sum(1)
    return {
        "mi": (log_qz_x - log_qz).mean(),
        "tc": (log_qz - log_prod_qzd).mean(),
        "dwkl": (log_prod_qzd - log_pz).mean(),
        "kl_sample": (log_qz_x - log_pz).mean(),
    }


class TCVAEObjective(Objective):
    """recon + alpha * MI + beta * TC + gamma * dimension-wise KL (Chen et al., 2018)."""

    name = "tcvae"
    Params = TCVAEParams

    def check_model(self, model) -> None:
        if model.latent.cont == 0 or model.latent.disc:
            raise ConfigError(
                "objective tcvae needs a Gaussian code only "
                "(model.latent_dim > 0 and no model.disc)"
            )

    def loss(self, model, x, step, generator) -> Terms:
        p = self.params
        m = x.shape[0]
        if p.estimator == "mss" and not 2 <= m <= self.dataset_size:
            raise ConfigError(
                f"objective tcvae with estimator mss needs 2 <= batch size <= dataset size "
                f"({self.dataset_size}), got batch size {m}"
            )
        out = model(x, generator)
        post = out.post
        rec = reconstruction(self.recon, out.logits, x)
        kl_dims = model.latent.kl_cont(post).mean(0)
        parts = kl_decomposition(out.z, post.mu, post.logvar, self.dataset_size, p.estimator)
        terms: Terms = {"recon": rec, "kl": kl_dims.sum().detach(), "kl_dims": kl_dims.detach()}
        terms.update(parts)
        terms["loss"] = rec + p.alpha * parts["mi"] + p.beta * parts["tc"] + p.gamma * parts["dwkl"]
        return terms
