"""Aggregate-posterior estimators and the ELBO (KL) decomposition of Chen et al. (2018), in nats.

The aggregate posterior of a dataset {x_n}, n = 1..N, with encoder q(z | x) = N(mu(x), σ²(x)) is
the mixture q(z) = (1/N) Σ_n q(z | x_n); its marginals are q(z_d) = (1/N) Σ_n q(z_d | x_n).
The functions below estimate log q(z) and log q(z_d) at samples z_i ~ q(z | x_i):

- :func:`log_qz_full`: the whole dataset (exact for the empirical data distribution), chunked;
- :func:`log_qz_mws`: minibatch-weighted sampling (the batch as M uniform draws of the data);
- :func:`log_qz_mss`: minibatch-stratified sampling, with :func:`log_importance_weights_mss`.

:func:`elbo_decomposition` then splits E_x KL(q(z|x) || p(z)) into I(x; z) + KL(q(z) || p(z)) and
KL(q(z) || p(z)) into total correlation + dimension-wise KL. Because z_i's own posterior always
enters the estimate of q(z_i) with weight at least 1/N (full and MSS), I(x; z) ≤ log N holds for
those estimates sample by sample.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from disentangled.info.discrete import kl_categorical_uniform_probs, kl_divergence
from disentangled.info.gaussian import gaussian_log_density, kl_diag_gaussians

__all__ = [
    "ESTIMATORS",
    "discrete_kl_to_uniform",
    "discrete_mutual_information",
    "elbo_decomposition",
    "log_importance_weights_mss",
    "log_qz_full",
    "log_qz_mss",
    "log_qz_mws",
    "log_qz_pairwise",
]

ESTIMATORS = ("full", "mss", "mws")


def log_qz_pairwise(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log q(z_{i,d} | x_j) for every sample i and posterior j: shape (M, N, D), in nats.

    z: (M, D) samples; mu, logvar: (N, D) diagonal Gaussian posteriors.
    """
    return gaussian_log_density(z.unsqueeze(1), mu.unsqueeze(0), logvar.unsqueeze(0))


def _marginals_from_pairwise(pairwise: Tensor, log_weights: Tensor) -> tuple[Tensor, Tensor]:
    """logsumexp_j over posteriors with log weights (M, N): returns ((M,), (M, D))."""
    log_qz = torch.logsumexp(pairwise.sum(-1) + log_weights, dim=1)
    log_qz_dims = torch.logsumexp(pairwise + log_weights.unsqueeze(-1), dim=1)
    return log_qz, log_qz_dims


def log_importance_weights_mss(
    batch_size: int,
    dataset_size: int,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """Log importance weights (M, M) of minibatch-stratified sampling (Chen et al. 2018).

    Row i holds the weights of the batch posteriors when estimating q(z_i) for z_i ~ q(z | x_i):
    1/N on the diagonal (the sample's own posterior), (N − M + 1) / (N (M − 1)) on one stratum
    element, taken as the next batch element (i + 1) mod M, and 1/(M − 1) on the other M − 2.
    Every row sums to exactly 1. (The authors' code strides its fill so that it writes whole
    columns instead of this pattern; this builds the intended one.)

    Given that the other M − 1 batch elements are drawn uniformly without replacement from the
    rest of the data, Σ_j W_ij q(z_i | x_j) is an unbiased estimate of q(z_i).
    """
    M, N = int(batch_size), int(dataset_size)
    if M < 2:
        raise ValueError(f"batch_size must be at least 2 for stratified sampling, got {M}")
    if N < M:
        raise ValueError(f"dataset_size ({N}) must be at least batch_size ({M})")
    dtype = dtype if dtype is not None else torch.get_default_dtype()
    log_w = torch.full((M, M), -math.log(M - 1), device=device, dtype=dtype)
    rows = torch.arange(M, device=device)
    log_w[rows, (rows + 1) % M] = math.log(N - M + 1) - math.log(N) - math.log(M - 1)
    log_w[rows, rows] = -math.log(N)
    return log_w


def log_qz_mws(
    z: Tensor,
    mu: Tensor,
    logvar: Tensor,
    dataset_size: int | None = None,
    *,
    paper_constant: bool = False,
) -> tuple[Tensor, Tensor]:
    """Minibatch-weighted sampling estimate of log q(z_i) and log q(z_{i,d}), in nats.

    z: (M, D) samples, z_i ~ q(z | x_i); mu, logvar: (M, D) posteriors of the same batch.
    Returns (log_qz (M,), log_qz_dims (M, D)) with
    log q(z_i) ≈ logsumexp_j log q(z_i | x_j) − log M: the batch is read as M uniform draws of the
    data. That is unbiased for q(z) when z is independent of the batch; with z_i drawn from a
    batch member it over-weights the own posterior (1/M instead of 1/N), which biases total
    correlation upwards for small batches; prefer :func:`log_qz_mss`.

    Chen et al. (2018) write − log(N·M) instead of − log M; the two differ by the constant log N,
    which leaves gradients unchanged but puts their log q(z) log N too low (their I(x; z) can then
    exceed log N). ``paper_constant=True`` reproduces their value and needs ``dataset_size``.
    """
    M = z.shape[0]
    pairwise = log_qz_pairwise(z, mu, logvar)
    log_norm = math.log(M)
    if paper_constant:
        if dataset_size is None or dataset_size < 1:
            raise ValueError("paper_constant=True needs a positive dataset_size")
        log_norm += math.log(dataset_size)
    log_weights = torch.full((M, M), -log_norm, dtype=pairwise.dtype, device=pairwise.device)
    return _marginals_from_pairwise(pairwise, log_weights)


def log_qz_mss(z: Tensor, mu: Tensor, logvar: Tensor, dataset_size: int) -> tuple[Tensor, Tensor]:
    """Minibatch-stratified sampling estimate of log q(z_i) and log q(z_{i,d}), in nats.

    z: (M, D) samples, z_i ~ q(z | x_i), with x_i the i-th element of a batch drawn without
    replacement from a dataset of ``dataset_size`` = N points; mu, logvar: (M, D) posteriors of
    the same batch. Returns (log_qz (M,), log_qz_dims (M, D)), each the logsumexp over the batch of
    the log posterior densities plus the weights of :func:`log_importance_weights_mss`.
    """
    pairwise = log_qz_pairwise(z, mu, logvar)
    log_weights = log_importance_weights_mss(
        z.shape[0], dataset_size, device=pairwise.device, dtype=pairwise.dtype
    )
    return _marginals_from_pairwise(pairwise, log_weights)


def log_qz_full(
    z: Tensor, mu_all: Tensor, logvar_all: Tensor, chunk_size: int = 128
) -> tuple[Tensor, Tensor]:
    """Full-data estimate log q(z_i) = logsumexp_n log q(z_i | x_n) − log N, and per dimension.

    z: (M, D) samples; mu_all, logvar_all: (N, D) posteriors of the whole dataset.
    Returns (log_qz (M,), log_qz_dims (M, D)) in nats. The N posteriors are visited in chunks of
    ``chunk_size`` and accumulated with a running logsumexp, so peak memory is about
    M · chunk_size · D elements rather than M · N · D.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    N = mu_all.shape[0]
    if N == 0:
        raise ValueError("log_qz_full needs at least one posterior")
    M, D = z.shape
    acc = z.new_full((M,), -math.inf)
    acc_dims = z.new_full((M, D), -math.inf)
    for start in range(0, N, chunk_size):
        stop = start + chunk_size
        pairwise = log_qz_pairwise(z, mu_all[start:stop], logvar_all[start:stop])
        acc = torch.logaddexp(acc, torch.logsumexp(pairwise.sum(-1), dim=1))
        acc_dims = torch.logaddexp(acc_dims, torch.logsumexp(pairwise, dim=1))
    log_n = math.log(N)
    return acc - log_n, acc_dims - log_n


def elbo_decomposition(
    z: Tensor,
    mu: Tensor,
    logvar: Tensor,
    *,
    estimator: str = "mss",
    dataset_size: int | None = None,
    mu_all: Tensor | None = None,
    logvar_all: Tensor | None = None,
    prior_mu: Tensor | float = 0.0,
    prior_logvar: Tensor | float = 0.0,
    chunk_size: int = 128,
) -> dict[str, Tensor | float]:
    """Split the average KL term of the ELBO into MI, total correlation and dimension-wise KL.

    z: (M, D), one sample z_i ~ q(z | x_i) per data point; mu, logvar: (M, D) its posteriors.
    The prior p(z) is the diagonal Gaussian N(prior_mu, exp(prior_logvar)) (default N(0, I)).
    estimator: "mss" or "mws" (the batch is all there is; ``dataset_size`` = N required) or
    "full" (log q(z) over ``mu_all``, ``logvar_all`` of shape (N, D), which should include
    the posteriors of z's own points).

    Returns, in nats (0-dim tensors unless noted; gradients flow):
    ``kl``: E_x KL(q(z|x) || p(z)) in closed form; ``kl_per_dim`` (D,): the same per dimension;
    ``kl_sample``: its sample estimate E[log q(z|x) − log p(z)];
    ``mi``: I(x; z) ≈ E[log q(z|x) − log q(z)]; ``kl_qz_pz``: KL(q(z) || p(z)) ≈ E[log q(z) −
    log p(z)]; ``tc``: E[log q(z) − Σ_d log q(z_d)]; ``dwkl``: E[Σ_d log q(z_d) − log p(z_d)];
    ``dwkl_per_dim`` (D,); ``mi_upper_bound`` (float): log N.
    By construction kl_sample = mi + kl_qz_pz and kl_qz_pz = tc + dwkl (up to rounding), and
    kl ≈ kl_sample up to Monte Carlo error.
    """
    if estimator == "full":
        if mu_all is None or logvar_all is None:
            raise ValueError('estimator="full" needs mu_all and logvar_all (N, D)')
        log_qz, log_qz_dims = log_qz_full(z, mu_all, logvar_all, chunk_size=chunk_size)
        n_data = mu_all.shape[0]
    elif estimator in ("mss", "mws"):
        if dataset_size is None:
            raise ValueError(f'estimator="{estimator}" needs dataset_size')
        if estimator == "mss":
            log_qz, log_qz_dims = log_qz_mss(z, mu, logvar, dataset_size)
        else:
            log_qz, log_qz_dims = log_qz_mws(z, mu, logvar, dataset_size)
        n_data = dataset_size
    else:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")

    log_qz_given_x = gaussian_log_density(z, mu, logvar).sum(-1)
    log_pz_dims = gaussian_log_density(z, prior_mu, prior_logvar)
    log_pz = log_pz_dims.sum(-1)
    sum_log_qz_dims = log_qz_dims.sum(-1)

    kl_per_dim = kl_diag_gaussians(mu, logvar, prior_mu, prior_logvar).mean(0)
    dwkl_per_dim = (log_qz_dims - log_pz_dims).mean(0)
    return {
        "kl": kl_per_dim.sum(),
        "kl_per_dim": kl_per_dim,
        "kl_sample": (log_qz_given_x - log_pz).mean(),
        "mi": (log_qz_given_x - log_qz).mean(),
        "kl_qz_pz": (log_qz - log_pz).mean(),
        "tc": (log_qz - sum_log_qz_dims).mean(),
        "dwkl": (sum_log_qz_dims - log_pz).mean(),
        "dwkl_per_dim": dwkl_per_dim,
        "mi_upper_bound": math.log(n_data),
    }


def discrete_mutual_information(probs: Tensor) -> Tensor:
    """Exact I(x; c) in nats for a categorical code with q(c | x_n) = probs[n], x uniform.

    probs: (..., N, K), rows normalised. I = H(E_x q(c|x)) − E_x H(q(c|x)), computed as the
    average KL(q(c|x_n) || q(c)) (no cancellation); 0 ≤ I ≤ min(log N, log K). Returns (...).
    """
    marginal = probs.mean(-2, keepdim=True)
    return kl_divergence(probs, marginal, dim=-1).mean(-1).clamp_min(0.0)


def discrete_kl_to_uniform(probs: Tensor) -> Tensor:
    """Mean over the N rows of KL(q(c | x_n) || Uniform(K)) in nats.

    probs: (..., N, K), rows normalised. Returns (...).
    """
    return kl_categorical_uniform_probs(probs, dim=-1).mean(-1)
