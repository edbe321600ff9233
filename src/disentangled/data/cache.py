"""A disk cache for one large numpy array (.npy, never pickled), written atomically."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from .download import atomic_write


def _expected_size(path: Path, shape: tuple[int, ...], dtype: np.dtype) -> bool:
    """True when the .npy header says (shape, dtype, C order) and the file holds all the data."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            header = np.lib.format.read_array_header_1_0(f)
        else:
            header = np.lib.format.read_array_header_2_0(f)
        got_shape, fortran, got_dtype = header
        offset = f.tell()
    ok = tuple(got_shape) == tuple(shape) and not fortran and got_dtype == dtype
    return ok and os.path.getsize(path) == offset + int(np.prod(shape)) * dtype.itemsize


def load(path: str | os.PathLike, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray | None:
    """The cached array, or None when absent or not exactly (shape, dtype) (a warning says so)."""
    path = Path(path)
    dtype = np.dtype(dtype)
    if not path.is_file():
        return None
    try:
        if _expected_size(path, shape, dtype):
            return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        pass
    warnings.warn(f"cache file {path} is corrupt or stale; rebuilding it", stacklevel=3)
    return None


def save(path: str | os.PathLike, array: np.ndarray) -> bool:
    """Write the array atomically; on a disk error warn and return False (the data stays usable)."""
    try:
        with atomic_write(path) as f:
            np.lib.format.write_array(f, np.ascontiguousarray(array), allow_pickle=False)
    except OSError as exc:
        warnings.warn(f"could not write cache file {path}: {exc}", stacklevel=3)
        return False
    return True
