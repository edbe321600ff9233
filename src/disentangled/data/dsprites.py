"""Procedural dSprites: the official factor grid rendered here, no download (the default dataset).

Factors in the official order: color (1), shape (3: square, ellipse, heart), scale (6 values
linspace(0.5, 1, 6)), orientation (40 values linspace(0, 2*pi, 40), so 0 and 2*pi both appear and
give identical images), posX (32), posY (32), posY fastest: 737,280 binary 64x64 images whose flat
index is the mixed-radix number of the factor indices. posX moves the sprite right, posY down.
Geometry: see :mod:`disentangled.data.sprites`.

The full set is kept bit-packed (uint8 (737280, 512), 377 MB) and cached on disk after the first
build; a subset renders only its own images and touches no cache.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

import numpy as np
import torch

from . import bits, cache, grid, sprites
from .base import choose_subset
from .download import cache_dir
from .packed import PackedBinaryData

NAME = "dsprites"
FACTOR_NAMES = ("color", "shape", "scale", "orientation", "posX", "posY")
FACTOR_SIZES = (1, 3, 6, 40, 32, 32)
SHAPE_NAMES = ("square", "ellipse", "heart")
FACTOR_VALUES = {
    "color": np.array([1.0]),
    "shape": np.array([1.0, 2.0, 3.0]),
    "scale": np.linspace(0.5, 1.0, 6),
    "orientation": np.linspace(0.0, 2 * np.pi, 40),
    "posX": np.linspace(0.0, 1.0, 32),
    "posY": np.linspace(0.0, 1.0, 32),
}
IMAGE_SHAPE = (1, 64, 64)
NUM_IMAGES = math.prod(FACTOR_SIZES)  # 737,280
PACKED_BYTES = math.prod(IMAGE_SHAPE) // 8  # 512 bytes per image
GENERATOR_VERSION = 1  # bump whenever the rendered pixels change: it names the cache file
_CHUNK = 4096  # images rendered per vectorised step


@functools.lru_cache(maxsize=1)
def masks() -> np.ndarray:
    """The 720 sprite masks: bool (shape 3, scale 6, orientation 40, 33, 33), read-only.

    Orientation 39 (2*pi) reuses the mask of orientation 0, as the official grid repeats it.
    """
    angles = FACTOR_VALUES["orientation"][:-1]
    distinct = sprites.render_masks(FACTOR_VALUES["scale"], angles, num_shapes=3)
    out = np.concatenate([distinct, distinct[:, :, :1]], axis=2)
    out.setflags(write=False)
    return out


def render(factors: np.ndarray) -> np.ndarray:
    """Factor indices (n, 6) -> 0/1 uint8 images (n, 64, 64), composed from the masks."""
    f = grid.check_factors(factors, FACTOR_SIZES)
    m = masks()
    out = np.empty((len(f), *IMAGE_SHAPE[1:]), dtype=np.uint8)
    for s in range(0, len(f), _CHUNK):
        c = f[s : s + _CHUNK]
        out[s : s + _CHUNK] = sprites.compose(m[c[:, 1], c[:, 2], c[:, 3]], c[:, 4], c[:, 5])
    return out


def render_packed(index: np.ndarray) -> np.ndarray:
    """Flat indices (n,) -> packed images uint8 (n, 512), rendered chunk by chunk."""
    index = np.asarray(index, dtype=np.int64)
    out = np.empty((len(index), PACKED_BYTES), dtype=np.uint8)
    for s in range(0, len(index), _CHUNK):
        out[s : s + _CHUNK] = bits.pack(
            render(grid.unravel_np(index[s : s + _CHUNK], FACTOR_SIZES))
        )
    return out


def build_packed() -> np.ndarray:
    """The whole grid bit-packed in official order: uint8 (737280, 512), built mask by mask."""
    m = masks()
    out = np.empty((NUM_IMAGES, PACKED_BYTES), dtype=np.uint8)
    view = out.reshape(*FACTOR_SIZES[1:], IMAGE_SHAPE[1], IMAGE_SHAPE[2] // 8)
    n_orient = FACTOR_SIZES[3]
    for shape in range(FACTOR_SIZES[1]):
        for scale in range(FACTOR_SIZES[2]):
            for orient in range(n_orient - 1):
                view[shape, scale, orient] = sprites.packed_placements(m[shape, scale, orient])
            view[shape, scale, n_orient - 1] = view[shape, scale, 0]
    return out


def cache_path(directory: str | os.PathLike | None = None) -> Path:
    """The cache file of the packed full set (its name carries the generator version)."""
    base = Path(directory) if directory is not None else cache_dir()
    return base / f"dsprites_procedural_v{GENERATOR_VERSION}_packed.npy"


def load_or_build(directory: str | os.PathLike | None = None, use_cache: bool = True) -> np.ndarray:
    """The packed full set from the cache when its header and size are right, else built (and
    cached when allowed). A stale generator is told apart by the version in the file name."""
    path = cache_path(directory)
    if use_cache:
        arr = cache.load(path, (NUM_IMAGES, PACKED_BYTES), np.uint8)
        if arr is not None:
            return arr
    arr = build_packed()
    if use_cache:
        cache.save(path, arr)
    return arr


class DSprites(PackedBinaryData):
    """Procedural dSprites (binary, 1x64x64). Rows are stored bit-packed; ``codes`` are the rows'
    flat grid indices (None for the full set in official order).

    ``images_for`` composes any factor combination straight from the masks, so a subset answers
    for the full factor space, like ``sample_factors``.
    """

    def __init__(self, packed: torch.Tensor, codes: np.ndarray | None = None) -> None:
        super().__init__(
            name=NAME,
            factor_names=FACTOR_NAMES,
            factor_sizes=FACTOR_SIZES,
            image_shape=IMAGE_SHAPE,
            packed=packed,
            codes=codes,
        )

    @classmethod
    def full(cls, cache_dir: str | os.PathLike | None = None, use_cache: bool = True) -> DSprites:
        """All 737,280 images, from the disk cache or built (~seconds) and then cached."""
        return cls(torch.from_numpy(load_or_build(cache_dir, use_cache)))

    @classmethod
    def from_indices(cls, index: np.ndarray) -> DSprites:
        """Only the images at these flat indices (n,), rendered now; no cache involved."""
        index = np.asarray(index, dtype=np.int64)
        return cls(torch.from_numpy(render_packed(index)), codes=index)

    def images_for(self, factors: np.ndarray) -> torch.Tensor:
        """Factor indices (n, 6) -> uint8 (n, 1, 64, 64), 0/255, rendered from the masks."""
        px = render(factors)
        px *= np.uint8(255)
        return torch.from_numpy(px).unsqueeze(1)


def load(
    *,
    subset: int | None = None,
    seed: int = 0,
    path: str | os.PathLike | None = None,
    use_cache: bool = True,
) -> DSprites:
    """Registry loader. ``subset=N``: N seeded random images only; ``path``: cache folder."""
    if subset is not None:
        return DSprites.from_indices(choose_subset(NUM_IMAGES, subset, seed))
    return DSprites.full(path, use_cache)
