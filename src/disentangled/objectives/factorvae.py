"""FactorVAE (Kim & Mnih, 2018): ELBO + gamma * TC, the total correlation read off a discriminator.

The discriminator D (:class:`~disentangled.nets.Discriminator`) is a submodule of the objective,
so checkpoints hold it under ``objective/discriminator...``, and it has its own Adam optimizer,
``"discriminator"``. One training step:

1. VAE update on batch x: recon + KL + gamma * TC with TC ≈ mean_i (D(z_i)[0] − D(z_i)[1]),
   z_i ~ q(z | x_i) (the log-odds of "from q(z)" against "from prod_d q(z_d)");
2. discriminator update: cross-entropy of D on those z (class 0, detached from the VAE) and on
   q(z) samples of a second batch with every latent column permuted independently (class 1).

Both gradients are taken at the same parameters before either optimizer steps; each backward is
restricted to its own parameters, so neither loss leaks into the other network.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..config import check_float, check_int
from ..errors import ConfigError
from ..nets import Discriminator
from .base import Objective, StepContext, Terms, adam, check_finite, check_finite_grads
from .recon import reconstruction


@dataclass
class FactorVAEParams:
    gamma: float = 35.0
    disc_lr: float = 1e-4
    disc_beta1: float = 0.5
    disc_beta2: float = 0.9
    disc_hidden: int = 1000
    disc_layers: int = 6

    def validate(self) -> None:
        check_float("objective.gamma", self.gamma, lo=0.0)
        check_float("objective.disc_lr", self.disc_lr, lo=0.0, lo_open=True, hi=10.0)
        check_float("objective.disc_beta1", self.disc_beta1, lo=0.0, hi=1.0, hi_open=True)
        check_float("objective.disc_beta2", self.disc_beta2, lo=0.0, hi=1.0, hi_open=True)
        check_int("objective.disc_hidden", self.disc_hidden, lo=1, hi=65536)
        check_int("objective.disc_layers", self.disc_layers, lo=1, hi=64)


def permute_dims(z: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Each column of z (B, D) shuffled by its own random permutation of the B rows.

    The rows of the result are samples of prod_d q(z_d) when the rows of z are samples of q(z).
    """
    keys = torch.rand(z.shape, generator=generator, device=z.device)
    return z.gather(0, keys.argsort(dim=0))


def discriminator_loss(
    logits_q: torch.Tensor, logits_perm: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy (nats) of D: class 0 for q(z) samples, 1 for permuted ones; accuracy.

    logits_q (B, 2), logits_perm (B', 2). Returns (½ (CE_q + CE_perm), fraction classified right).
    """
    lq, lp = logits_q.float(), logits_perm.float()
    zeros = torch.zeros(lq.shape[0], dtype=torch.long, device=lq.device)
    ones = torch.ones(lp.shape[0], dtype=torch.long, device=lp.device)
    loss = 0.5 * (F.cross_entropy(lq, zeros) + F.cross_entropy(lp, ones))
    right = (lq.argmax(1) == 0).sum() + (lp.argmax(1) == 1).sum()
    return loss, right.float() / (lq.shape[0] + lp.shape[0])


class FactorVAEObjective(Objective):
    """recon + KL + gamma * TC, TC from the density-ratio trick (Kim & Mnih, 2018)."""

    name = "factorvae"
    Params = FactorVAEParams

    def __init__(self, params: FactorVAEParams, *, dataset_size: int, recon: str = "bernoulli"):
        super().__init__(params, dataset_size=dataset_size, recon=recon)
        self.discriminator: Discriminator | None = None

    def bind(self, model) -> None:
        if self.discriminator is None:
            p = self.params
            self.discriminator = Discriminator(model.latent.code_size, p.disc_hidden, p.disc_layers)

    def check_model(self, model) -> None:
        if model.latent.cont == 0 or model.latent.disc:
            raise ConfigError(
                "objective factorvae needs a Gaussian code only "
                "(model.latent_dim > 0 and no model.disc)"
            )

    def _disc(self) -> Discriminator:
        if self.discriminator is None:
            raise RuntimeError("FactorVAEObjective.bind(model) must be called first")
        return self.discriminator

    def extra_optimizers(self, lr: float) -> dict[str, torch.optim.Optimizer]:
        """The discriminator's Adam; its lr and betas are the objective's, not train.lr.

        The fused implementation (CPU and CUDA) updates the ~5 M weights of the default
        discriminator several times faster than the per-tensor loop; the arithmetic is Adam's.
        """
        p = self.params
        return {
            "discriminator": adam(
                self._disc().parameters(), p.disc_lr, (p.disc_beta1, p.disc_beta2)
            )
        }

    def _vae_terms(
        self, model, x: torch.Tensor, generator: torch.Generator | None
    ) -> tuple[Terms, torch.Tensor, torch.Tensor]:
        """Terms {recon, kl, kl_dims, tc, loss} (nats), the samples z (B, D) and D(z) (B, 2)."""
        out = model(x, generator)
        rec = reconstruction(self.recon, out.logits, x)
        kl_dims = model.latent.kl_cont(out.post).mean(0)
        kl = kl_dims.sum()
        logits_q = self._disc()(out.z)
        tc = (logits_q[:, 0] - logits_q[:, 1]).float().mean()
        terms = {"recon": rec, "kl": kl, "kl_dims": kl_dims.detach(), "tc": tc}
        terms["loss"] = rec + kl + self.params.gamma * tc
        return terms, out.z, logits_q

    def loss(self, model, x, step, generator) -> Terms:
        terms, _, _ = self._vae_terms(model, x, generator)
        return terms

    @torch.no_grad()
    def permuted_codes(
        self, model, x: torch.Tensor, generator: torch.Generator | None
    ) -> torch.Tensor:
        """Samples z ~ q(z | x) of a batch (B, C, H, W), each column permuted: (B, D), no grad."""
        z = model.latent.sample(model.posterior(x), generator)
        return permute_dims(z, generator)

    def training_step(
        self,
        model,
        x: torch.Tensor,
        step: int,
        optimizers: dict[str, torch.optim.Optimizer],
        ctx: StepContext,
    ) -> Terms:
        disc = self._disc()
        with ctx.autocast():
            terms, _, logits_q = self._vae_terms(model, x, ctx.generator)
            x2 = ctx.next_batch()
            z_perm = self.permuted_codes(model, x2, ctx.generator)
            logits_perm = disc(z_perm)
        d_loss, accuracy = discriminator_loss(logits_q, logits_perm)
        terms["discriminator_loss"] = d_loss
        terms["discriminator_accuracy"] = accuracy
        check_finite(terms, step, x)
        check_finite({"loss": d_loss, "discriminator_loss": d_loss}, step, x2)
        main, d_opt = optimizers["main"], optimizers["discriminator"]
        main.zero_grad(set_to_none=True)
        d_opt.zero_grad(set_to_none=True)
        vae_params = [q for g in main.param_groups for q in g["params"]]
        d_params = [q for g in d_opt.param_groups for q in g["params"]]
        # D(z) is shared by both losses: keep its graph for the second backward. Restricting
        # ``inputs`` keeps gamma * TC out of D's gradients and the D loss out of the VAE's.
        terms["loss"].backward(inputs=vae_params, retain_graph=True)
        d_loss.backward(inputs=d_params)
        check_finite_grads(model, step)
        check_finite_grads(disc, step)
        main.step()
        d_opt.step()
        return terms
