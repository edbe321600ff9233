"""Entropy, cross-entropy, KL and mutual information of discrete distributions, in nats.

Conventions shared by every function here:

- A distribution is a table of probabilities along ``dim`` (the last dimension by default); all
  other dimensions are batch dimensions and survive in the result.
- ``0 · log 0 = 0``: zero-probability outcomes contribute nothing and never produce NaN.
- ``KL(p || q) = +inf`` when some outcome has ``p > 0`` and ``q = 0``; likewise for the
  cross-entropy.
- Log-space variants accept ``-inf`` entries (zero probability) in ``log_p`` / ``log_q``.
- Tables passed to :func:`entropy`, :func:`cross_entropy` and :func:`kl_divergence` are used as
  given (they are expected to sum to one along ``dim``); the joint-table functions
  (:func:`mutual_information`, :func:`conditional_entropy`, :func:`joint_entropy`) normalise
  their input, so a table of counts is accepted there.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "conditional_entropy",
    "cross_entropy",
    "entropy",
    "entropy_from_logits",
    "entropy_log",
    "joint_entropy",
    "kl_categorical_uniform",
    "kl_categorical_uniform_probs",
    "kl_divergence",
    "kl_divergence_log",
    "mutual_information",
]


def _safe_log(p: Tensor) -> Tensor:
    """log p where p > 0, and 0 elsewhere (the value is always multiplied by p = 0 there)."""
    positive = p > 0
    return torch.where(positive, torch.log(torch.where(positive, p, torch.ones_like(p))), 0.0)


def entropy(p: Tensor, dim: int = -1) -> Tensor:
    """Shannon entropy H(p) = -Σ p log p in nats.

    p: probabilities, any shape, normalised along ``dim``. Returns p's shape without ``dim``.
    """
    return -(p * _safe_log(p)).sum(dim)


def entropy_log(log_p: Tensor, dim: int = -1) -> Tensor:
    """Entropy in nats from log-probabilities; ``-inf`` entries (p = 0) contribute 0.

    log_p: log-probabilities, normalised along ``dim``. Returns log_p's shape without ``dim``.
    """
    finite = log_p > -math.inf
    safe = torch.where(finite, log_p, 0.0)
    return -torch.where(finite, torch.exp(safe) * safe, 0.0).sum(dim)


def entropy_from_logits(logits: Tensor, dim: int = -1) -> Tensor:
    """Entropy H(softmax(logits)) in nats, computed in log-space (stable for large logits).

    logits: unnormalised log-probabilities, ``-inf`` allowed (but not all ``-inf`` along ``dim``).
    Returns logits' shape without ``dim``.
    """
    return entropy_log(torch.log_softmax(logits, dim=dim), dim=dim)


def cross_entropy(p: Tensor, q: Tensor, dim: int = -1) -> Tensor:
    """Cross-entropy H(p, q) = -Σ p log q in nats; +inf where p > 0 and q = 0.

    p, q: probabilities normalised along ``dim`` (broadcastable). Returns the broadcast shape
    without ``dim``.
    """
    p, q = torch.broadcast_tensors(p, q)
    positive = p > 0
    log_q = torch.where(positive, torch.log(torch.where(positive, q, torch.ones_like(q))), 0.0)
    return -(p * log_q).sum(dim)


def kl_divergence(p: Tensor, q: Tensor, dim: int = -1) -> Tensor:
    """KL(p || q) = Σ p (log p - log q) in nats; +inf where p > 0 and q = 0.

    p, q: probabilities normalised along ``dim`` (broadcastable). Returns the broadcast shape
    without ``dim``. Each term is formed as p·(log p − log q), which avoids the cancellation of
    computing H(p, q) − H(p).
    """
    p, q = torch.broadcast_tensors(p, q)
    positive = p > 0
    ones = torch.ones_like(p)
    log_p = torch.log(torch.where(positive, p, ones))
    log_q = torch.log(torch.where(positive, q, ones))
    return torch.where(positive, p * (log_p - log_q), 0.0).sum(dim)


def kl_divergence_log(log_p: Tensor, log_q: Tensor, dim: int = -1) -> Tensor:
    """KL(p || q) in nats from log-probabilities (``-inf`` allowed in either argument).

    log_p, log_q: log-probabilities normalised along ``dim`` (broadcastable). Returns the
    broadcast shape without ``dim``; +inf where log_p is finite and log_q = -inf.
    """
    log_p, log_q = torch.broadcast_tensors(log_p, log_q)
    finite = log_p > -math.inf
    safe_p = torch.where(finite, log_p, 0.0)
    safe_q = torch.where(finite, log_q, 0.0)
    return torch.where(finite, torch.exp(safe_p) * (safe_p - safe_q), 0.0).sum(dim)


def kl_categorical_uniform(logits: Tensor, dim: int = -1) -> Tensor:
    """KL(Cat(α) || Uniform(K)) = log K − H(α) in nats, with α = softmax(logits).

    As in JointVAE, the KL is taken on the categorical probabilities α (not on a relaxed
    Gumbel-softmax sample); it is computed in log-space, without an epsilon.
    logits: (..., K) along ``dim``. Returns logits' shape without ``dim``, each value in [0, log K].
    """
    log_alpha = torch.log_softmax(logits, dim=dim)
    k = logits.shape[dim]
    return kl_divergence_log(log_alpha, torch.full_like(log_alpha, -math.log(k)), dim=dim)


def kl_categorical_uniform_probs(probs: Tensor, dim: int = -1) -> Tensor:
    """KL(Cat(probs) || Uniform(K)) = log K − H(probs) in nats.

    probs: (..., K) along ``dim``, normalised. Returns probs' shape without ``dim``.
    """
    k = probs.shape[dim]
    return kl_divergence(probs, torch.full_like(probs, 1.0 / k), dim=dim)


def _normalise_joint(joint: Tensor) -> Tensor:
    """Divide a nonnegative (..., X, Y) table by its total over the last two dims."""
    if joint.dim() < 2:
        raise ValueError(f"a joint table needs at least 2 dims (..., X, Y), got {joint.dim()}")
    return joint / joint.sum(dim=(-2, -1), keepdim=True)


def joint_entropy(joint: Tensor) -> Tensor:
    """Joint entropy H(X, Y) in nats of a table (..., X, Y).

    joint: nonnegative, normalised internally over the last two dims (counts are fine).
    Returns shape (...).
    """
    p = _normalise_joint(joint)
    return entropy(p.flatten(-2), dim=-1)


def conditional_entropy(joint: Tensor) -> Tensor:
    """Conditional entropy H(Y | X) = -Σ p(x, y) log p(y | x) in nats, of a table (..., X, Y).

    joint: nonnegative, normalised internally over the last two dims. Rows with p(x) = 0 are
    ignored. Returns shape (...).
    """
    p = _normalise_joint(joint)
    p_x = p.sum(-1, keepdim=True)
    p_y_given_x = p / torch.where(p_x > 0, p_x, torch.ones_like(p_x))
    return -(p * _safe_log(p_y_given_x)).sum(dim=(-2, -1))


def mutual_information(joint: Tensor) -> Tensor:
    """Mutual information I(X; Y) = KL(p(x, y) || p(x) p(y)) in nats, of a table (..., X, Y).

    joint: nonnegative, normalised internally over the last two dims (counts are fine).
    Computed directly as a KL, so it does not suffer the cancellation of H(X) + H(Y) − H(X, Y);
    rounding below zero is clipped to 0. Returns shape (...).
    """
    p = _normalise_joint(joint)
    product = p.sum(-1, keepdim=True) * p.sum(-2, keepdim=True)
    return kl_divergence(p.flatten(-2), product.flatten(-2), dim=-1).clamp_min(0.0)
