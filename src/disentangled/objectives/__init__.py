"""Objectives by name. Adding one: a module defining an Objective subclass and a line below."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .base import Objective, StepContext, Terms, check_finite, check_finite_grads
from .dipvae import DIPVAE1Objective, DIPVAE2Objective
from .factorvae import FactorVAEObjective
from .infogan import InfoGANObjective
from .jointvae import JointVAEObjective
from .mivae import MIVAEObjective
from .tcvae import TCVAEObjective
from .vae import BetaVAEObjective, CapacityObjective, InfoMaxObjective, VAEObjective

OBJECTIVES: dict[str, type[Objective]] = {
    cls.name: cls
    for cls in (
        VAEObjective,
        BetaVAEObjective,
        CapacityObjective,
        InfoMaxObjective,
        JointVAEObjective,
        FactorVAEObjective,
        TCVAEObjective,
        DIPVAE1Objective,
        DIPVAE2Objective,
        MIVAEObjective,
        InfoGANObjective,
    )
}

__all__ = [
    "OBJECTIVES",
    "Objective",
    "StepContext",
    "Terms",
    "build_objective",
    "check_finite",
    "check_finite_grads",
    "objective_params",
]


def objective_params(spec: dict[str, Any]) -> Any:
    """Validate an objective mapping ``{name: ..., **params}`` and return its Params instance."""
    from ..config import build_dataclass

    name = spec.get("name")
    if not isinstance(name, str) or name not in OBJECTIVES:
        raise ConfigError(f"unknown objective {name!r}; known: {', '.join(sorted(OBJECTIVES))}")
    cls = OBJECTIVES[name]
    values = {k: v for k, v in spec.items() if k != "name"}
    params = build_dataclass(cls.Params, values, "objective")
    params.validate()
    return params


def build_objective(spec: dict[str, Any], *, dataset_size: int, recon: str) -> Objective:
    """Instantiate the objective named in ``spec`` with validated parameters."""
    params = objective_params(spec)
    return OBJECTIVES[spec["name"]](params, dataset_size=dataset_size, recon=recon)
