"""Mixed-radix arithmetic between factor indices and flat indices of a full factor grid.

The flat index of factors ``(f_0, ..., f_{K-1})`` is the mixed-radix number with digit ``f_k`` in
base ``sizes[k]``, the last factor varying fastest (the dSprites / disentanglement_lib order).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def strides(sizes: Sequence[int]) -> np.ndarray:
    """Place values of each factor: ``strides[k] = prod(sizes[k+1:])``, shape (K,) int64."""
    sizes_arr = np.asarray(sizes, dtype=np.int64)
    out = np.ones_like(sizes_arr)
    out[:-1] = np.cumprod(sizes_arr[::-1])[::-1][1:]
    return out


def check_factors(factors: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """Validate factor indices (n, K) against the grid; return them as int64 (n, K).

    Raises ValueError naming the first factor with an index outside ``0..size-1``.
    """
    arr = np.asarray(factors)
    if arr.ndim != 2 or arr.shape[1] != len(sizes):
        raise ValueError(f"factors must have shape (n, {len(sizes)}), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer) and not np.array_equal(arr, np.round(arr)):
        raise ValueError("factors must be integer indices")
    arr = arr.astype(np.int64, copy=False)
    bad = (arr < 0) | (arr >= np.asarray(sizes, dtype=np.int64))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"factor combination not in the dataset: factor {col} index {arr[row, col]} "
            f"outside 0..{sizes[col] - 1} (row {row})"
        )
    return arr


def ravel(factors: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """Factor indices (n, K) -> flat indices (n,) int64; validates the ranges."""
    arr = check_factors(factors, sizes)
    return arr @ strides(sizes)


def unravel(index: torch.Tensor, sizes: Sequence[int]) -> torch.Tensor:
    """Flat indices long (B,) -> factor indices long (B, K), on the index's device."""
    index = index.to(torch.long)
    st = torch.as_tensor(strides(sizes), device=index.device)
    sz = torch.as_tensor(np.asarray(sizes, dtype=np.int64), device=index.device)
    return torch.div(index.unsqueeze(-1), st, rounding_mode="floor") % sz


def unravel_np(index: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """Flat indices (n,) -> factor indices (n, K) int64 (numpy twin of :func:`unravel`)."""
    index = np.asarray(index, dtype=np.int64)
    return (index[:, None] // strides(sizes)) % np.asarray(sizes, dtype=np.int64)
