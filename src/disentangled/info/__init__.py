"""Information theory on tensors, in nats: entropies, KL divergences, Gaussian closed forms,
aggregate-posterior estimators and the ELBO decomposition. Pure functions, no nn.Module."""

from __future__ import annotations

from disentangled.info.aggregate import (
    ESTIMATORS,
    discrete_kl_to_uniform,
    discrete_mutual_information,
    elbo_decomposition,
    log_importance_weights_mss,
    log_qz_full,
    log_qz_mss,
    log_qz_mws,
    log_qz_pairwise,
)
from disentangled.info.discrete import (
    conditional_entropy,
    cross_entropy,
    entropy,
    entropy_from_logits,
    entropy_log,
    joint_entropy,
    kl_categorical_uniform,
    kl_categorical_uniform_probs,
    kl_divergence,
    kl_divergence_log,
    mutual_information,
)
from disentangled.info.gaussian import (
    LOG_2PI,
    gaussian_entropy,
    gaussian_log_density,
    kl_diag_gaussians,
    kl_normal_std,
)

__all__ = [
    "ESTIMATORS",
    "LOG_2PI",
    "conditional_entropy",
    "cross_entropy",
    "discrete_kl_to_uniform",
    "discrete_mutual_information",
    "elbo_decomposition",
    "entropy",
    "entropy_from_logits",
    "entropy_log",
    "gaussian_entropy",
    "gaussian_log_density",
    "joint_entropy",
    "kl_categorical_uniform",
    "kl_categorical_uniform_probs",
    "kl_diag_gaussians",
    "kl_divergence",
    "kl_divergence_log",
    "kl_normal_std",
    "log_importance_weights_mss",
    "log_qz_full",
    "log_qz_mss",
    "log_qz_mws",
    "log_qz_pairwise",
    "mutual_information",
]
