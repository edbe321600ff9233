"""MI-regularised VAE: β-VAE loss − λ(t) · I(z_S; x'), x' decoded from prior samples.

The variational lower bound (nats) on the mutual information between a subset S of the code and
the image decoded from it is

    I(z_S; x') ≥ E_{z ~ p(z), x' ~ p(x|z)} [log q(z_S | x')] + H(z_S),

with q the encoder and H(z_S) the entropy of the prior's marginal on S: |S|/2 · log(2πe) for
Gaussian dimensions, Σ_i log K_i for the categorical codes. Each step samples z ~ p(z), decodes it
to Bernoulli means x' = sigmoid(decoder(z)) (mean decoding instead of a pixel sample, so that the
gradient reaches the decoder through x'), re-encodes x' and scores the sampled z_S under q(z_S|x').

S (``dims``) is ``half`` (the first ⌊D/2⌋ Gaussian dimensions), a list of Gaussian dimension
indices, or ``disc`` (the categorical codes of a joint model; log q(c | x') of the sampled
category). λ(t) rises linearly from 0 to ``lam`` over ``warmup_steps`` optimizer steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import check_float, check_int
from ..errors import ConfigError
from ..info import LOG_2PI, gaussian_log_density
from .base import Objective, Terms
from .schedules import linear_capacity
from .vae import vae_terms

SUBSET_NAMES = ("half", "disc")


@dataclass
class MIVAEParams:
    beta: float = 1.0
    lam: float = 1.0
    dims: object = "half"
    warmup_steps: int = 0

    def validate(self) -> None:
        check_float("objective.beta", self.beta, lo=0.0)
        check_float("objective.lam", self.lam, lo=0.0)
        check_int("objective.warmup_steps", self.warmup_steps, lo=0)
        d = self.dims
        if isinstance(d, str):
            if d not in SUBSET_NAMES:
                raise ConfigError(
                    f"objective.dims must be half, disc or a list of dimensions, got {d!r}"
                )
            return
        if not isinstance(d, list) or not d:
            raise ConfigError(
                f"objective.dims must be half, disc or a non-empty list of dimensions, got {d!r}"
            )
        if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in d):
            raise ConfigError(f"objective.dims: dimensions must be integers >= 0, got {d!r}")
        if len(set(d)) != len(d):
            raise ConfigError(f"objective.dims lists a dimension twice: {d!r}")


class MIVAEObjective(Objective):
    """recon + beta * KL − λ(t) * [E log q(z_S | x') + H(z_S)] with x' decoded from z ~ p(z)."""

    name = "mivae"
    Params = MIVAEParams

    def check_model(self, model) -> None:
        lat, d = model.latent, self.params.dims
        if d == "disc":
            if not lat.disc:
                raise ConfigError("objective.dims=disc needs categorical codes (model.disc)")
        elif d == "half":
            if lat.cont < 2:
                raise ConfigError(
                    f"objective.dims=half needs at least 2 Gaussian dimensions, got {lat.cont}"
                )
        elif max(d) >= lat.cont:
            raise ConfigError(f"objective.dims {d} out of range for {lat.cont} Gaussian dimensions")

    def gaussian_subset(self, cont: int) -> list[int]:
        """The Gaussian dimensions in S (empty for ``disc``)."""
        d = self.params.dims
        if d == "disc":
            return []
        return list(range(cont // 2)) if d == "half" else list(d)

    def lam_at(self, step: int) -> float:
        """λ(t): linear warm-up from 0 to ``lam`` over ``warmup_steps`` steps."""
        return linear_capacity(step, self.params.lam, self.params.warmup_steps)

    def mi_bound(
        self, model, n: int, generator: torch.Generator | None, device: torch.device
    ) -> torch.Tensor:
        """E[log q(z_S | x')] + H(z_S) in nats over n prior samples (0-dim, differentiable)."""
        lat = model.latent
        z = lat.prior_sample(n, generator, device=device)
        x_prime = torch.sigmoid(model.decode(z).float())
        post = model.posterior(x_prime)
        if self.params.dims == "disc":
            log_q = z.new_zeros(n)
            start = lat.cont
            for k, logits in zip(lat.disc, post.logits, strict=True):
                c = z[:, start : start + k].argmax(1, keepdim=True)
                log_q = log_q + torch.log_softmax(logits, dim=1).gather(1, c).squeeze(1)
                start += k
            entropy = lat.disc_capacity_bound
        else:
            s = torch.tensor(self.gaussian_subset(lat.cont), device=device)
            zs, mu, logvar = z[:, s], post.mu[:, s], post.logvar[:, s]
            log_q = gaussian_log_density(zs, mu, logvar).sum(1)
            entropy = 0.5 * (LOG_2PI + 1.0) * len(s)
        return log_q.mean() + entropy

    def loss(self, model, x, step, generator) -> Terms:
        p = self.params
        terms, kl = vae_terms(model, x, generator, self.recon)
        lam = self.lam_at(step)
        if lam > 0:
            bound = self.mi_bound(model, x.shape[0], generator, x.device)
        else:
            with torch.no_grad():
                bound = self.mi_bound(model, x.shape[0], generator, x.device)
        terms["mi_bound"] = bound
        terms["lam"] = torch.tensor(lam)
        terms["loss"] = terms["recon"] + p.beta * kl - lam * bound
        return terms
