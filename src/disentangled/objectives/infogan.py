"""InfoGAN (Chen et al., 2016): a GAN plus λ times a variational lower bound on I(c; G(z, c)).

For codes c drawn from the prior and images x = G(z, c), every code c_i (Q factorises over them)
has the bound

    L_I(c_i) = E[log Q(c_i | x)] + H(c_i) <= I(c_i; x)      (nats)

with H(c_i) = log K for a uniform K-way categorical (also the ceiling of I there) and the
differential entropy log 2 for U(−1, 1) (I itself is unbounded for a continuous code: L_I rises
above log 2 once Q's Gaussian is centred on c and narrower than σ = 1/sqrt(2π); with σ fixed at 1
it stays at or below log 2 − ½ log 2π ≈ −0.226). One training step, as in the
authors' code (Adam β1 = 0.5 for both players):

1. D and Q ("discriminator" optimizer: trunk, D head and Q head, lr ``d_lr``): minimise
   −mean[log D(x) + log(1 − D(G(z, c)))] − Σ_i λ_i L_I(c_i) on the real batch x and one fresh
   draw of (z, c), G held fixed;
2. G ("generator" optimizer, lr ``g_lr``): minimise −mean log D(G(z, c)) − Σ_i λ_i L_I(c_i) on a
   second fresh draw, D and Q held fixed (the non-saturating generator loss).

λ_i is ``lambda_cat`` for categorical codes and ``lambda_cont`` for continuous ones. The run's
``train.adam_beta1`` / ``train.adam_beta2`` apply to both optimizers; ``train.lr`` is unused.

``q_optimizer: generator`` is the arrangement of several later implementations: the Q head is
trained with G (lr ``g_lr``, in step 2, on the same L_I), and step 1 minimises the GAN loss alone
(trunk and D head), so the shared trunk learns only to tell real from fake.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..config import check_choice, check_float, check_int
from ..errors import ConfigError
from ..info import gaussian_log_density
from ..models.infogan import Q_VARIANCES, CodeDraw, CodeSpec, InfoGAN, QOutput
from .base import Objective, StepContext, Terms, adam, check_finite, check_finite_grads

LOG2 = math.log(2.0)
Q_OPTIMIZERS = ("discriminator", "generator")  # which player's optimizer trains the Q head


@dataclass
class InfoGANParams:
    noise_dim: int = 62
    lambda_cat: float = 1.0
    lambda_cont: float = 1.0
    q_variance: str = "fixed"
    g_lr: float = 1e-3
    d_lr: float = 2e-4
    q_optimizer: str = "discriminator"

    def validate(self) -> None:
        check_int("objective.noise_dim", self.noise_dim, lo=0, hi=4096)
        for name in ("lambda_cat", "lambda_cont"):
            value = getattr(self, name)
            check_float(f"objective.{name}", value)
            if value < 0:
                raise ConfigError(f"objective.{name} must be >= 0 (a weight on L_I), got {value}")
        check_choice("objective.q_variance", self.q_variance, Q_VARIANCES)
        check_choice("objective.q_optimizer", self.q_optimizer, Q_OPTIMIZERS)
        check_float("objective.g_lr", self.g_lr, lo=0.0, lo_open=True, hi=10.0)
        check_float("objective.d_lr", self.d_lr, lo=0.0, lo_open=True, hi=10.0)


def info_terms(codes: CodeSpec, q: QOutput, draw: CodeDraw) -> Terms:
    """L_I per code in nats, batch means: ``info_cat{i}`` = log K_i − CE(Q logits, c_i) and
    ``info_cont{j}`` = log 2 + log N(c'_j; μ_j, σ_j²)."""
    terms: Terms = {}
    for i, (k, logits) in enumerate(zip(codes.disc, q.logits, strict=True)):
        terms[f"info_cat{i}"] = math.log(k) - F.cross_entropy(logits, draw.cat[:, i])
    if codes.cont:
        log_q = gaussian_log_density(draw.cont.float(), q.mean, q.logvar).mean(0)
        for j in range(codes.cont):
            terms[f"info_cont{j}"] = LOG2 + log_q[j]
    return terms


def weighted_info(terms: Terms, lambda_cat: float, lambda_cont: float) -> torch.Tensor:
    """Σ_i λ_i L_I(c_i) over the ``info_cat*`` and ``info_cont*`` terms (a scalar tensor)."""
    parts = [
        (lambda_cat if name.startswith("info_cat") else lambda_cont) * value
        for name, value in terms.items()
        if name.startswith(("info_cat", "info_cont"))
    ]
    return torch.stack(parts).sum()


def discriminator_loss(
    real_logit: torch.Tensor, fake_logit: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """−mean log D(x) − mean log(1 − D(G(z, c))) in nats, from logits (B,) and (B',); and the
    fractions of real (logit > 0) and of fake (logit < 0) images classified correctly."""
    loss = F.softplus(-real_logit).mean() + F.softplus(fake_logit).mean()
    return loss, (real_logit > 0).float().mean(), (fake_logit < 0).float().mean()


def generator_loss(fake_logit: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss −mean log D(G(z, c)) in nats, from logits (B,)."""
    return F.softplus(-fake_logit).mean()


class InfoGANObjective(Objective):
    """GAN loss − λ·L_I for both players, alternating D+Q and G updates (Chen et al., 2016)."""

    name = "infogan"
    Params = InfoGANParams

    def build_model(self, model_cfg, image_shape: tuple[int, int, int]) -> InfoGAN:
        """The InfoGAN of ``model_cfg`` with this objective's noise size and Q variance."""
        p = self.params
        return InfoGAN.from_config(
            model_cfg, image_shape, noise=p.noise_dim, q_variance=p.q_variance
        )

    def check_model(self, model) -> None:
        if not isinstance(model, InfoGAN):
            raise ConfigError("objective infogan trains an InfoGAN model only")

    def configure_optimizers(self, model: InfoGAN, train_cfg) -> dict[str, torch.optim.Optimizer]:
        """``generator``: Adam(G, g_lr); ``discriminator``: Adam(trunk + D head + Q head, d_lr);
        with ``q_optimizer: generator`` the Q head is in the generator's instead. Betas from the
        run's train config."""
        betas = (train_cfg.adam_beta1, train_cfg.adam_beta2)
        p = self.params
        g_params, d_params = model.generator_parameters(), model.discriminator_parameters()
        if p.q_optimizer == "generator":
            q_ids = {id(q) for q in model.q_head.parameters()}
            g_params += list(model.q_head.parameters())
            d_params = [q for q in d_params if id(q) not in q_ids]
        return {
            "generator": adam(g_params, p.g_lr, betas),
            "discriminator": adam(d_params, p.d_lr, betas),
        }

    def _info(self, model: InfoGAN, q: QOutput, draw: CodeDraw) -> tuple[Terms, torch.Tensor]:
        terms = info_terms(model.codes, q, draw)
        return terms, weighted_info(terms, self.params.lambda_cat, self.params.lambda_cont)

    def discriminator_terms(
        self, model: InfoGAN, x: torch.Tensor, generator: torch.Generator | None
    ) -> Terms:
        """D+Q objective on real x and one draw of fakes (G gets no gradient): terms with
        ``loss`` = d_loss − Σ λ L_I, plus d_loss, d_real_acc, d_fake_acc, info_*."""
        draw = model.sample_codes(x.shape[0], generator, x.device)
        with torch.no_grad():
            fake = model.generate(draw)
        real_logit = model.d_logit(model.features(x))
        h_fake = model.features(fake)
        d_loss, real_acc, fake_acc = discriminator_loss(real_logit, model.d_logit(h_fake))
        info, weighted = self._info(model, model.q_from_features(h_fake), draw)
        q_here = self.params.q_optimizer == "discriminator"  # else Q learns in the G step only
        return {
            "loss": d_loss - weighted if q_here else d_loss,
            "d_loss": d_loss,
            "d_real_acc": real_acc,
            "d_fake_acc": fake_acc,
            **info,
        }

    def generator_terms(
        self, model: InfoGAN, batch_size: int, generator: torch.Generator | None, device
    ) -> Terms:
        """G objective on one draw: terms with ``loss`` = g_loss − Σ λ L_I, g_loss, info_*."""
        draw = model.sample_codes(batch_size, generator, device)
        h = model.features(model.generate(draw))
        g_loss = generator_loss(model.d_logit(h))
        info, weighted = self._info(model, model.q_from_features(h), draw)
        return {"loss": g_loss - weighted, "g_loss": g_loss, **info}

    def loss(self, model, x, step, generator) -> Terms:
        """Both players' terms at the current parameters (no update): see :meth:`training_step`."""
        d = self.discriminator_terms(model, x, generator)
        g = self.generator_terms(model, x.shape[0], generator, x.device)
        return _merge(model.codes, d, g)

    def training_step(
        self,
        model: InfoGAN,
        x: torch.Tensor,
        step: int,
        optimizers: dict[str, torch.optim.Optimizer],
        ctx: StepContext,
    ) -> Terms:
        """D+Q update, then G update on a fresh draw. Logged: d_loss, g_loss, the fractions of
        real and fake images D classifies correctly, L_I per code from the G step (nats) with
        ``info_cat{i}_frac`` = L_I / log K_i, their sum ``info``, and ``loss`` = G's objective."""
        d_opt, g_opt = optimizers["discriminator"], optimizers["generator"]
        with ctx.autocast():
            d = self.discriminator_terms(model, x, ctx.generator)
        check_finite(d, step, x)
        _zero_grads(optimizers)
        d["loss"].backward()
        check_finite_grads(model, step)
        d_opt.step()
        with ctx.autocast():
            g = self.generator_terms(model, x.shape[0], ctx.generator, x.device)
        check_finite(g, step)
        _zero_grads(optimizers)
        g["loss"].backward(inputs=[q for grp in g_opt.param_groups for q in grp["params"]])
        check_finite_grads(model, step)
        g_opt.step()
        return _merge(model.codes, d, g)


def _merge(codes: CodeSpec, d: Terms, g: Terms) -> Terms:
    """The logged record of one step: D-side GAN terms, G-side L_I terms, their sum ``info`` and
    each categorical's L_I as a fraction of its ceiling log K."""
    out: Terms = {k: v.detach() for k, v in d.items() if not k.startswith("info")}
    out["d_objective"] = out.pop("loss")
    out.update({k: v.detach() for k, v in g.items()})
    info = [v for k, v in g.items() if k.startswith("info_")]
    out["info"] = torch.stack(info).sum().detach()
    for i, k in enumerate(codes.disc):
        out[f"info_cat{i}_frac"] = out[f"info_cat{i}"] / math.log(k)
    return out


def _zero_grads(optimizers: dict[str, torch.optim.Optimizer]) -> None:
    """Drop every gradient, so each phase's finiteness check sees its own gradients only."""
    for opt in optimizers.values():
        opt.zero_grad(set_to_none=True)
