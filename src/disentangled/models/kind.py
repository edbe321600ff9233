"""What kind of model a run holds, decided by what the model can do.

The commands, pictures and reports need to know whether a model has an encoder posterior
q(z|x) (the VAE family: ``posterior``, ``latent``, ``reconstruct``, ``decode``) or is a
generative adversarial network with structured codes (InfoGAN: ``codes``, ``generate``, no
posterior). Every such decision goes through these functions.
"""

from __future__ import annotations

from typing import Any

from ..nets.infogan import NET_SIDES


def has_posterior(model: Any) -> bool:
    """True for a model with an encoder posterior: ``posterior(x)`` and a ``latent`` (the VAE
    family, which also reconstructs and decodes)."""
    return (
        callable(getattr(model, "posterior", None)) and getattr(model, "latent", None) is not None
    )


def is_generative_adversarial(model: Any) -> bool:
    """True for a GAN with structured codes (an InfoGAN): ``codes`` and ``generate``, and no
    encoder posterior."""
    return (
        not has_posterior(model)
        and getattr(model, "codes", None) is not None
        and callable(getattr(model, "generate", None))
    )


def config_is_generative_adversarial(cfg: Any) -> bool:
    """True when a run's config builds a GAN: its ``model.net`` is one of the InfoGAN networks
    (which no VAE accepts). For places that have the config but no model."""
    model = getattr(cfg, "model", None)
    return getattr(model, "net", None) in NET_SIDES


def categorical_sizes(model: Any) -> list[int]:
    """Sizes K_i of the model's categorical codes: a VAE's categorical latents or an InfoGAN's
    categorical codes; [] when it has none."""
    if has_posterior(model):
        return list(getattr(model.latent, "disc", ()) or ())
    codes = getattr(model, "codes", None)
    return list(getattr(codes, "disc", ()) or ())
