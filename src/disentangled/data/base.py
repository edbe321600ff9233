"""The ground-truth dataset interface shared by the training loop and the metrics, and subsets."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import numpy as np
import torch

from disentangled.errors import ConfigError

from . import grid

Rng = np.random.Generator | np.random.RandomState


class GroundTruthData(ABC):
    """Images plus integer ground-truth factor indices.

    Subclasses set the attributes below and implement ``__len__``, ``images`` and ``factors``.
    Images are uint8 (B, C, H, W) in 0..255 from ``images`` and float32 in [0, 1] from ``batch``;
    factors are long (B, K) indices into ``factor_sizes``.
    """

    name: str
    factor_names: tuple[str, ...]
    factor_sizes: tuple[int, ...]  # number of values of each factor
    image_shape: tuple[int, int, int]  # (C, H, W)
    binary: bool  # True when pixels are 0/1 (Bernoulli likelihood is natural)

    @abstractmethod
    def __len__(self) -> int:
        """Number of images N."""

    @abstractmethod
    def images(self, index: torch.Tensor) -> torch.Tensor:
        """Index long (B,) -> uint8 (B, C, H, W), values 0..255, on the CPU."""

    @abstractmethod
    def factors(self, index: torch.Tensor) -> torch.Tensor:
        """Index long (B,) -> factor indices long (B, K)."""

    @property
    def num_factors(self) -> int:
        """K, the number of ground-truth factors."""
        return len(self.factor_sizes)

    def batch(self, index: torch.Tensor, device: torch.device | str) -> torch.Tensor:
        """Index long (B,) -> float32 (B, C, H, W) in [0, 1] on ``device``."""
        return self.images(index).to(device).float().div_(255.0)

    def sample_factors(self, n: int, rng: Rng) -> np.ndarray:
        """Draw n uniform factor combinations from the full grid: (n, K) int64.

        One draw per factor, in factor order: ``rng.randint(size, size=n)`` for a RandomState (the
        exact disentanglement_lib stream; a size-1 factor consumes no randomness), ``rng.integers``
        for a Generator.
        """
        draw = rng.randint if isinstance(rng, np.random.RandomState) else rng.integers
        out = np.empty((n, self.num_factors), dtype=np.int64)
        for k, size in enumerate(self.factor_sizes):
            out[:, k] = draw(size, size=n)
        return out

    def index_of(self, factors: np.ndarray) -> np.ndarray:
        """Factor indices (n, K) -> flat mixed-radix index (n,) int64 (last factor fastest).

        This is the row of the combination in a full-grid dataset; raises ValueError when a factor
        index is out of range.
        """
        return grid.ravel(factors, self.factor_sizes)

    def images_for(self, factors: np.ndarray) -> torch.Tensor:
        """Factor indices (n, K) -> uint8 (n, C, H, W); ValueError if a combination is absent.

        The default assumes a full grid stored in mixed-radix order.
        """
        index = self.index_of(factors)
        if len(self) != math.prod(self.factor_sizes):
            raise NotImplementedError(f"{self.name}: images_for needs a full-grid dataset")
        return self.images(torch.from_numpy(index))

    def __repr__(self) -> str:
        sizes = dict(zip(self.factor_names, self.factor_sizes, strict=True))
        return f"{type(self).__name__}(name={self.name!r}, n={len(self)}, factors={sizes})"


def choose_subset(n_total: int, n: int, seed: int) -> np.ndarray:
    """A seeded random subset of ``n`` distinct indices of ``0..n_total-1``, sorted: (n,) int64."""
    if not 1 <= n <= n_total:
        raise ConfigError(f"subset must be between 1 and {n_total} (the dataset size), got {n}")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_total, size=n, replace=False)).astype(np.int64)


class Subset(GroundTruthData):
    """Rows ``indices`` of another dataset, still a GroundTruthData.

    ``images``/``batch``/``factors`` read the chosen rows. ``sample_factors``, ``index_of`` and
    ``images_for`` defer to the parent's full factor space (the metrics sample there), so
    ``images_for`` may return images that are not in the subset.
    """

    def __init__(self, base: GroundTruthData, indices: np.ndarray) -> None:
        self.base = base
        self.indices = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        self.name = base.name
        self.factor_names = base.factor_names
        self.factor_sizes = base.factor_sizes
        self.image_shape = base.image_shape
        self.binary = base.binary

    @classmethod
    def random(cls, base: GroundTruthData, n: int, seed: int = 0) -> Subset:
        """A seeded random subset of ``n`` rows of ``base`` (see :func:`choose_subset`)."""
        return cls(base, choose_subset(len(base), n, seed))

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def _parent(self, index: torch.Tensor) -> torch.Tensor:
        return self.indices.index_select(0, index.to("cpu", torch.long))

    def images(self, index: torch.Tensor) -> torch.Tensor:
        return self.base.images(self._parent(index))

    def batch(self, index: torch.Tensor, device: torch.device | str) -> torch.Tensor:
        return self.base.batch(self._parent(index), device)

    def factors(self, index: torch.Tensor) -> torch.Tensor:
        return self.base.factors(self._parent(index))

    def sample_factors(self, n: int, rng: Rng) -> np.ndarray:
        return self.base.sample_factors(n, rng)

    def index_of(self, factors: np.ndarray) -> np.ndarray:
        return self.base.index_of(factors)

    def images_for(self, factors: np.ndarray) -> torch.Tensor:
        return self.base.images_for(factors)


class VaryingFactors(GroundTruthData):
    """The same images seen through their varying factors only (a factor with one value dropped),
    as disentanglement_lib scores dSprites (5 factors: its constant colour is left out).

    ``sample_factors`` draws one value per varying factor in factor order — the same RandomState
    stream as the full dataset, since a one-value factor consumes no randomness — and
    ``images_for`` puts the constant factors back before asking the base dataset.
    """

    def __init__(self, base: GroundTruthData) -> None:
        self.base = base
        self.keep = [i for i, k in enumerate(base.factor_sizes) if k > 1]
        self.name = base.name
        self.factor_names = tuple(base.factor_names[i] for i in self.keep)
        self.factor_sizes = tuple(base.factor_sizes[i] for i in self.keep)
        self.image_shape = base.image_shape
        self.binary = base.binary

    def __len__(self) -> int:
        return len(self.base)

    def images(self, index: torch.Tensor) -> torch.Tensor:
        return self.base.images(index)

    def batch(self, index: torch.Tensor, device: torch.device | str) -> torch.Tensor:
        return self.base.batch(index, device)

    def factors(self, index: torch.Tensor) -> torch.Tensor:
        return self.base.factors(index)[:, self.keep]

    def _full(self, factors: np.ndarray) -> np.ndarray:
        f = np.asarray(factors, dtype=np.int64)
        full = np.zeros((f.shape[0], len(self.base.factor_sizes)), dtype=np.int64)
        full[:, self.keep] = f
        return full

    def index_of(self, factors: np.ndarray) -> np.ndarray:
        return self.base.index_of(self._full(factors))

    def images_for(self, factors: np.ndarray) -> torch.Tensor:
        return self.base.images_for(self._full(factors))


def varying_factors(dataset: GroundTruthData) -> GroundTruthData:
    """``dataset`` itself when every factor varies, else its :class:`VaryingFactors` view."""
    if all(k > 1 for k in dataset.factor_sizes):
        return dataset
    return VaryingFactors(dataset)
