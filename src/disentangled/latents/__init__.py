"""Latent distributions: diagonal Gaussian, Concrete / Gumbel-softmax categorical, joint codes."""

from .categorical import Concrete
from .gaussian import DiagonalGaussian
from .joint import JointLatent, LatentSample

__all__ = ["Concrete", "DiagonalGaussian", "JointLatent", "LatentSample"]
