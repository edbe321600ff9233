"""The seeded sampling stage: draw factors as the reference does; encode each image once, batched.

Two small interfaces are all it needs:

- an *encoder*: ``encode(images) -> codes``, images a float32 tensor (B, C, H, W) in [0, 1] on the
  chosen device, codes a tensor (B, D) (pass a model's deterministic encoder, e.g. the mean);
- a *dataset* with ``factor_sizes`` (K,), ``sample_factors(n, rng) -> (n, K) int64`` (with a
  ``numpy.random.RandomState`` it draws like disentanglement_lib: one ``randint`` per factor, in
  factor order) and ``images_for(factors) -> uint8 (n, C, H, W)`` in 0..255.

The reference encodes every drawn observation, batch by batch (about 3 M images for the default
suite). A finite dataset has far fewer distinct images, and a deterministic encoder maps an image
to the same code each time, so :class:`CodeCache` encodes each distinct factor row once, in large
batches, and gathers. The draws themselves still follow the reference's order and batch structure
in ``compat`` mode.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from ._checks import MetricInputError

Encoder = Callable[[torch.Tensor], torch.Tensor]
DEFAULT_ENCODE_BATCH = 512  # on accelerators
# On CPUs small batches keep a conv encoder's activations in cache: the Burgess encoder ran at
# 9,000-14,000 images/s with batches of 32 or 64 and 3,200-4,500 with 512 on a 2-core EPYC
# (idle, one or two threads; see docs/metrics.md).
CPU_ENCODE_BATCH = 32


def default_encode_batch(device: str | torch.device | None) -> int:
    """Images per encoder call: small on a CPU, large on an accelerator."""
    kind = torch.device(device).type if device is not None else "cpu"
    return CPU_ENCODE_BATCH if kind == "cpu" else DEFAULT_ENCODE_BATCH


@runtime_checkable
class GroundTruthDataset(Protocol):
    """What the sampling stage needs from a dataset (see the module docstring)."""

    factor_sizes: Sequence[int]

    def sample_factors(self, n: int, rng: np.random.RandomState) -> np.ndarray: ...

    def images_for(self, factors: np.ndarray) -> np.ndarray | torch.Tensor: ...


def check_dataset(dataset: object, min_factors: int = 1, metric: str = "") -> list[int]:
    """Return the dataset's factor sizes, or raise a clear error if it cannot serve a metric."""
    for attr in ("factor_sizes", "sample_factors", "images_for"):
        if not hasattr(dataset, attr):
            raise MetricInputError(
                f"the dataset has no {attr!r}; metrics need a ground-truth dataset with "
                "factor_sizes, sample_factors(n, rng) and images_for(factors)"
            )
    sizes = [int(s) for s in dataset.factor_sizes]
    where = f"{metric} " if metric else ""
    if len(sizes) < min_factors:
        raise MetricInputError(
            f"{where}needs at least {min_factors} ground-truth factor(s); the dataset has "
            f"{len(sizes)}"
        )
    return sizes


class CodeCache:
    """Codes of dataset images, each distinct factor row encoded once.

    ``rows_for(factors (n, K)) -> (n,)`` gives each factor row's row in :attr:`table` (D
    columns), encoding the rows not seen before in batches of ``batch_size`` images (in
    ascending flat grid index); ``codes_for(factors) -> (n, D)`` gathers them. Grids of at most
    ``DENSE_GRID`` rows (dSprites: 737,280) keep a dense index from flat grid index to table
    row, so a lookup is one gather with no sort; larger grids keep the seen keys sorted and
    search them. Counters ``requested`` and ``encoded`` say how many rows were asked for and
    how many images were actually encoded.
    """

    DENSE_GRID = 1 << 23  # int32 index of 32 MiB at most

    def __init__(
        self,
        encode: Encoder,
        dataset: GroundTruthDataset,
        *,
        batch_size: int | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.encode = encode
        self.dataset = dataset
        self.sizes = check_dataset(dataset)
        self.batch_size = int(batch_size or default_encode_batch(device))
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        grid = int(np.prod(self.sizes, dtype=np.float64))
        self._slot = np.full(grid, -1, dtype=np.int32) if grid <= self.DENSE_GRID else None
        self._keys = np.zeros(0, dtype=np.int64)  # sorted keys seen (large grids)
        self._rows = np.zeros(0, dtype=np.int64)  # their table rows
        self._store: np.ndarray | None = None  # table rows, with spare capacity
        self._size = 0
        self.requested = 0
        self.encoded = 0

    @property
    def table(self) -> np.ndarray:
        """Codes (rows encoded so far, D), in the order they were encoded."""
        if self._store is None:
            return np.zeros((0, 0))
        return self._store[: self._size]

    def _reserve(self, rows: int, width: int, dtype: np.dtype) -> None:
        """Room in the table for ``rows`` more codes of ``width`` values (doubling capacity)."""
        end = self._size + rows
        if self._store is None or end > self._store.shape[0]:
            kind = dtype if self._store is None else self._store.dtype
            grown = np.empty((max(end, 2 * self._size), width), dtype=kind)
            if self._store is not None:
                grown[: self._size] = self._store[: self._size]
            self._store = grown

    def _append(self, keys: np.ndarray) -> np.ndarray:
        """Encode the grid rows with flat indices ``keys`` (ascending, distinct) straight into
        the table, in batches of ``batch_size`` images; returns their table rows."""
        factors = np.stack(np.unravel_index(keys, self.sizes), axis=1).astype(np.int64)
        n, at = factors.shape[0], self._size
        with torch.inference_mode():
            for start in range(0, n, self.batch_size):
                images = torch.as_tensor(
                    self.dataset.images_for(factors[start : start + self.batch_size])
                )
                x = images.to(self.device, dtype=torch.float32) / 255.0
                z = self.encode(x)
                z = z.detach().reshape(z.shape[0], -1).cpu().numpy()
                if start == 0:
                    self._reserve(n, z.shape[1], z.dtype)
                self._store[at + start : at + start + z.shape[0]] = z
        self.encoded += n
        self._size = at + n
        return np.arange(at, at + n)

    def _rows_dense(self, keys: np.ndarray) -> np.ndarray:
        slot = self._slot[keys]
        absent = slot < 0
        if absent.any():
            wanted = np.zeros(self._slot.size, dtype=bool)
            wanted[keys[absent]] = True
            missing = np.flatnonzero(wanted)  # distinct and ascending, without a sort
            self._slot[missing] = self._append(missing)
            slot = self._slot[keys]
        return slot

    def _rows_sorted(self, keys: np.ndarray) -> np.ndarray:
        uniq, inverse = np.unique(keys, return_inverse=True)
        pos = np.searchsorted(self._keys, uniq)
        found = pos < self._keys.size
        found[found] = self._keys[pos[found]] == uniq[found]
        missing = uniq[~found]
        if missing.size:
            keys_all = np.concatenate([self._keys, missing])
            rows_all = np.concatenate([self._rows, self._append(missing)])
            order = np.argsort(keys_all, kind="stable")
            self._keys, self._rows = keys_all[order], rows_all[order]
            pos = np.searchsorted(self._keys, uniq)
        return self._rows[pos][inverse.reshape(-1)]

    def rows_for(self, factors: np.ndarray) -> np.ndarray:
        """Rows (n,) of :attr:`table` holding the codes of factor rows (n, K)."""
        factors = np.asarray(factors, dtype=np.int64)
        keys = np.ravel_multi_index(tuple(factors.T), self.sizes)
        self.requested += keys.size
        if self._slot is not None:
            return self._rows_dense(keys)
        return self._rows_sorted(keys)

    def codes_for(self, factors: np.ndarray) -> np.ndarray:
        """Codes (n, D) for factor rows (n, K)."""
        rows = self.rows_for(factors)  # may encode, so before reading the table
        return self.table[rows]


def reduce_batches(
    table: np.ndarray, fn: Callable[..., np.ndarray], *rows: np.ndarray, chunk: int = 256
) -> np.ndarray:
    """``fn(table[rows_1[p]], table[rows_2[p]], ...)`` for batches of points p, concatenated.

    rows_i (P, B) index ``table`` (rows, D); ``fn`` maps code batches (p, B, D) to (p, ...).
    Chunks of ``chunk`` points keep the gathered codes in cache instead of materialising
    (P, B, D) arrays; ``fn`` must treat points independently (the result does not depend on
    the chunking).
    """
    parts = [
        fn(*(table[r[start : start + chunk]] for r in rows))
        for start in range(0, rows[0].shape[0], chunk)
    ]
    return np.concatenate(parts, axis=0)


def draw_factors(
    dataset: GroundTruthDataset,
    n: int,
    rng: np.random.RandomState,
    *,
    batch_size: int = 16,
) -> np.ndarray:
    """Draw n factor rows (n, K) with ``sample_factors`` calls of ``batch_size`` rows, as the
    reference's batched sampler does (this fixes which points a seed gives, in both modes;
    the calls only draw integers, so chunking costs nothing measurable)."""
    chunks = [
        dataset.sample_factors(min(batch_size, n - start), rng) for start in range(0, n, batch_size)
    ]
    return np.concatenate(chunks, axis=0).astype(np.int64)


def sample_codes(
    cache: CodeCache,
    n: int,
    rng: np.random.RandomState,
    *,
    batch_size: int = 16,
) -> tuple[np.ndarray, np.ndarray]:
    """Codes (n, D) and factors (n, K) of n points drawn from the cache's dataset."""
    factors = draw_factors(cache.dataset, n, rng, batch_size=batch_size)
    return cache.codes_for(factors), factors


def draw_fixed_factor_batches(
    dataset: GroundTruthDataset,
    num_points: int,
    batch_size: int,
    rng: np.random.RandomState,
    *,
    pairs: bool,
    mode: str = "fast",
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Batches in which one factor is held fixed, as the BetaVAE / FactorVAE scores draw them.

    Returns (fixed factor index (P,), batch (P, B, K), second batch (P, B, K) or None).
    ``pairs=True`` (BetaVAE): two independent batches that share the fixed factor row by row.
    ``pairs=False`` (FactorVAE): one batch whose fixed factor equals its first row's value.
    compat draws point by point in the reference's order; fast draws everything at once.
    """
    k = len(dataset.factor_sizes)
    if mode == "compat":
        index = np.empty(num_points, dtype=np.int64)
        first, second = [], []
        for p in range(num_points):  # the reference's draw order (draws only; no encoding here)
            index[p] = rng.randint(k)
            first.append(dataset.sample_factors(batch_size, rng))
            if pairs:
                second.append(dataset.sample_factors(batch_size, rng))
        a = np.stack(first).astype(np.int64)
        b = np.stack(second).astype(np.int64) if pairs else None
    else:
        index = rng.randint(k, size=num_points).astype(np.int64)
        a = np.asarray(dataset.sample_factors(num_points * batch_size, rng), dtype=np.int64)
        a = a.reshape(num_points, batch_size, k)
        b = None
        if pairs:
            b = np.asarray(dataset.sample_factors(num_points * batch_size, rng), dtype=np.int64)
            b = b.reshape(num_points, batch_size, k)
    points = np.arange(num_points)
    if pairs:
        b[points, :, index] = a[points, :, index]
    else:
        a[points, :, index] = a[points, 0, index][:, None]
    return index, a, b
