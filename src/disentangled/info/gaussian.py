"""Closed forms for diagonal Gaussians, parameterised by mean and log-variance, in nats.

Every function works elementwise (per latent dimension) and broadcasts its arguments; sum over
the last dimension for the quantity of the whole diagonal Gaussian.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "LOG_2PI",
    "gaussian_entropy",
    "gaussian_log_density",
    "kl_diag_gaussians",
    "kl_normal_std",
]

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_log_density(x: Tensor, mu: Tensor | float, logvar: Tensor | float) -> Tensor:
    """Elementwise log N(x; mu, exp(logvar)) in nats.

    x, mu, logvar: broadcastable tensors (or floats for mu / logvar). Returns the broadcast shape.
    """
    mu = torch.as_tensor(mu, dtype=x.dtype, device=x.device)
    logvar = torch.as_tensor(logvar, dtype=x.dtype, device=x.device)
    return -0.5 * (LOG_2PI + logvar + (x - mu).pow(2) * torch.exp(-logvar))


def kl_diag_gaussians(
    mu_q: Tensor, logvar_q: Tensor, mu_p: Tensor | float, logvar_p: Tensor | float
) -> Tensor:
    """Per-dimension KL(N(mu_q, σ_q²) || N(mu_p, σ_p²)) in nats, in closed form.

    KL = ½ [log σ_p² − log σ_q² + (σ_q² + (mu_q − mu_p)²) / σ_p² − 1]. Arguments broadcast;
    returns the broadcast shape, e.g. (B, D).
    """
    mu_p = torch.as_tensor(mu_p, dtype=mu_q.dtype, device=mu_q.device)
    logvar_p = torch.as_tensor(logvar_p, dtype=mu_q.dtype, device=mu_q.device)
    log_ratio = logvar_q - logvar_p
    return 0.5 * (torch.expm1(log_ratio) - log_ratio + (mu_q - mu_p).pow(2) * torch.exp(-logvar_p))


def kl_normal_std(mu: Tensor, logvar: Tensor) -> Tensor:
    """Per-dimension KL(N(mu, σ²) || N(0, 1)) = ½ (mu² + σ² − 1 − log σ²) in nats.

    mu, logvar: (B, D) (any broadcastable shapes). Returns the broadcast shape. Uses expm1 so
    the value stays accurate (and nonnegative) when σ² is close to 1.
    """
    return 0.5 * (mu.pow(2) + torch.expm1(logvar) - logvar)


def gaussian_entropy(logvar: Tensor) -> Tensor:
    """Per-dimension differential entropy ½ log(2πe σ²) of N(·, σ²) in nats; shape of logvar."""
    return 0.5 * (LOG_2PI + 1.0 + logvar)
