"""Concrete / Gumbel-softmax relaxation of a K-way categorical (Maddison et al.; Jang et al.)."""

from __future__ import annotations

import torch

from ..info import kl_categorical_uniform


class Concrete:
    """A K-way categorical read from K encoder logits.

    Training draws the relaxed sample softmax((logits + g) / temperature), g ~ Gumbel(0, 1);
    evaluation uses the one-hot argmax. The KL to the uniform prior is log K - H(alpha),
    computed on the probabilities alpha = softmax(logits), as in JointVAE.
    """

    def __init__(self, k: int, temperature: float = 0.67) -> None:
        if k < 2:
            raise ValueError(f"a categorical needs K >= 2 values, got {k}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.k = k
        self.temperature = temperature

    @property
    def num_params(self) -> int:
        return self.k

    def sample(
        self, logits: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Relaxed one-hot sample, (B, K)."""
        u = torch.rand(logits.shape, generator=generator, device=logits.device, dtype=logits.dtype)
        tiny = torch.finfo(logits.dtype).tiny
        gumbel = -torch.log((-torch.log(u.clamp_min(tiny))).clamp_min(tiny))
        return torch.softmax((logits + gumbel) / self.temperature, dim=-1)

    def mode(self, logits: torch.Tensor) -> torch.Tensor:
        """One-hot of the argmax, (B, K)."""
        return torch.nn.functional.one_hot(logits.argmax(-1), self.k).to(logits.dtype)

    @staticmethod
    def kl(logits: torch.Tensor) -> torch.Tensor:
        """KL(q(c|x) || Uniform(K)) per sample, (B,), nats."""
        return kl_categorical_uniform(logits)
