"""The objective interface: (model, batch, step) -> named loss terms, plus the update step."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from ..errors import TrainingDiverged

Terms = dict[str, torch.Tensor]


def adam(params, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam over ``params``; the fused implementation (one kernel for every parameter) where all
    of them are on the CPU or a CUDA device, the default one elsewhere."""
    params = list(params)
    fused = bool(params) and all(q.device.type in ("cpu", "cuda") for q in params)
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=fused or None)


@dataclass
class StepContext:
    """What an update step may use besides the model: RNG, autocast, extra batches."""

    generator: torch.Generator | None
    autocast: Callable[[], AbstractContextManager[Any]]
    next_batch: Callable[[], torch.Tensor]
    dataset_size: int
    extra: dict[str, Any] = field(default_factory=dict)


class Objective(nn.Module):
    """Base class: subclasses define ``Params`` (a dataclass) and ``loss``.

    Objectives with trainable parts of their own (a discriminator) register them as submodules
    and return extra optimizers from :meth:`extra_optimizers`; they then override
    :meth:`training_step`. Every loss term is a scalar tensor except names ending in ``_dims``
    (per-dimension vectors, logged as lists).
    """

    name: ClassVar[str] = ""
    Params: ClassVar[type] = object

    def __init__(self, params: Any, *, dataset_size: int, recon: str = "bernoulli") -> None:
        super().__init__()
        self.params = params
        self.dataset_size = dataset_size
        self.recon = recon

    @classmethod
    def build_model(cls, model_cfg: Any, image_shape: tuple[int, int, int]) -> nn.Module:
        """The model this objective trains; a VAE by default (a GAN objective returns its own)."""
        from ..models import VAE

        return VAE.from_config(model_cfg, image_shape)

    def configure_optimizers(
        self, model: nn.Module, train_cfg: Any
    ) -> dict[str, torch.optim.Optimizer]:
        """``main``: Adam over the model's parameters with the run's lr and betas, plus
        :meth:`extra_optimizers`. Every optimizer returned is checkpointed and restored."""
        t = train_cfg
        opts: dict[str, torch.optim.Optimizer] = {
            "main": adam(model.parameters(), t.lr, (t.adam_beta1, t.adam_beta2))
        }
        opts.update(self.extra_optimizers(t.lr))
        return opts

    def check_model(self, model: nn.Module) -> None:
        """Raise ConfigError when the model cannot be trained by this objective."""

    def bind(self, model: nn.Module) -> None:
        """Build parts sized by the model (a discriminator on its code); nothing by default.

        The loop calls it once, right after building the model and under the run's seed, so the
        initial weights are reproducible from the config.
        """

    def loss(
        self, model: nn.Module, x: torch.Tensor, step: int, generator: torch.Generator | None
    ) -> Terms:
        raise NotImplementedError

    def extra_optimizers(self, lr: float) -> dict[str, torch.optim.Optimizer]:
        """Optimizers for the objective's own parameters (none by default)."""
        return {}

    def training_step(
        self,
        model: nn.Module,
        x: torch.Tensor,
        step: int,
        optimizers: dict[str, torch.optim.Optimizer],
        ctx: StepContext,
    ) -> Terms:
        """One update of the model: loss, finiteness check, backward, optimizer step."""
        with ctx.autocast():
            terms = self.loss(model, x, step, ctx.generator)
        check_finite(terms, step, x)
        opt = optimizers["main"]
        opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        check_finite_grads(model, step)
        opt.step()
        return terms


def check_finite(terms: Terms, step: int, inputs: torch.Tensor | None = None) -> None:
    """Raise TrainingDiverged naming the first non-finite term (or a non-finite input batch)
    when the total loss is not finite. Call it before ``backward``."""
    if bool(torch.isfinite(terms["loss"].detach()).all()):
        return
    if inputs is not None and not bool(torch.isfinite(inputs).all()):
        raise TrainingDiverged(
            f"non-finite loss at step {step}: the input batch contains NaN or Inf"
        )
    bad = [k for k, v in _items(terms) if not bool(torch.isfinite(v.detach()).all())]
    culprit = next((k for k in bad if k != "loss"), "loss")
    raise TrainingDiverged(
        f"non-finite loss at step {step}: term {culprit!r} is not finite ({bad})"
    )


def check_finite_grads(module: nn.Module, step: int) -> None:
    """Raise TrainingDiverged naming the first parameter whose gradient has NaN or Inf.
    Call it after ``backward`` and before the optimizer step (one fused reduction)."""
    named = [(n, p.grad) for n, p in module.named_parameters() if p.grad is not None]
    if not named:
        return
    norms = torch._foreach_norm([g for _, g in named])
    if bool(torch.isfinite(torch.stack(norms)).all()):
        return
    name = next(n for (n, _), v in zip(named, norms, strict=True) if not torch.isfinite(v))
    raise TrainingDiverged(f"non-finite gradient at step {step}: parameter {name!r}")


def _items(terms: Terms) -> Iterator[tuple[str, torch.Tensor]]:
    return ((k, v) for k, v in terms.items() if isinstance(v, torch.Tensor))
