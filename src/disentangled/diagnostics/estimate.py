"""Estimate the information quantities of a VAE's code on a set of images.

With the images {x_n}, n = 1..N, taken as the data distribution (uniform), the aggregate posterior
q(z) = (1/N) sum_n q(z|x_n) is evaluated exactly by the full-data estimator (a logsumexp over all N
posteriors, chunked), at one sample z_i ~ q(z|x_i) per image (or a subsample of them). Identities:

    E_x KL(q(z|x) || p(z)) = I(x;z) + KL(q(z) || p(z)),
    KL(q(z) || p(z)) = TC + sum_j KL(q(z_j) || p(z_j)),

and I(x;z) <= log N: an estimate on N images can never exceed log N nats.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from ..info import discrete_kl_to_uniform, discrete_mutual_information, elbo_decomposition
from ..objectives.recon import reconstruction


@dataclass
class Posteriors:
    """Posteriors of N images: mu, logvar (N, cont); probs, one (N, K_i) per categorical."""

    mu: torch.Tensor
    logvar: torch.Tensor
    probs: list[torch.Tensor]


@torch.no_grad()
def encode_posteriors(model, batches: Iterable[torch.Tensor]) -> Posteriors:
    """Encode image batches (each (B,C,H,W) in [0,1] on the model's device); float32 results."""
    mus, logvars, probs = [], [], []
    for x in batches:
        post = model.posterior(x)
        mus.append(post.mu.float())
        logvars.append(post.logvar.float())
        probs.append([lg.float().softmax(-1) for lg in post.logits])
    return Posteriors(
        mu=torch.cat(mus),
        logvar=torch.cat(logvars),
        probs=[torch.cat(p) for p in zip(*probs, strict=True)],
    )


@torch.no_grad()
def reconstruction_at_mode(model, batches: Iterable[torch.Tensor], recon: str) -> float:
    """The reconstruction term ``recon`` (nats per image for ``bernoulli``) of the decoder at the
    posterior mode (Gaussian means, argmax one-hots), averaged over the images of ``batches``
    (each (B,C,H,W) in [0,1] on the model's device): the objective's data term without the
    sampling noise."""
    total, n = 0.0, 0
    for x in batches:
        total += float(reconstruction(recon, model.decode(model.encode(x)), x)) * x.shape[0]
        n += x.shape[0]
    return total / n


def dataset_batches(dataset, index: torch.Tensor, device, batch_size: int = 512):
    """Yield ``dataset.batch`` of consecutive chunks of ``index``."""
    for a in range(0, index.numel(), batch_size):
        yield dataset.batch(index[a : a + batch_size], device)


@torch.no_grad()
def information_estimates(
    post: Posteriors,
    *,
    generator: torch.Generator | None = None,
    samples: int | None = None,
    chunk_size: int = 256,
) -> dict[str, float | list[float]]:
    """Full-data estimates (nats) on the N encoded images.

    Returns ``kl_post`` = E_x KL(q(z|x)||p(z)) (closed form), ``mi`` = I(x;z), ``kl_qz_pz``,
    ``tc``, ``dwkl``, ``kl_post_dims`` and ``dwkl_dims`` (per dimension), ``active_units``
    (dimensions whose posterior mean varies over the data: Var_x E[z_j|x] > 0.01, Burda et al.),
    ``mi_ceiling`` = log N, and per categorical i: ``mi_disc_i`` = I(x;c_i) exact,
    ``kl_disc_i`` = E_x KL(q(c_i|x) || uniform). ``samples`` limits how many z are drawn
    (a random subset of the N images; all of them by default).
    """
    n = post.mu.shape[0]
    out: dict[str, float | list[float]] = {"mi_ceiling": math.log(n), "n_images": n}
    if post.mu.shape[1]:
        idx = torch.arange(n, device=post.mu.device)
        if samples is not None and samples < n:
            idx = torch.randperm(n, generator=generator, device="cpu")[:samples].to(post.mu.device)
        mu, logvar = post.mu[idx], post.logvar[idx]
        eps = torch.randn(mu.shape, generator=generator, device="cpu").to(mu.device)
        z = mu + (0.5 * logvar).exp() * eps
        dec = elbo_decomposition(
            z,
            mu,
            logvar,
            estimator="full",
            mu_all=post.mu,
            logvar_all=post.logvar,
            chunk_size=chunk_size,
        )
        out.update(
            kl_post=float(dec["kl"]),
            mi=float(dec["mi"]),
            kl_qz_pz=float(dec["kl_qz_pz"]),
            tc=float(dec["tc"]),
            dwkl=float(dec["dwkl"]),
            kl_post_dims=[float(v) for v in dec["kl_per_dim"]],
            dwkl_dims=[float(v) for v in dec["dwkl_per_dim"]],
            active_units=int((post.mu.var(0) > 0.01).sum()),
        )
    for i, p in enumerate(post.probs):
        out[f"mi_disc_{i}"] = float(discrete_mutual_information(p))
        out[f"kl_disc_{i}"] = float(discrete_kl_to_uniform(p))
    return out
