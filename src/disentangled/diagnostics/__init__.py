"""Information diagnostics of a (training or trained) VAE: I(x;z), KL(q(z)||p(z)), TC, capacity."""

from .estimate import (
    dataset_batches,
    encode_posteriors,
    information_estimates,
    reconstruction_at_mode,
)
from .monitor import CapacityMonitor

__all__ = [
    "CapacityMonitor",
    "dataset_batches",
    "encode_posteriors",
    "information_estimates",
    "reconstruction_at_mode",
]
