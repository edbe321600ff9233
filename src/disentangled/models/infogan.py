"""InfoGAN (Chen et al., 2016): a generator fed noise and structured codes, a discriminator, and a
Q head on the discriminator's trunk that recovers the codes from an image.

The generator input is [z, one-hot(c_1), ..., one-hot(c_m), c'_1, ..., c'_n]: noise z ~ U(−1, 1)^N,
categorical codes c_i uniform over K_i values and continuous codes c'_j ~ U(−1, 1). Q(c | x)
factorises over the codes: a softmax per categorical, a Gaussian per continuous code with unit
variance (``fixed``) or a learned one. The representation of an image (:meth:`InfoGAN.encode`)
is Q's mode, laid out like a VAE code: the continuous means first, then one one-hot per
categorical, so the metrics treat an InfoGAN like a VAE. Scoring a trained InfoGAN (its
categorical codes against labels, its diagnostics, the reproduction driver) is in
:mod:`disentangled.evaluation.infogan`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..nets.infogan import NET_SIDES, InfoGANGenerator, InfoGANTrunk, QHead, discriminator_head

Q_VARIANCES = ("fixed", "learned")


@dataclass(frozen=True)
class CodeSpec:
    """The generator's input: ``noise`` dims, categoricals of sizes ``disc``, ``cont`` continuous
    codes, and whether Q learns the continuous codes' variances."""

    noise: int
    disc: tuple[int, ...]
    cont: int
    learned_variance: bool = False

    def __post_init__(self) -> None:
        if not self.disc and self.cont == 0:
            raise ConfigError(
                "infogan: the code is empty; set model.latent_dim > 0 (continuous codes) "
                "or model.disc (categorical codes)"
            )
        for k in self.disc:
            if k < 2:
                raise ConfigError(f"infogan: a categorical code needs K >= 2 values, got {k}")
        if self.noise < 0 or self.cont < 0:
            raise ConfigError(f"infogan: sizes must be >= 0, got noise {self.noise}, {self.cont}")

    @property
    def code_size(self) -> int:
        """Width of the representation: continuous means + one-hots."""
        return self.cont + sum(self.disc)

    @property
    def input_size(self) -> int:
        """Width of the generator input: noise + one-hots + continuous codes."""
        return self.noise + self.code_size

    @property
    def q_size(self) -> int:
        """Number of Q outputs: logits, means, and log-variances when learned."""
        return sum(self.disc) + self.cont * (2 if self.learned_variance else 1)

    def names(self) -> list[str]:
        """Code names as logged: ``cat0``.., then ``cont0``.."""
        return [f"cat{i}" for i in range(len(self.disc))] + [f"cont{j}" for j in range(self.cont)]

    def entropies(self) -> dict[str, float]:
        """H(c) per code in nats: log K for a K-way categorical; the differential entropy log 2
        for U(−1, 1) (a reference level there, not an upper bound on I(c; x))."""
        out = {f"cat{i}": math.log(k) for i, k in enumerate(self.disc)}
        out.update({f"cont{j}": math.log(2.0) for j in range(self.cont)})
        return out

    def describe(self) -> dict[str, object]:
        """A JSON-ready description for pictures and reports."""
        return {
            "noise": self.noise,
            "categorical": list(self.disc),
            "continuous": self.cont,
            "q_variance": "learned" if self.learned_variance else "fixed",
        }


@dataclass
class CodeDraw:
    """One draw of generator inputs: noise (B, N), categorical indices (B, m) long, continuous
    codes (B, n)."""

    noise: torch.Tensor
    cat: torch.Tensor
    cont: torch.Tensor

    def __len__(self) -> int:
        return int(self.noise.shape[0])

    def to(self, device) -> CodeDraw:
        return CodeDraw(self.noise.to(device), self.cat.to(device), self.cont.to(device))


@dataclass
class QOutput:
    """Q(c | x): logits (B, K_i) per categorical, means and log-variances (B, n) of the
    continuous codes (log-variances zero when the variance is fixed)."""

    logits: list[torch.Tensor]
    mean: torch.Tensor
    logvar: torch.Tensor


def sample_codes(
    spec: CodeSpec, n: int, generator: torch.Generator | None, device=None
) -> CodeDraw:
    """n generator inputs from the prior, drawn in the order noise, categoricals, continuous."""
    device = device if device is not None else (generator.device if generator else "cpu")
    noise = torch.rand((n, spec.noise), generator=generator, device=device) * 2.0 - 1.0
    cats = [torch.randint(k, (n,), generator=generator, device=device) for k in spec.disc]
    cat = torch.stack(cats, 1) if cats else torch.zeros((n, 0), dtype=torch.long, device=device)
    cont = torch.rand((n, spec.cont), generator=generator, device=device) * 2.0 - 1.0
    return CodeDraw(noise=noise, cat=cat, cont=cont)


def generator_input(spec: CodeSpec, draw: CodeDraw) -> torch.Tensor:
    """[noise, one-hot(c_1), .., one-hot(c_m), continuous codes]: (B, spec.input_size)."""
    parts = [draw.noise]
    parts += [F.one_hot(draw.cat[:, i], k).to(draw.noise.dtype) for i, k in enumerate(spec.disc)]
    parts.append(draw.cont.to(draw.noise.dtype))
    return torch.cat(parts, 1)


def split_q(spec: CodeSpec, params: torch.Tensor) -> QOutput:
    """Q head outputs (B, q_size) -> :class:`QOutput` (float32)."""
    params = params.float()
    logits = list(torch.split(params[:, : sum(spec.disc)], list(spec.disc), 1))
    rest = params[:, sum(spec.disc) :]
    mean = rest[:, : spec.cont]
    logvar = rest[:, spec.cont :] if spec.learned_variance else torch.zeros_like(mean)
    return QOutput(logits=logits, mean=mean, logvar=logvar)


class InfoGAN(nn.Module):
    """Generator G, discriminator trunk shared by the D head (real/fake logit) and the Q head."""

    def __init__(
        self,
        generator: nn.Module,
        trunk: nn.Module,
        d_head: nn.Module,
        q_head: nn.Module,
        codes: CodeSpec,
    ) -> None:
        super().__init__()
        self.generator = generator
        self.trunk = trunk
        self.d_head = d_head
        self.q_head = q_head
        self.codes = codes

    @classmethod
    def from_config(
        cls, cfg, image_shape: tuple[int, int, int], *, noise: int, q_variance: str = "fixed"
    ) -> InfoGAN:
        """From a ModelConfig (``net`` infogan|infogan64, ``latent_dim`` continuous codes,
        ``disc`` categorical sizes, ``leaky_slope`` of D's and Q's leaky ReLUs) and the noise
        size and Q variance."""
        if cfg.net not in NET_SIDES:
            raise ConfigError(
                f"objective infogan needs model.net {' or '.join(NET_SIDES)}, got {cfg.net!r}"
            )
        if q_variance not in Q_VARIANCES:
            raise ConfigError(f"q_variance must be fixed or learned, got {q_variance!r}")
        codes = CodeSpec(
            noise=noise,
            disc=tuple(cfg.disc),
            cont=cfg.latent_dim,
            learned_variance=q_variance == "learned",
        )
        shape = tuple(image_shape)
        generator = InfoGANGenerator(codes.input_size, shape, cfg.net)
        trunk = InfoGANTrunk(shape, cfg.net, cfg.leaky_slope)
        return cls(
            generator,
            trunk,
            discriminator_head(trunk.features),
            QHead(trunk.features, codes.q_size, cfg.leaky_slope),
            codes,
        )

    # --------------------------------------------------------------- generator side

    def sample_codes(
        self, n: int, generator: torch.Generator | None = None, device=None
    ) -> CodeDraw:
        """n draws of (noise, codes) from the prior (see :func:`sample_codes`)."""
        return sample_codes(self.codes, n, generator, device)

    def generate(self, draw: CodeDraw) -> torch.Tensor:
        """Images (B, C, H, W) in [0, 1]: the sigmoid of G's pixel logits."""
        return torch.sigmoid(self.generator(generator_input(self.codes, draw)))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """n images (n, C, H, W) in [0, 1] from codes drawn from the prior."""
        return self.generate(self.sample_codes(n, generator, device))

    # --------------------------------------------------------------- discriminator side

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Trunk features (B, 1024) of images (B, C, H, W) in [0, 1]."""
        return self.trunk(x)

    def d_logit(self, h: torch.Tensor) -> torch.Tensor:
        """Logit of "real" (B,) from trunk features."""
        return self.d_head(h).float().squeeze(1)

    def q_from_features(self, h: torch.Tensor) -> QOutput:
        return split_q(self.codes, self.q_head(h))

    def q(self, x: torch.Tensor) -> QOutput:
        """Q(c | x) for images (B, C, H, W) in [0, 1]."""
        return self.q_from_features(self.features(x))

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Representation (B, code_size): Q's continuous means, then argmax one-hots."""
        q = self.q(x)
        parts = [q.mean] + [F.one_hot(lg.argmax(1), lg.shape[1]).float() for lg in q.logits]
        return torch.cat(parts, 1)

    @torch.no_grad()
    def categories(self, x: torch.Tensor) -> torch.Tensor:
        """Argmax category of every categorical code: (B, m) long."""
        q = self.q(x)
        if not q.logits:
            return torch.zeros((x.shape[0], 0), dtype=torch.long, device=x.device)
        return torch.stack([lg.argmax(1) for lg in q.logits], 1)

    # --------------------------------------------------------------- optimiser groups

    def generator_parameters(self) -> list[nn.Parameter]:
        return list(self.generator.parameters())

    def discriminator_parameters(self) -> list[nn.Parameter]:
        """Trunk, D head and Q head: trained together, as in the authors' code."""
        return [*self.trunk.parameters(), *self.d_head.parameters(), *self.q_head.parameters()]
