"""Datasets held as one in-memory uint8 image array, and the fast uint8 -> [0, 1] conversion."""

from __future__ import annotations

import numpy as np
import torch

from disentangled.errors import DataError

from . import grid
from .base import GroundTruthData


def unit_float(images: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """uint8 images (B, ...) -> float32 in [0, 1] on ``device``, exactly ``images.float() / 255``.

    On the CPU a numpy cast and in-place divide (single-threaded: a busy torch thread pool is many
    times slower on small batches); elsewhere the uint8 tensor moves first (4x fewer bytes).
    """
    if torch.device(device).type == "cpu":
        x = images.numpy().astype(np.float32)
        x /= np.float32(255.0)
        return torch.from_numpy(x)
    return images.to(device).float().div_(255.0)


class ArrayData(GroundTruthData):
    """Images uint8 (N, C, H, W) and factor indices (N, K) held in memory (K may be 0).

    ``grid=True`` says each row is a distinct combination of the factors (a full or partial
    grid), so ``images_for`` finds rows by their flat factor index. ``grid=False`` (labels that
    do not pick one image) makes ``images_for`` raise DataError with ``no_images_for``.
    """

    def __init__(
        self,
        *,
        name: str,
        images: np.ndarray,
        factors: np.ndarray,
        factor_names: tuple[str, ...],
        factor_sizes: tuple[int, ...],
        binary: bool = False,
        grid: bool = True,
        no_images_for: str = "",
    ) -> None:
        if images.dtype != np.uint8 or images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W): {images.dtype} {images.shape}")
        if factors.shape != (len(images), len(factor_sizes)):
            raise ValueError(f"factors {factors.shape} do not match {len(images)} images")
        self.name = name
        self.factor_names = tuple(factor_names)
        self.factor_sizes = tuple(int(s) for s in factor_sizes)
        self.image_shape = tuple(int(s) for s in images.shape[1:])  # type: ignore[assignment]
        self.binary = binary
        self.array = np.ascontiguousarray(images)
        self.factor_array = np.asarray(factors, dtype=np.int64)
        self.is_grid = grid
        self.no_images_for = no_images_for
        self._codes: np.ndarray | None = None
        self._order: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        """Bytes held for images and factors."""
        return self.array.nbytes + self.factor_array.nbytes

    def __len__(self) -> int:
        return int(self.array.shape[0])

    def images(self, index: torch.Tensor) -> torch.Tensor:
        """Index long (B,) -> uint8 (B, C, H, W)."""
        idx = index.to("cpu", torch.long).numpy()
        return torch.from_numpy(self.array.take(idx, axis=0))

    def batch(self, index: torch.Tensor, device: torch.device | str) -> torch.Tensor:
        """Index long (B,) -> float32 (B, C, H, W) in [0, 1] on ``device``."""
        return unit_float(self.images(index), device)

    def factors(self, index: torch.Tensor) -> torch.Tensor:
        """Index long (B,) -> factor indices long (B, K)."""
        idx = index.to("cpu", torch.long).numpy()
        return torch.from_numpy(self.factor_array.take(idx, axis=0))

    def rows_of(self, factors: np.ndarray) -> np.ndarray:
        """Factor indices (n, K) -> rows (n,) int64; ValueError for combinations not stored."""
        if not self.is_grid:
            raise DataError(f"{self.name}: {self.no_images_for}")
        flat = self.index_of(factors)
        if self._codes is None:
            self._codes = self.factor_array @ grid.strides(self.factor_sizes)
            self._order = np.argsort(self._codes, kind="stable")
        if not len(self):
            raise ValueError(f"{self.name}: factor combination not in the dataset")
        pos = np.searchsorted(self._codes, flat, sorter=self._order)
        rows = self._order[np.minimum(pos, len(self) - 1)]
        if not np.array_equal(self._codes[rows], flat):
            raise ValueError(f"{self.name}: factor combination not in the dataset")
        return rows

    def images_for(self, factors: np.ndarray) -> torch.Tensor:
        """Factor indices (n, K) -> uint8 (n, C, H, W) of the rows holding them."""
        return self.images(torch.from_numpy(self.rows_of(factors)))
