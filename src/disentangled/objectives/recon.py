"""Reconstruction terms: negative log-likelihoods summed over pixels, averaged over the batch."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import ConfigError


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x|z) for Bernoulli pixels with probabilities sigmoid(logits); nats per image."""
    return F.binary_cross_entropy_with_logits(logits.float(), x, reduction="sum") / x.shape[0]


def gaussian_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Sum of squared errors of sigmoid(logits), per image.

    This is -log N(x; sigmoid(logits), 1/2) up to an additive constant (the `l2` loss of
    disentanglement_lib).
    """
    return (torch.sigmoid(logits.float()) - x).pow(2).sum() / x.shape[0]


RECON = {"bernoulli": bernoulli_nll, "gaussian": gaussian_nll}


def reconstruction(name: str, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The named reconstruction NLL (nats per image, averaged over the batch)."""
    try:
        fn = RECON[name]
    except KeyError:
        raise ConfigError(f"unknown model.recon {name!r}; known: {', '.join(RECON)}") from None
    return fn(logits, x)
