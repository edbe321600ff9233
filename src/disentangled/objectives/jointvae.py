"""JointVAE (Dupont, 2018): continuous and discrete latents with separately controlled capacities.

    loss = recon + cont_gamma * |KL_cont - C_cont(t)| + disc_gamma * |KL_disc - C_disc(t)|

KL_cont is the Gaussian KL summed over dimensions; KL_disc = sum_i (log K_i - H(alpha_i)) on the
softmax probabilities alpha_i of each categorical (not on the Gumbel-softmax sample); both are
batch means, in nats. C(t) rises linearly from 0 to its maximum over its number of steps.

A K-way code carries at most log K nats, so C_disc can never usefully exceed sum_i log K_i:
a larger ``disc_capacity_max`` is refused, unless ``disc_capacity_clip: true``, in which case
C_disc(t) = min(disc_capacity_max * t / T, sum_i log K_i) (the reference implementation's
schedule, which reaches the bound before step T) with a warning. ``disc_capacity_max: auto``
sets the maximum to the bound itself.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch

from ..config import check_float, check_int
from ..errors import ConfigError
from .base import Objective, Terms
from .recon import reconstruction
from .schedules import linear_capacity

AUTO = "auto"


@dataclass
class JointVAEParams:
    """Capacity schedules (nats, optimizer steps) and weights; defaults are Dupont's MNIST ones."""

    cont_capacity_max: float = 5.0
    cont_capacity_steps: int = 25_000
    cont_gamma: float = 30.0
    disc_capacity_max: float | str = AUTO
    disc_capacity_steps: int = 25_000
    disc_gamma: float = 30.0
    disc_capacity_clip: bool = False

    def validate(self) -> None:
        check_float("objective.cont_capacity_max", self.cont_capacity_max, lo=0.0)
        check_int("objective.cont_capacity_steps", self.cont_capacity_steps, lo=0)
        check_float("objective.cont_gamma", self.cont_gamma, lo=0.0)
        if isinstance(self.disc_capacity_max, str):
            if self.disc_capacity_max != AUTO:
                raise ConfigError(
                    f"objective.disc_capacity_max must be a number >= 0 or {AUTO}, "
                    f"got {self.disc_capacity_max!r}"
                )
        else:
            check_float("objective.disc_capacity_max", self.disc_capacity_max, lo=0.0)
        check_int("objective.disc_capacity_steps", self.disc_capacity_steps, lo=0)
        check_float("objective.disc_gamma", self.disc_gamma, lo=0.0)
        if not isinstance(self.disc_capacity_clip, bool):
            raise ConfigError(
                f"objective.disc_capacity_clip must be true or false, "
                f"got {self.disc_capacity_clip!r}"
            )


def disc_capacity_bound(disc: list[int]) -> float:
    """sum_i log K_i: the most information (nats) categoricals of sizes ``disc`` can carry."""
    return float(sum(math.log(k) for k in disc))


class JointVAEObjective(Objective):
    """recon + cont_gamma |KL_cont - C_cont(t)| + disc_gamma |KL_disc - C_disc(t)| (Dupont 2018).

    Logged terms (nats, batch means): ``recon``, ``kl`` (= kl_cont + kl_disc), ``kl_cont``,
    ``kl_disc``, ``capacity_cont``, ``capacity_disc``, ``kl_dims`` (the continuous dimensions,
    then one entry per categorical), ``kl_cont_dims`` and ``kl_disc_dims``.
    """

    name = "jointvae"
    Params = JointVAEParams

    def __init__(self, params: JointVAEParams, *, dataset_size: int, recon: str = "bernoulli"):
        super().__init__(params, dataset_size=dataset_size, recon=recon)
        self._disc: list[int] | None = None  # the model's categorical sizes, once checked

    # ------------------------------------------------------------------ discrete capacity

    def resolve_disc_capacity(self, disc: list[int]) -> tuple[float, float]:
        """(schedule maximum, ceiling) of C_disc for categoricals ``disc``; raises ConfigError
        for a capacity the code cannot carry (see the module docstring)."""
        p = self.params
        bound = disc_capacity_bound(disc)
        if p.disc_capacity_max == AUTO:
            if not disc:
                raise ConfigError(
                    "objective jointvae: disc_capacity_max=auto asks for a discrete capacity but "
                    "model.disc is empty; add categoricals (e.g. model.disc=[10]) or set "
                    "disc_capacity_max=0"
                )
            return bound, bound
        cmax = float(p.disc_capacity_max)
        if not disc and cmax > 0:
            raise ConfigError(
                f"objective jointvae: disc_capacity_max={cmax:g} nats but model.disc is empty "
                f"(no discrete code to carry it); add categoricals (e.g. model.disc=[10]) or "
                f"set disc_capacity_max=0"
            )
        if cmax > bound and not p.disc_capacity_clip:
            raise ConfigError(
                f"objective.disc_capacity_max={cmax:g} nats exceeds sum log K = {bound:.4f} nats, "
                f"the most categoricals {disc} can carry; lower it, use auto, or set "
                f"disc_capacity_clip=true"
            )
        return cmax, min(cmax, bound)

    def check_model(self, model) -> None:
        """Validate the discrete capacity against ``model.latent.disc``; warn when clipping."""
        disc = list(model.latent.disc)
        cmax, ceiling = self.resolve_disc_capacity(disc)
        self._disc = disc
        if ceiling < cmax:
            steps = self.params.disc_capacity_steps
            reached = math.ceil(steps * ceiling / cmax)
            warnings.warn(
                f"objective jointvae: disc_capacity_max={cmax:g} nats exceeds sum log K = "
                f"{ceiling:.4f} nats for model.disc={disc}; C_disc(t) is clipped there "
                f"(reached at step {reached} of {steps})",
                UserWarning,
                stacklevel=2,
            )

    def capacities(self, step: int, disc: list[int]) -> tuple[float, float]:
        """(C_cont(t), C_disc(t)) in nats at optimizer step ``step``."""
        p = self.params
        c_cont = linear_capacity(step, p.cont_capacity_max, p.cont_capacity_steps)
        cmax, ceiling = self.resolve_disc_capacity(disc)
        c_disc = min(linear_capacity(step, cmax, p.disc_capacity_steps), ceiling)
        return c_cont, c_disc

    # ------------------------------------------------------------------ loss

    def loss(self, model, x, step, generator) -> Terms:
        p = self.params
        disc = self._disc if self._disc is not None else list(model.latent.disc)
        out = model(x, generator)
        rec = reconstruction(self.recon, out.logits, x)
        kl_cont_dims = model.latent.kl_cont(out.post).mean(0)  # (cont,)
        kl_disc_list = [k.mean() for k in model.latent.kl_disc(out.post)]
        kl_disc_dims = torch.stack(kl_disc_list) if kl_disc_list else rec.new_zeros(0)
        kl_cont, kl_disc = kl_cont_dims.sum(), kl_disc_dims.sum()
        c_cont, c_disc = self.capacities(step, disc)
        cont_term = p.cont_gamma * (kl_cont - c_cont).abs()
        disc_term = p.disc_gamma * (kl_disc - c_disc).abs()
        loss = rec + cont_term + disc_term
        return {
            "loss": loss,
            "recon": rec,
            "kl": (kl_cont + kl_disc).detach(),
            "kl_cont": kl_cont.detach(),
            "kl_disc": kl_disc.detach(),
            "capacity_cont": torch.tensor(c_cont),
            "capacity_disc": torch.tensor(c_disc),
            "kl_dims": torch.cat([kl_cont_dims, kl_disc_dims]).detach(),
            "kl_cont_dims": kl_cont_dims.detach(),
            "kl_disc_dims": kl_disc_dims.detach(),
        }
