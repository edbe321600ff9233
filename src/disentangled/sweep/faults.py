"""Fault injection for testing fault tolerance: a dataset wrapper that, at a chosen training
batch, kills its own process (once per trial, remembered by a marker file) or returns NaN pixels
(the loop then raises TrainingDiverged). Batches are counted from the start of each attempt."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import torch

from ..data import GroundTruthData
from .spec import FaultSpec


class FaultyData(GroundTruthData):
    """``base`` with the faults of ``fault`` injected into ``batch``; everything else delegated."""

    def __init__(self, base: GroundTruthData, fault: FaultSpec, kill_marker: Path) -> None:
        self.base = base
        self.fault = fault
        self.kill_marker = Path(kill_marker)
        self.batches = 0
        self.name = base.name
        self.factor_names = base.factor_names
        self.factor_sizes = base.factor_sizes
        self.image_shape = base.image_shape
        self.binary = base.binary

    def __getattr__(self, name: str):
        if name == "base":  # not set yet (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.base, name)

    def __len__(self) -> int:
        return len(self.base)

    def images(self, index: torch.Tensor) -> torch.Tensor:
        return self.base.images(index)

    def factors(self, index: torch.Tensor) -> torch.Tensor:
        return self.base.factors(index)

    def sample_factors(self, n, rng):
        return self.base.sample_factors(n, rng)

    def index_of(self, factors):
        return self.base.index_of(factors)

    def images_for(self, factors):
        return self.base.images_for(factors)

    def batch(self, index: torch.Tensor, device: torch.device | str) -> torch.Tensor:
        """The base batch (B, C, H, W); the faults fire on the configured 1-based batch."""
        self.batches += 1
        if self.fault.kill_at_batch == self.batches and _claim(self.kill_marker):
            os.kill(os.getpid(), signal.SIGKILL)
        x = self.base.batch(index, device)
        if self.fault.nan_at_batch == self.batches:
            x = torch.full_like(x, float("nan"))
        return x


def _claim(marker: Path) -> bool:
    """Create ``marker`` if absent (atomically); True when this call created it."""
    marker.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    os.fsync(fd)
    os.close(fd)
    return True


def inject(
    dataset: GroundTruthData, faults: tuple[FaultSpec, ...], trial_id: str, markers: Path
) -> GroundTruthData:
    """The dataset with the first fault whose ``trials`` is part of the trial id (unchanged when
    none matches)."""
    fault = next((f for f in faults if f.trials in trial_id), None)
    if fault is None:
        return dataset
    return FaultyData(dataset, fault, markers / f"{trial_id}.killed")
