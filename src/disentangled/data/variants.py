"""dSprites variants in colour (as in disentanglement_lib): color, noisy and scream.

Each variant wraps a binary dSprites dataset (procedural or official) and composes RGB
3x64x64 images per batch, vectorised over the batch, so only the bit-packed base is held:

- ``color``: the sprite in a colour drawn uniformly from [0.5, 1]^3, black background;
- ``noisy``: a white sprite on a background of uniform noise in [0, 1] per pixel and channel;
- ``scream``: a 64x64 crop of a texture, averaged with a random colour in [0, 1]^3, with the
  sprite's pixels inverted (``1 - background``). The texture is generated here
  (:func:`scream_texture`), nothing is downloaded.

The random colour, noise and crop of an image are a function of ``variant_seed`` and the image's
flat factor index (its row in the full grid), never of draw order: the same index always gives
the same image, ``images_for(f)`` equals ``images(index_of(f))``, and a subset sees the same
images as the full set. Factors are those of dSprites; the colour and noise are not factors.
"""

from __future__ import annotations

import functools
import math
import os

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view

from disentangled.errors import ConfigError

from . import dsprites, dsprites_official, grid
from .arrays import unit_float
from .base import GroundTruthData, Rng

VARIANTS = ("color", "noisy", "scream")
BASES = ("procedural", "official")
IMAGE_SHAPE = (3, 64, 64)
TEXTURE_SHAPE = (3, 274, 350)  # (C, H, W) of the generated scream texture


# ---- counter-based hashing: per-index random numbers without a per-index generator ----------


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser of x + golden gamma, elementwise on uint64 (wrapping)."""
    z = np.asarray(x, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def index_hash(keys: np.ndarray, seed: int, stream: int) -> np.ndarray:
    """64 random-looking bits per key (n,) -> uint64 (n,), one independent stream per
    ``(seed, stream)``; a pure function of its arguments."""
    salt = splitmix64(np.array([(seed & 0xFFFFFFFF) << 16 | (stream & 0xFFFF)], np.uint64))
    return splitmix64(np.asarray(keys, dtype=np.int64).astype(np.uint64) ^ salt)


def permute_bits(keys: np.ndarray, bits: int, seed: int) -> np.ndarray:
    """A seeded bijection of ``0..2**bits-1`` applied to keys (n,) -> int64 (n,).

    Rounds of add-constant, multiply-by-odd and xor-shift, each a bijection modulo ``2**bits``,
    so distinct keys always map to distinct values.
    """
    mask = np.uint64((1 << bits) - 1)
    consts = splitmix64(np.arange(6, dtype=np.uint64) + np.uint64(seed & 0xFFFFFFFF) * 7)
    x = np.asarray(keys, dtype=np.int64).astype(np.uint64) & mask
    shift = np.uint64(max(1, bits // 2))
    for r in range(3):
        x = (x + consts[2 * r]) & mask
        x = (x * (consts[2 * r + 1] | np.uint64(1))) & mask
        x ^= x >> shift
    return x.astype(np.int64)


# ---- the scream texture ---------------------------------------------------------------------


def _smooth_field(rng: np.random.Generator, v: np.ndarray, u: np.ndarray, n: int) -> np.ndarray:
    """A sum of n random low-frequency plane waves on the grid (v, u): float (H, W) in ~[-1, 1]."""
    out = np.zeros(np.broadcast_shapes(v.shape, u.shape))
    for _ in range(n):
        fy, fx = rng.uniform(0.5, 3.0, size=2) * rng.choice([-1.0, 1.0], size=2)
        out += np.sin(2 * np.pi * (fy * v + fx * u) + rng.uniform(0, 2 * np.pi))
    return out / math.sqrt(n)


@functools.lru_cache(maxsize=1)
def scream_texture() -> np.ndarray:
    """The generated stand-in for "The Scream": uint8 (3, 274, 350), read-only.

    Wavy, domain-warped bands: warm orange/red/yellow swirls above a wavy horizon, cool blue/teal
    swirls below, with a fine brush-stroke ripple along the bands. Fixed (seed 0) and computed in
    milliseconds.
    """
    _, h, w = TEXTURE_SHAPE
    rng = np.random.default_rng(0)
    v = np.linspace(0.0, 1.0, h)[:, None]
    u = np.linspace(0.0, w / h, w)[None, :]
    warp = _smooth_field(rng, v, u, 4)
    phase = 7.0 * v + 0.9 * np.sin(2 * np.pi * (1.3 * u + 0.25 * warp)) + 0.6 * warp
    bands = 0.5 + 0.5 * np.sin(2 * np.pi * phase)
    ripple = 0.5 + 0.5 * np.sin(2 * np.pi * (40.0 * phase + 3.0 * u))
    horizon = 0.45 + 0.08 * np.sin(2 * np.pi * (0.8 * u + 0.1)) + 0.04 * warp
    sky = 1.0 / (1.0 + np.exp((v - horizon) / 0.03))  # 1 above the horizon, 0 below
    warm_a, warm_b = np.array([0.93, 0.45, 0.12]), np.array([0.98, 0.80, 0.35])
    warm_c = np.array([0.72, 0.16, 0.10])
    cool_a, cool_b = np.array([0.10, 0.18, 0.42]), np.array([0.22, 0.48, 0.52])
    t = bands[..., None]
    warm = (1 - t) * warm_a + t * np.where(t > 0.7, warm_c, warm_b)
    cool = (1 - t) * cool_a + t * cool_b
    rgb = sky[..., None] * warm + (1 - sky[..., None]) * cool
    rgb *= (0.85 + 0.15 * ripple)[..., None]
    out = np.ascontiguousarray(
        np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8).transpose(2, 0, 1)
    )
    out.setflags(write=False)
    return out


# ---- composition ----------------------------------------------------------------------------


class DSpritesVariant(GroundTruthData):
    """An RGB (3x64x64) dSprites variant composed per batch from a binary dSprites ``base``.

    ``base`` is any binary 1x64x64 dataset with the dSprites factors (procedural, official, or a
    subset of either). Memory: the base plus, for ``noisy``, two noise banks of
    ``2**ceil(b/2)`` and ``2**floor(b/2)`` images (b = bits of the grid size; 2 x 12.6 MB for
    dSprites). The background of flat index i is ``bank_a[a(i)] XOR bank_b[b(i)]`` where
    ``(a, b)`` is a seeded bijection of i, so no two images share a background and any two
    backgrounds are independent uniform noise.
    """

    binary = False
    image_shape = IMAGE_SHAPE

    def __init__(self, base: GroundTruthData, variant: str, variant_seed: int = 0) -> None:
        if variant not in VARIANTS:
            raise ConfigError(f"unknown dSprites variant {variant!r}; known: {', '.join(VARIANTS)}")
        if tuple(base.image_shape) != (1, 64, 64) or not base.binary:
            raise ConfigError(f"a dSprites variant needs a binary 1x64x64 base, got {base!r}")
        self.base = base
        self.variant = variant
        self.variant_seed = int(variant_seed)
        prefix = "dsprites-official" if base.name == dsprites_official.NAME else "dsprites"
        self.name = f"{prefix}-{variant}"
        self.factor_names = base.factor_names
        self.factor_sizes = base.factor_sizes
        self._bits = max(2, math.ceil(math.log2(math.prod(self.factor_sizes))))
        self._banks: tuple[np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.base)

    def factors(self, index: torch.Tensor) -> torch.Tensor:
        return self.base.factors(index)

    def sample_factors(self, n: int, rng: Rng) -> np.ndarray:
        return self.base.sample_factors(n, rng)

    def index_of(self, factors: np.ndarray) -> np.ndarray:
        return self.base.index_of(factors)

    def images(self, index: torch.Tensor) -> torch.Tensor:
        """Index long (B,) -> uint8 (B, 3, 64, 64)."""
        keys = self.base.factors(index).numpy() @ grid.strides(self.factor_sizes)
        return torch.from_numpy(self.compose(self.base.images(index).numpy(), keys))

    def images_for(self, factors: np.ndarray) -> torch.Tensor:
        """Factor indices (n, 6) -> uint8 (n, 3, 64, 64), as ``images(index_of(factors))``."""
        keys = self.index_of(factors)
        return torch.from_numpy(self.compose(self.base.images_for(factors).numpy(), keys))

    def batch(self, index: torch.Tensor, device: torch.device | str) -> torch.Tensor:
        """Index long (B,) -> float32 (B, 3, 64, 64) in [0, 1] (exactly ``images / 255``)."""
        return unit_float(self.images(index), device)

    # the per-variant composition, all uint8 and vectorised over the batch

    def compose(self, mask: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """Sprite masks uint8 (B, 1, 64, 64) in {0, 255} and flat factor indices (B,) ->
        uint8 (B, 3, 64, 64)."""
        keys = np.asarray(keys, dtype=np.int64)
        if self.variant == "color":
            return np.bitwise_and(mask, self.colors(keys)[:, :, None, None])  # 255 & q = q
        if self.variant == "noisy":
            out = self.noise(keys)
            return np.bitwise_or(out, mask, out=out)  # min(sprite + noise, 1)
        out = self.scream_background(keys)
        return np.bitwise_xor(out, mask, out=out)  # 255 ^ x = 255 - x: inverted under the sprite

    def colors(self, keys: np.ndarray) -> np.ndarray:
        """The ``color`` variant's sprite colours: uint8 (B, 3) uniform on 128..255 ([0.5, 1])."""
        cols = [index_hash(keys, self.variant_seed, c) >> np.uint64(57) for c in range(3)]
        return (np.stack(cols, axis=1) + np.uint64(128)).astype(np.uint8)

    def _noise_banks(self) -> tuple[np.ndarray, np.ndarray]:
        if self._banks is None:
            rng = np.random.default_rng(self.variant_seed)
            a_bits = (self._bits + 1) // 2
            shape_a = (1 << a_bits, *IMAGE_SHAPE)
            shape_b = (1 << (self._bits - a_bits), *IMAGE_SHAPE)
            self._banks = (
                rng.integers(0, 256, size=shape_a, dtype=np.uint8),
                rng.integers(0, 256, size=shape_b, dtype=np.uint8),
            )
        return self._banks

    def noise(self, keys: np.ndarray) -> np.ndarray:
        """The ``noisy`` variant's backgrounds: uint8 (B, 3, 64, 64), uniform on 0..255."""
        bank_a, bank_b = self._noise_banks()
        pair = permute_bits(keys, self._bits, self.variant_seed)
        b_bits = self._bits - (self._bits + 1) // 2
        out = bank_a.take(pair >> b_bits, axis=0)
        return np.bitwise_xor(out, bank_b.take(pair & ((1 << b_bits) - 1), axis=0), out=out)

    def scream_background(self, keys: np.ndarray) -> np.ndarray:
        """The ``scream`` variant's backgrounds: (crop + colour) / 2, uint8 (B, 3, 64, 64)."""
        tex = scream_texture()
        windows = np.moveaxis(sliding_window_view(tex, (64, 64), axis=(1, 2)), 0, 2)
        y = index_hash(keys, self.variant_seed, 3) % np.uint64(windows.shape[0])
        x = index_hash(keys, self.variant_seed, 4) % np.uint64(windows.shape[1])
        crop = windows[y.astype(np.int64), x.astype(np.int64)]  # (B, 3, 64, 64) copy
        col = np.stack(
            [index_hash(keys, self.variant_seed, 5 + c) >> np.uint64(56) for c in range(3)], 1
        ).astype(np.uint8)[:, :, None, None]
        # floor((crop + col) / 2) without leaving uint8
        both_odd = np.bitwise_and(crop, col)
        np.bitwise_and(both_odd, np.uint8(1), out=both_odd)
        np.right_shift(crop, np.uint8(1), out=crop)
        crop += col >> np.uint8(1)
        crop += both_odd
        return crop

    def __repr__(self) -> str:
        return f"DSpritesVariant(name={self.name!r}, n={len(self)}, base={self.base!r})"


def load_base(
    base: str, *, subset: int | None, seed: int, path: str | os.PathLike | None, download: bool
) -> GroundTruthData:
    """The binary dSprites a variant composes from: ``procedural`` (``path`` = cache folder) or
    ``official`` (``path`` = the npz, or its folder)."""
    if base == "procedural":
        if download:
            raise ConfigError("download=True applies to base='official' only")
        return dsprites.load(subset=subset, seed=seed, path=path)
    if base == "official":
        return dsprites_official.load(subset=subset, seed=seed, path=path, download=download)
    raise ConfigError(f"unknown dSprites base {base!r}; known: {', '.join(BASES)}")


def load(
    *,
    variant: str,
    subset: int | None = None,
    seed: int = 0,
    path: str | os.PathLike | None = None,
    base: str = "procedural",
    variant_seed: int = 0,
    download: bool = False,
) -> DSpritesVariant:
    """A dSprites variant; ``subset``/``seed``/``path`` select the base's images as for
    ``dsprites`` / ``dsprites-official``; ``variant_seed`` fixes the colours, noise and crops."""
    if variant not in VARIANTS:
        raise ConfigError(f"unknown dSprites variant {variant!r}; known: {', '.join(VARIANTS)}")
    ds = load_base(base, subset=subset, seed=seed, path=path, download=download)
    return DSpritesVariant(ds, variant, variant_seed)


def _variant_loader(variant: str):
    """The registry loader of ``dsprites-<variant>``: :func:`load` with the variant fixed."""

    def load_variant(
        *,
        subset: int | None = None,
        seed: int = 0,
        path: str | os.PathLike | None = None,
        base: str = "procedural",
        variant_seed: int = 0,
        download: bool = False,
    ) -> DSpritesVariant:
        return load(
            variant=variant, subset=subset, seed=seed, path=path, base=base,
            variant_seed=variant_seed, download=download,
        )  # fmt: skip

    load_variant.__name__ = load_variant.__qualname__ = f"load_{variant}"
    load_variant.__doc__ = f"Registry loader of ``dsprites-{variant}`` (see :func:`load`)."
    return load_variant


load_color = _variant_loader("color")
load_noisy = _variant_loader("noisy")
load_scream = _variant_loader("scream")
