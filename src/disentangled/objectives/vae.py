"""VAE, beta-VAE, capacity-annealed beta-VAE (Burgess) and the InfoMax reading of beta-VAE."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..config import check_float, check_int
from ..errors import ConfigError
from .base import Objective, Terms
from .recon import reconstruction
from .schedules import linear_capacity


def vae_terms(
    model, x: torch.Tensor, generator: torch.Generator | None, recon: str
) -> tuple[Terms, torch.Tensor]:
    """Forward pass; terms {recon, kl, kl_dims} in nats (batch means) and the differentiable KL."""
    out = model(x, generator)
    rec = reconstruction(recon, out.logits, x)
    kl_cont = model.latent.kl_cont(out.post).mean(0)
    kl_disc = [k.mean().reshape(1) for k in model.latent.kl_disc(out.post)]
    kl_dims = torch.cat([kl_cont, *kl_disc])
    kl = kl_dims.sum()
    return {"recon": rec, "kl": kl, "kl_dims": kl_dims.detach()}, kl


class _GaussianOnly(Objective):
    def check_model(self, model) -> None:
        if model.latent.cont == 0:
            raise ConfigError(
                f"objective {self.name} needs Gaussian latents (model.latent_dim > 0)"
            )


@dataclass
class VAEParams:
    def validate(self) -> None:
        pass


class VAEObjective(_GaussianOnly):
    """The ELBO: recon + KL(q(z|x) || p(z)) (Kingma & Welling, 2014)."""

    name = "vae"
    Params = VAEParams

    def loss(self, model, x, step, generator) -> Terms:
        terms, kl = vae_terms(model, x, generator, self.recon)
        terms["loss"] = terms["recon"] + kl
        return terms


@dataclass
class BetaVAEParams:
    beta: float = 4.0

    def validate(self) -> None:
        check_float("objective.beta", self.beta, lo=0.0)


class BetaVAEObjective(_GaussianOnly):
    """recon + beta * KL (Higgins et al., 2017)."""

    name = "betavae"
    Params = BetaVAEParams

    @property
    def beta(self) -> float:
        return self.params.beta

    def loss(self, model, x, step, generator) -> Terms:
        terms, kl = vae_terms(model, x, generator, self.recon)
        terms["beta"] = torch.tensor(self.beta)
        terms["loss"] = terms["recon"] + self.beta * kl
        return terms


@dataclass
class InfoMaxParams:
    lam: float = 0.0

    def validate(self) -> None:
        check_float("objective.lam", self.lam)
        if self.lam <= -1:
            raise ConfigError(f"objective.lam must be > -1 (beta = 1/(1+lam) > 0), got {self.lam}")


class InfoMaxObjective(BetaVAEObjective):
    """KL(q(z)||p(z)) - lam * I(x;z) with a variational bound: beta-VAE with beta = 1/(1+lam)."""

    name = "infomax"
    Params = InfoMaxParams

    @property
    def beta(self) -> float:
        return 1.0 / (1.0 + self.params.lam)


@dataclass
class CapacityParams:
    gamma: float = 1000.0
    capacity_max: float | str = 25.0
    capacity_steps: int = 100_000

    def validate(self) -> None:
        check_float("objective.gamma", self.gamma, lo=0.0)
        if self.capacity_max != "auto":
            if isinstance(self.capacity_max, str):
                raise ConfigError(
                    f"objective.capacity_max must be a number >= 0 or auto, "
                    f"got {self.capacity_max!r}"
                )
            check_float("objective.capacity_max", self.capacity_max, lo=0.0)
        check_int("objective.capacity_steps", self.capacity_steps, lo=0)


class CapacityObjective(_GaussianOnly):
    """recon + gamma * |KL - C(t)|, C linear from 0 to capacity_max (Burgess et al., 2018).

    ``capacity_max: auto`` caps C at log N nats for N training images, the most information
    a code can carry about them.
    """

    name = "capacity"
    Params = CapacityParams

    @property
    def capacity_max(self) -> float:
        cmax = self.params.capacity_max
        return math.log(self.dataset_size) if cmax == "auto" else float(cmax)

    def loss(self, model, x, step, generator) -> Terms:
        p = self.params
        terms, kl = vae_terms(model, x, generator, self.recon)
        c = linear_capacity(step, self.capacity_max, p.capacity_steps)
        terms["capacity"] = torch.tensor(c)
        terms["loss"] = terms["recon"] + p.gamma * (kl - c).abs()
        return terms
