"""A joint code of ``cont`` Gaussian dimensions and categoricals of sizes ``disc``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from .categorical import Concrete
from .gaussian import DiagonalGaussian


@dataclass
class LatentSample:
    """Posterior parameters and a sample of a joint code for a batch of B inputs.

    ``mu``/``logvar`` (B, cont); ``logits`` one (B, K_i) per categorical; ``z`` (B, cont + sum K)
    is the sample fed to the decoder (Gaussian sample, then relaxed one-hots).
    """

    mu: torch.Tensor
    logvar: torch.Tensor
    logits: list[torch.Tensor] = field(default_factory=list)
    z: torch.Tensor | None = None


class JointLatent:
    """Splits encoder outputs into a Gaussian part and categorical parts; samples; gives KLs."""

    def __init__(
        self, cont: int, disc: list[int] | tuple[int, ...] = (), temperature: float = 0.67
    ):
        self.cont = cont
        self.gaussian = DiagonalGaussian(cont)
        self.categoricals = [Concrete(k, temperature) for k in disc]

    @property
    def disc(self) -> list[int]:
        return [c.k for c in self.categoricals]

    @property
    def num_params(self) -> int:
        """Encoder outputs needed: 2 * cont + sum K."""
        return self.gaussian.num_params + sum(c.num_params for c in self.categoricals)

    @property
    def code_size(self) -> int:
        """Decoder inputs: cont + sum K."""
        return self.cont + sum(self.disc)

    @property
    def disc_capacity_bound(self) -> float:
        """sum_i log K_i: the most information (nats) the categorical codes can carry."""
        return float(sum(math.log(k) for k in self.disc))

    def split(self, params: torch.Tensor) -> LatentSample:
        """(B, num_params) -> posterior parameters."""
        mu, logvar = self.gaussian.split(params[:, : self.gaussian.num_params])
        logits, start = [], self.gaussian.num_params
        for c in self.categoricals:
            logits.append(params[:, start : start + c.k])
            start += c.k
        return LatentSample(mu=mu, logvar=logvar, logits=logits)

    def sample(self, post: LatentSample, generator: torch.Generator | None = None) -> torch.Tensor:
        """Reparameterised / relaxed sample z, (B, code_size)."""
        parts = [self.gaussian.sample(post.mu, post.logvar, generator)] if self.cont else []
        parts += [
            c.sample(lg, generator) for c, lg in zip(self.categoricals, post.logits, strict=True)
        ]
        return torch.cat(parts, dim=1)

    def mode(self, post: LatentSample) -> torch.Tensor:
        """Deterministic code: Gaussian means and argmax one-hots, (B, code_size)."""
        parts = [post.mu] if self.cont else []
        parts += [c.mode(lg) for c, lg in zip(self.categoricals, post.logits, strict=True)]
        return torch.cat(parts, dim=1)

    def prior_sample(
        self, n: int, generator: torch.Generator | None = None, device=None
    ) -> torch.Tensor:
        """z ~ p(z): N(0, I) for the Gaussian part, uniform one-hots for the categoricals."""
        parts = [torch.randn((n, self.cont), generator=generator, device=device)]
        for k in self.disc:
            idx = torch.randint(k, (n,), generator=generator, device=device)
            parts.append(torch.nn.functional.one_hot(idx, k).float())
        return torch.cat(parts, dim=1)

    def kl_cont(self, post: LatentSample) -> torch.Tensor:
        """KL of the Gaussian part per sample and dimension, (B, cont), nats."""
        return self.gaussian.kl(post.mu, post.logvar)

    def kl_disc(self, post: LatentSample) -> list[torch.Tensor]:
        """KL to uniform of each categorical per sample, list of (B,), nats."""
        return [c.kl(lg) for c, lg in zip(self.categoricals, post.logits, strict=True)]
