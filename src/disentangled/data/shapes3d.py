"""The official Shapes3D file ``3dshapes.h5`` (Burgess & Kim 2018), read with h5py (optional).

The file holds ``images`` uint8 (480000, 64, 64, 3) and ``labels`` float64 (480000, 6), the
factor *values* in the order floor_hue (10), wall_hue (10), object_hue (10), scale (8),
shape (4), orientation (15), orientation fastest. Labels are turned into factor indices against
the known value grids (:data:`shapes3d_procedural.FACTOR_VALUES`); any value off the grid is a
DataError.

Two ways to hold the images:

- in memory (5.9 GB for the full file, stored channel-first), read chunk by chunk so peak memory
  is the array plus one chunk: fast batches;
- streamed from the file (bounded memory: the factor indices, 23 MB, plus h5py's chunk cache),
  each batch read with one sorted selection: slow, for machines without the memory.

``in_memory=None`` (the default) loads fully when the images take at most half of the memory
the system reports available, else streams.

h5py is not a dependency of the package: ``pip install 'disentangled[h5]'`` (or ``h5py``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from disentangled.errors import DataError

from . import grid
from .arrays import ArrayData, unit_float
from .base import GroundTruthData, Subset
from .download import ENV_VAR, cache_dir, download, verify
from .shapes3d_procedural import FACTOR_NAMES, FACTOR_SIZES, FACTOR_VALUES, IMAGE_SHAPE

NAME = "shapes3d-official"
FILENAME = "3dshapes.h5"
URL = "https://storage.googleapis.com/3d-shapes/3dshapes.h5"
URLS = (URL,)  # no verified mirror; any copy is checked against SHA256
SHA256 = "0a0f6ed98baff276a50f3a081a7434d788da63cb135a98189b2a5b5769be1785"
MD5 = "099a2078d58cec4daad0702c55d06868"  # as published by other loaders; not checked here
SIZE_BYTES = 267_573_662
NUM_IMAGES = math.prod(FACTOR_SIZES)  # 480,000
IMAGES_KEY, LABELS_KEY = "images", "labels"
CHUNK_ROWS = 4096  # rows read per step when loading into memory (48 MB of pixels)
_H5_ERRORS = (OSError, ValueError, RuntimeError, KeyError, TypeError)


def require_h5py() -> Any:
    """The h5py module, or a DataError that says how to install it."""
    try:
        import h5py
    except ImportError as exc:
        raise DataError(
            "reading 3dshapes.h5 needs h5py, an optional dependency: "
            "pip install 'disentangled[h5]' (or pip install h5py)"
        ) from exc
    return h5py


def resolve_path(path: str | os.PathLike | None = None) -> Path:
    """``path`` (a file, or a folder holding FILENAME), else ``cache_dir()/FILENAME``."""
    if path is None:
        return cache_dir() / FILENAME
    p = Path(path).expanduser()
    return p / FILENAME if p.is_dir() else p


def missing_message(p: Path) -> str:
    """Where the file belongs and how to get it."""
    return (
        f"Shapes3D file not found at {p}: download {URL} ({SIZE_BYTES:,} bytes, sha256 {SHA256}) "
        f"and put it there (or in ${ENV_VAR}, or pass path=...), or run "
        f"`disentangled data fetch {NAME}`"
    )


def labels_to_factors(labels: np.ndarray, source: str = "labels") -> np.ndarray:
    """Factor values float (n, 6) -> factor indices int64 (n, 6) on the official grids.

    Each value must lie within 1% of a grid step of a grid value, else DataError.
    """
    labels = np.asarray(labels, dtype=np.float64)
    out = np.empty(labels.shape, dtype=np.int64)
    for k, name in enumerate(FACTOR_NAMES):
        values = FACTOR_VALUES[name]
        step = values[1] - values[0]
        idx = np.rint((labels[:, k] - values[0]) / step)
        ok = (idx >= 0) & (idx < len(values))
        idx = np.clip(idx, 0, len(values) - 1).astype(np.int64)
        ok &= np.abs(labels[:, k] - values[idx]) <= 0.01 * step
        if not ok.all():
            row = int(np.flatnonzero(~ok)[0])
            raise DataError(
                f"{source}: {name} value {float(labels[row, k]):g} (row {row}) is not one of the "
                f"{len(values)} official values {values[0]:g}..{values[-1]:g}"
            )
        out[:, k] = idx
    return out


def _open(h5py: Any, p: Path) -> Any:
    try:
        return h5py.File(p, "r")
    except _H5_ERRORS as exc:
        raise DataError(
            f"{p}: not a readable HDF5 file ({exc}); delete it and download {URL} again"
        ) from exc


def _member(f: Any, p: Path, key: str) -> Any:
    """Dataset ``key`` of the open file; DataError when its object header is corrupt."""
    try:
        obj = f[key]
    except _H5_ERRORS as exc:
        raise DataError(f"{p}: '{key}' cannot be opened ({exc}); the file is corrupt") from exc
    if not isinstance(obj, require_h5py().Dataset):
        raise DataError(f"{p}: '{key}' is a {type(obj).__name__}, not a dataset")
    return obj


def _read_factors(f: Any, p: Path, expected_count: int | None) -> np.ndarray:
    """Check the keys, shapes and dtypes; return the factor indices (N, 6).

    Shapes are checked before any data is read: at most one row per factor combination, so a
    forged shape cannot make the labels read allocate more than the official file's 23 MB.
    """
    try:  # a damaged symbol table or datatype message fails here, inside HDF5
        missing = [k for k in (IMAGES_KEY, LABELS_KEY) if k not in f]
        if missing:
            raise DataError(
                f"{p}: not a 3dshapes file: missing key(s) {missing} (found {sorted(f.keys())})"
            )
        images, labels = _member(f, p, IMAGES_KEY), _member(f, p, LABELS_KEY)
        (ishape, idtype), (lshape, ldtype) = ((tuple(d.shape), d.dtype) for d in (images, labels))
    except _H5_ERRORS as exc:
        raise DataError(f"{p}: the file's structure is corrupt ({exc})") from exc
    hw = (*IMAGE_SHAPE[1:], IMAGE_SHAPE[0])
    if len(ishape) != 4 or ishape[1:] != hw or idtype != np.uint8:
        raise DataError(f"{p}: images is {idtype} {ishape}, expected uint8 (N, *{hw})")
    if lshape != (ishape[0], len(FACTOR_SIZES)) or ldtype.kind not in "fiu":
        raise DataError(
            f"{p}: labels is {ldtype} {lshape}, expected numbers ({ishape[0]}, {len(FACTOR_SIZES)})"
        )
    if expected_count is not None and ishape[0] != expected_count:
        raise DataError(f"{p}: {ishape[0]} images, expected {expected_count}")
    if not 0 < ishape[0] <= NUM_IMAGES:
        raise DataError(
            f"{p}: {ishape[0]} images, expected 1 to {NUM_IMAGES} (one per factor combination)"
        )
    try:
        values = labels[()]
    except _H5_ERRORS as exc:
        raise DataError(f"{p}: labels cannot be read ({exc}); the file is corrupt") from exc
    factors = labels_to_factors(values, f"{p}: labels")
    codes = factors @ grid.strides(FACTOR_SIZES)
    if np.unique(codes).size != len(codes):
        raise DataError(f"{p}: labels repeat a factor combination; not a valid 3dshapes file")
    return factors


def _read_rows(dset: Any, p: Path, rows: np.ndarray) -> np.ndarray:
    """Rows (sorted, distinct) of the images dataset: uint8 (n, 64, 64, 3)."""
    try:
        return dset[rows] if len(rows) else np.empty((0, *dset.shape[1:]), np.uint8)
    except _H5_ERRORS as exc:
        raise DataError(f"{p}: images cannot be read ({exc}); the file is corrupt") from exc


def _read_all(dset: Any, p: Path, chunk_rows: int, progress: bool) -> np.ndarray:
    """All images, channel-first: uint8 (N, 3, 64, 64), read ``chunk_rows`` at a time."""
    from tqdm.auto import tqdm

    n = dset.shape[0]
    out = np.empty((n, *IMAGE_SHAPE), dtype=np.uint8)
    with tqdm(total=n, unit="img", desc=p.name, disable=not progress) as bar:
        for start in range(0, n, chunk_rows):
            stop = min(start + chunk_rows, n)
            try:
                chunk = dset[start:stop]
            except _H5_ERRORS as exc:
                raise DataError(f"{p}: images cannot be read ({exc}); the file is corrupt") from exc
            out[start:stop] = chunk.transpose(0, 3, 1, 2)
            bar.update(stop - start)
    return out


def available_memory() -> int | None:
    """Bytes of physical memory the system reports available, or None when unknown."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


class Shapes3DStream(GroundTruthData):
    """Shapes3D images read from the h5 file per batch (bounded memory); factor indices in memory.

    ``images(index)`` reads the distinct requested rows with one sorted selection and reorders
    them. The file is reopened in a child process (h5py handles do not survive a fork).
    """

    name = NAME
    factor_names = FACTOR_NAMES
    factor_sizes = FACTOR_SIZES
    image_shape = IMAGE_SHAPE
    binary = False

    def __init__(self, path: Path, factors: np.ndarray) -> None:
        self.path = Path(path)
        self.factor_array = factors
        codes = factors @ grid.strides(FACTOR_SIZES)
        self._codes = None if np.array_equal(codes, np.arange(len(codes))) else codes
        self._order = None if self._codes is None else np.argsort(codes, kind="stable")
        self._file: Any = None
        self._pid = -1

    def _dataset(self) -> Any:
        if self._file is None or self._pid != os.getpid():
            self._file = _open(require_h5py(), self.path)
            self._pid = os.getpid()
        return _member(self._file, self.path, IMAGES_KEY)

    def close(self) -> None:
        """Close the h5 file (it reopens on the next read)."""
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = None

    def __len__(self) -> int:
        return int(self.factor_array.shape[0])

    def images(self, index: torch.Tensor) -> torch.Tensor:
        """Index long (B,) -> uint8 (B, 3, 64, 64), read from the file."""
        idx = index.to("cpu", torch.long).numpy()
        uniq, inverse = np.unique(idx, return_inverse=True)
        if uniq.size and (uniq[0] < 0 or uniq[-1] >= len(self)):
            raise IndexError(f"index out of range for {len(self)} images")
        rows = _read_rows(self._dataset(), self.path, uniq)
        return torch.from_numpy(
            np.ascontiguousarray(rows[inverse.reshape(-1)].transpose(0, 3, 1, 2))
        )

    def batch(self, index: torch.Tensor, device: torch.device | str) -> torch.Tensor:
        return unit_float(self.images(index), device)

    def factors(self, index: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.factor_array.take(index.to("cpu", torch.long).numpy(), 0))

    def rows_of(self, factors: np.ndarray) -> np.ndarray:
        """Factor indices (n, 6) -> rows (n,) int64; ValueError for combinations not stored."""
        flat = self.index_of(factors)
        if self._codes is None:
            if flat.size and flat.max() >= len(self):
                raise ValueError(f"{self.name}: factor combination not in the dataset")
            return flat
        pos = np.minimum(np.searchsorted(self._codes, flat, sorter=self._order), len(self) - 1)
        rows = self._order[pos]
        if not np.array_equal(self._codes[rows], flat):
            raise ValueError(f"{self.name}: factor combination not in the dataset")
        return rows

    def images_for(self, factors: np.ndarray) -> torch.Tensor:
        return self.images(torch.from_numpy(self.rows_of(factors)))


def load_official(
    path: str | os.PathLike | None = None,
    *,
    download_missing: bool = False,
    sha256: str | None = SHA256,
    expected_count: int | None = NUM_IMAGES,
    in_memory: bool | None = None,
    chunk_rows: int = CHUNK_ROWS,
    progress: bool = True,
) -> GroundTruthData:
    """Load and verify ``3dshapes.h5``: an in-memory or streaming dataset (RGB 3x64x64).

    ``sha256=None`` skips the checksum; ``expected_count`` (None: any) is the number of rows the
    file must have. Every problem with the file is a one-line DataError.
    """
    p = resolve_path(path)
    if not p.is_file():  # where the file goes comes first, then what reading it needs
        if not download_missing:
            raise DataError(missing_message(p))
        download(URL, p, sha256_hex=sha256, progress=progress)
    h5py = require_h5py()
    verify(p, sha256_hex=sha256, hint=f"; delete it and download {URL} again")
    with _open(h5py, p) as f:
        factors = _read_factors(f, p, expected_count)
        images = _member(f, p, IMAGES_KEY)
        need = math.prod(images.shape)
        avail = available_memory()
        if in_memory is None:
            in_memory = avail is None or need <= avail // 2
        if not in_memory:
            return Shapes3DStream(p, factors)
        pixels = _read_all(images, p, chunk_rows, progress)
    return ArrayData(
        name=NAME,
        images=pixels,
        factors=factors,
        factor_names=FACTOR_NAMES,
        factor_sizes=FACTOR_SIZES,
    )


def load(
    *,
    subset: int | None = None,
    seed: int = 0,
    path: str | os.PathLike | None = None,
    download: bool = False,
    in_memory: bool | None = None,
    sha256: str | None = SHA256,
    progress: bool = True,
) -> GroundTruthData:
    """Registry loader: the official file, optionally a seeded random subset of its rows."""
    ds = load_official(
        path, download_missing=download, sha256=sha256, in_memory=in_memory, progress=progress
    )
    return ds if subset is None else Subset.random(ds, subset, seed)
