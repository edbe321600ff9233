"""A binary ground-truth dataset held as packed bits (1 bit per pixel) with grid-addressed rows."""

from __future__ import annotations

import math

import numpy as np
import torch

from . import bits, grid
from .base import GroundTruthData


class PackedBinaryData(GroundTruthData):
    """Binary images stored as packed bits, rows addressed by their flat grid index.

    ``packed`` is uint8 (N, ceil(C*H*W/8)) on the CPU. ``codes`` (N,) int64 holds the mixed-radix
    flat index of each row's factors; ``None`` means row i *is* flat index i (official order),
    so factors cost no memory. ``batch`` moves the packed rows to the device and unpacks there.
    """

    binary = True

    def __init__(
        self,
        *,
        name: str,
        factor_names: tuple[str, ...],
        factor_sizes: tuple[int, ...],
        image_shape: tuple[int, int, int],
        packed: torch.Tensor,
        codes: np.ndarray | None = None,
    ) -> None:
        self.name = name
        self.factor_names = tuple(factor_names)
        self.factor_sizes = tuple(int(s) for s in factor_sizes)
        self.image_shape = tuple(image_shape)  # type: ignore[assignment]
        self.num_pixels = math.prod(image_shape)
        if packed.dtype != torch.uint8 or packed.ndim != 2:
            raise ValueError(f"packed must be uint8 (N, bytes), got {packed.dtype} {packed.shape}")
        if packed.shape[1] != (self.num_pixels + 7) // 8:
            raise ValueError(f"packed rows of {packed.shape[1]} bytes for {self.num_pixels} pixels")
        self.packed = packed
        if codes is not None and np.array_equal(codes, np.arange(len(codes))):
            codes = None  # rows already in mixed-radix order
        self.codes = codes
        self._order = None if codes is None else np.argsort(codes, kind="stable")

    @property
    def nbytes(self) -> int:
        """Bytes held for images and factor codes."""
        extra = 0 if self.codes is None else self.codes.nbytes + self._order.nbytes
        return self.packed.numel() + extra

    def __len__(self) -> int:
        return int(self.packed.shape[0])

    def _unpacked(
        self, index: torch.Tensor, device: torch.device | str, dtype: torch.dtype, on: int
    ) -> torch.Tensor:
        # numpy gather: single-threaded, so small batches never wait on a busy thread pool
        idx = index.to("cpu", torch.long).numpy()
        rows = torch.from_numpy(self.packed.numpy().take(idx, axis=0)).to(device)
        return bits.unpack(rows, self.num_pixels, dtype, on).reshape(-1, *self.image_shape)

    def images(self, index: torch.Tensor) -> torch.Tensor:
        """Index long (B,) -> uint8 (B, C, H, W) with values 0 or 255."""
        return self._unpacked(index, "cpu", torch.uint8, 255)

    def batch(self, index: torch.Tensor, device: torch.device | str) -> torch.Tensor:
        """Index long (B,) -> float32 (B, C, H, W) in {0, 1}, unpacked on ``device``."""
        return self._unpacked(index, device, torch.float32, 1)

    def factors(self, index: torch.Tensor) -> torch.Tensor:
        """Index long (B,) -> factor indices long (B, K) (CPU)."""
        index = index.to("cpu", torch.long)
        flat = index if self.codes is None else torch.from_numpy(self.codes[index.numpy()])
        return grid.unravel(flat, self.factor_sizes)

    def rows_of(self, factors: np.ndarray) -> np.ndarray:
        """Factor indices (n, K) -> rows (n,) int64; ValueError for combinations not stored."""
        flat = self.index_of(factors)
        if self.codes is None:
            if flat.size and flat.max() >= len(self):
                raise ValueError(f"{self.name}: factor combination not in the dataset")
            return flat
        pos = np.searchsorted(self.codes, flat, sorter=self._order)
        pos = np.minimum(pos, len(self) - 1)
        rows = self._order[pos]
        if not np.array_equal(self.codes[rows], flat):
            raise ValueError(f"{self.name}: factor combination not in the dataset")
        return rows

    def images_for(self, factors: np.ndarray) -> torch.Tensor:
        """Factor indices (n, K) -> uint8 (n, C, H, W); ValueError if a combination is absent."""
        return self.images(torch.from_numpy(self.rows_of(factors)))
