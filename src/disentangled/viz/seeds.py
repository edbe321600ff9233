"""The images every picture of a dataset is drawn from, chosen by one fixed seed.

Two runs on the same dataset show the same seed images and fit traversal ranges on the same sample,
so their pictures can be compared side by side.
"""

from __future__ import annotations

import torch

FIGURE_SEED = 20170401


def fixed_indices(n_items: int, n: int, *, replace: bool = True) -> torch.Tensor:
    """n indices into a dataset of ``n_items`` drawn from a generator seeded with FIGURE_SEED.

    With ``replace=False`` the indices are distinct (and at most ``n_items`` of them).
    """
    g = torch.Generator().manual_seed(FIGURE_SEED)
    if replace:
        return torch.randint(n_items, (n,), generator=g)
    return torch.randperm(n_items, generator=g)[: min(n, n_items)]


def fixed_images(dataset, n: int, device: torch.device | str) -> torch.Tensor:
    """n images (n,C,H,W) in [0,1] chosen by the fixed seed, on ``device``."""
    return dataset.batch(fixed_indices(len(dataset), n), device)


def data_sample(dataset, n: int, device: torch.device | str) -> torch.Tensor:
    """Up to n distinct images (n,C,H,W) in [0,1], for statistics of the code over the data."""
    return dataset.batch(fixed_indices(len(dataset), n, replace=False), device)
