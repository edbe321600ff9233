"""The official dSprites npz (Matthey et al. 2017), loaded without unpickling and bit-packed.

The file's pickled ``metadata`` entry is never read: ``latents_classes`` and ``imgs`` are
streamed out of the zip after their .npy headers are checked (numpy's literal header parser,
never pickle), and ``imgs`` is packed chunk by chunk as it goes, so peak memory is the packed set
(377 MB) plus a few 16 MB chunks, not the 3 GB uint8 array.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from disentangled.errors import DataError

from . import bits, grid, npz
from .base import GroundTruthData, Subset
from .download import ENV_VAR, cache_dir, download, verify
from .dsprites import FACTOR_NAMES, FACTOR_SIZES, IMAGE_SHAPE, NUM_IMAGES
from .packed import PackedBinaryData

NAME = "dsprites-official"
FILENAME = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
URL = f"https://github.com/deepmind/dsprites-dataset/raw/master/{FILENAME}"
GIT_SHA1 = "d98996d3f8ee1550e06b9d4ed78d0beb478910d5"
CHUNK_ROWS = 4096  # 16 MB of uint8 pixels per streamed chunk


def resolve_path(path: str | os.PathLike | None = None) -> Path:
    """``path`` (a file, or a folder holding FILENAME), else ``cache_dir()/FILENAME``
    (``$DISENTANGLED_DATA`` when set, else ``~/.cache/disentangled``)."""
    if path is None:
        return cache_dir() / FILENAME
    p = Path(path).expanduser()
    return p / FILENAME if p.is_dir() else p


def _read_classes(path: Path, expected_count: int | None) -> np.ndarray:
    """``latents_classes`` validated against the grid: (N, 6) int64.

    Its header is checked (integer (N, 6), 1 <= N <= the 737,280 grid cells, or exactly
    ``expected_count``) before any row is read, so a forged shape allocates nothing.
    """
    missing = {"imgs", "latents_classes"} - set(npz.keys(path))
    if missing:
        raise DataError(f"{path}: not a dSprites npz (missing {sorted(missing)})")
    with npz.open_array(path, "latents_classes") as stream:
        shape, dtype = stream.shape, stream.dtype
        if len(shape) != 2 or shape[1] != len(FACTOR_SIZES) or dtype.kind not in "iu":
            raise DataError(f"{path}: latents_classes is {dtype} {shape}, expected integer (N, 6)")
        if expected_count is not None and shape[0] != expected_count:
            raise DataError(
                f"{path}: latents_classes has {shape[0]} rows, expected {expected_count}"
            )
        if not 0 < shape[0] <= NUM_IMAGES:
            raise DataError(
                f"{path}: latents_classes has {shape[0]} rows, expected 1 to {NUM_IMAGES} "
                f"(one per factor combination)"
            )
        classes = stream.read(shape[0])
        stream.finish()
    try:
        return grid.check_factors(classes, FACTOR_SIZES)
    except ValueError as exc:
        raise DataError(f"{path}: latents_classes out of range: {exc}") from exc


def _read_packed(path: Path, n: int, chunk_rows: int) -> np.ndarray:
    """Stream ``imgs`` (n, 64, 64) uint8 0/1 and pack it: uint8 (n, 512)."""
    hw = IMAGE_SHAPE[1:]
    with npz.open_array(path, "imgs") as stream:
        if stream.shape != (n, *hw) or stream.dtype != np.uint8:
            raise DataError(
                f"{path}: imgs is {stream.dtype} {stream.shape}, expected uint8 {(n, *hw)}"
            )
        out = np.empty((n, (hw[0] * hw[1] + 7) // 8), dtype=np.uint8)
        for start in range(0, n, chunk_rows):
            chunk = stream.read(min(chunk_rows, n - start))
            if chunk.max(initial=0) > 1:
                raise DataError(f"{path}: imgs has values other than 0 and 1")
            out[start : start + len(chunk)] = bits.pack(chunk)
        stream.finish()
    return out


def load_official(
    path: str | os.PathLike | None = None,
    *,
    download_missing: bool = False,
    git_sha1: str | None = GIT_SHA1,
    expected_count: int | None = NUM_IMAGES,
    chunk_rows: int = CHUNK_ROWS,
    progress: bool = True,
) -> PackedBinaryData:
    """Load and verify the official npz; returns the bit-packed dataset (binary, 1x64x64).

    ``git_sha1=None`` skips the checksum; ``expected_count`` (test-only) changes the row count
    the file must have (None: any). Every problem with the file is a one-line DataError.
    """
    p = resolve_path(path)
    if not p.is_file():
        if not download_missing:
            raise DataError(
                f"dSprites file not found at {p}: download {URL} and put it there (or in "
                f"${ENV_VAR}, or pass path=...), or load with download=True"
            )
        download(URL, p, git_sha1=git_sha1, progress=progress)
    verify(p, git_sha1=git_sha1, hint=f"; delete it and download {URL} again")
    classes = _read_classes(p, expected_count)
    packed = _read_packed(p, len(classes), chunk_rows)
    codes = classes @ grid.strides(FACTOR_SIZES)
    del classes
    return PackedBinaryData(
        name=NAME,
        factor_names=FACTOR_NAMES,
        factor_sizes=FACTOR_SIZES,
        image_shape=IMAGE_SHAPE,
        packed=torch.from_numpy(packed),
        codes=codes,
    )


def load(
    *,
    subset: int | None = None,
    seed: int = 0,
    path: str | os.PathLike | None = None,
    download: bool = False,
    git_sha1: str | None = GIT_SHA1,
    progress: bool = True,
) -> GroundTruthData:
    """Registry loader: the official file, optionally a seeded random subset of its rows."""
    ds = load_official(path, download_missing=download, git_sha1=git_sha1, progress=progress)
    return ds if subset is None else Subset.random(ds, subset, seed)
