"""dSprites colour variants: seeded per-index colours, noise and texture crops, per batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from disentangled.data import dsprites, dsprites_official, grid, load_dataset, variants
from disentangled.data.dsprites import FACTOR_SIZES, NUM_IMAGES, DSprites
from disentangled.data.packed import PackedBinaryData
from disentangled.data.variants import DSpritesVariant
from disentangled.errors import ConfigError

CODES = np.random.default_rng(0).choice(NUM_IMAGES, 600, replace=False)


@pytest.fixture(scope="module")
def base() -> DSprites:
    return DSprites.from_indices(CODES)


@pytest.fixture(scope="module", params=variants.VARIANTS)
def ds(request, base) -> DSpritesVariant:
    return DSpritesVariant(base, request.param)


def masks_of(base: DSprites, index: torch.Tensor) -> np.ndarray:
    """Sprite masks (B, 64, 64) bool."""
    return base.images(index).numpy()[:, 0] > 0


# ---- counter-based randomness ---------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 14), st.integers(0, 2**31 - 1))
def test_permute_bits_is_a_bijection(bits: int, seed: int) -> None:
    x = np.arange(1 << bits)
    y = variants.permute_bits(x, bits, seed)
    assert y.min() >= 0 and y.max() < (1 << bits)
    assert np.array_equal(np.sort(y), x)


def test_index_hash_is_a_function_of_key_seed_and_stream() -> None:
    keys = np.arange(10_000)
    a = variants.index_hash(keys, 3, 1)
    assert np.array_equal(a, variants.index_hash(keys[::-1], 3, 1)[::-1])
    assert len(np.unique(a)) == len(keys)
    others = [variants.index_hash(keys, 4, 1), variants.index_hash(keys, 3, 2)]
    for b in others:
        assert (a != b).mean() > 0.999
    # top bits roughly uniform: each of 16 buckets within 15% of n/16
    counts = np.bincount((a >> np.uint64(60)).astype(np.int64), minlength=16)
    assert np.all(np.abs(counts - len(keys) / 16) < 0.15 * len(keys) / 16)


# ---- the shared contract --------------------------------------------------------------------


def test_shapes_names_and_factors(ds: DSpritesVariant, base: DSprites) -> None:
    assert ds.name == f"dsprites-{ds.variant}" and ds.image_shape == (3, 64, 64)
    assert not ds.binary and len(ds) == len(base)
    assert ds.factor_names == dsprites.FACTOR_NAMES and ds.factor_sizes == FACTOR_SIZES
    index = torch.arange(0, 600, 7)
    assert torch.equal(ds.factors(index), base.factors(index))
    x = ds.images(index)
    assert x.dtype == torch.uint8 and x.shape == (len(index), 3, 64, 64)
    b = ds.batch(index, "cpu")
    assert b.dtype == torch.float32 and torch.equal(b, x.float() / 255)


def test_same_index_same_image_in_any_batch(ds: DSpritesVariant) -> None:
    index = torch.from_numpy(np.random.default_rng(1).choice(600, 64, replace=False))
    x = ds.images(index)
    perm = torch.randperm(64, generator=torch.Generator().manual_seed(0))
    assert torch.equal(ds.images(index[perm]), x[perm])
    assert torch.equal(ds.images(index[:5]), x[:5])
    again = DSpritesVariant(ds.base, ds.variant)  # a fresh object draws nothing new
    assert torch.equal(again.images(index), x)


def test_images_for_equals_images_of_the_row(ds: DSpritesVariant) -> None:
    index = torch.arange(0, 600, 11)
    f = ds.factors(index).numpy()
    assert torch.equal(ds.images_for(f), ds.images(index))
    assert np.array_equal(ds.index_of(f), CODES[index.numpy()])


def test_a_subset_sees_the_same_images_as_another(ds: DSpritesVariant) -> None:
    other = DSpritesVariant(DSprites.from_indices(CODES[::-1][:50]), ds.variant)
    f = other.factors(torch.arange(50)).numpy()
    assert torch.equal(other.images(torch.arange(50)), ds.images_for(f))


def test_variant_seed_changes_only_the_random_part(ds: DSpritesVariant, base: DSprites) -> None:
    index = torch.arange(40)
    other = DSpritesVariant(base, ds.variant, variant_seed=1)
    a, b = ds.images(index), other.images(index)
    assert not torch.equal(a, b)
    if ds.variant != "scream":  # scream's sprite is an inversion of the background, no fixed value
        on = torch.from_numpy(masks_of(base, index))[:, None].expand_as(a)
        off_a, off_b = a[~on], b[~on]
        if ds.variant == "color":
            assert (off_a == 0).all() and (off_b == 0).all()
        else:
            assert (a[on] == 255).all() and (b[on] == 255).all()
            assert not torch.equal(off_a, off_b)


def test_sample_factors_is_dsprites(ds: DSpritesVariant, base: DSprites) -> None:
    a = ds.sample_factors(100, np.random.RandomState(3))
    assert np.array_equal(a, base.sample_factors(100, np.random.RandomState(3)))


# ---- each variant's pixels --------------------------------------------------------------------


def test_color_is_one_colour_in_half_to_one_on_black(base: DSprites) -> None:
    ds = DSpritesVariant(base, "color")
    index = torch.arange(600)
    x = ds.images(index).numpy().astype(int)
    m = masks_of(base, index)
    assert (x.transpose(1, 0, 2, 3)[:, ~m] == 0).all()  # background black in every channel
    cols = ds.colors(CODES)
    assert cols.min() >= 128 and cols.max() <= 255
    sprite = np.where(m[:, None], x, -1)
    per_image_max = sprite.reshape(600, 3, -1).max(-1)
    per_image_min = np.where(m[:, None], x, 999).reshape(600, 3, -1).min(-1)
    assert np.array_equal(per_image_max, cols) and np.array_equal(per_image_min, cols)


def test_color_distribution_is_uniform_on_half_to_one(base: DSprites) -> None:
    cols = DSpritesVariant(base, "color").colors(np.arange(60_000)).astype(float) / 255
    # U[128/255, 1]: mean 0.7510, sd 0.1443; channels independent
    np.testing.assert_allclose(cols.mean(0), (128 / 255 + 1) / 2, atol=0.003)
    np.testing.assert_allclose(cols.std(0), (127 / 255) / np.sqrt(12), atol=0.003)
    c = np.corrcoef(cols.T)
    assert np.abs(c[np.triu_indices(3, 1)]).max() < 0.02


def test_noisy_is_white_sprite_on_uniform_noise(base: DSprites) -> None:
    ds = DSpritesVariant(base, "noisy")
    index = torch.arange(600)
    x = ds.images(index).numpy()
    m = masks_of(base, index)
    assert (x.transpose(1, 0, 2, 3)[:, m] == 255).all()
    noise = ds.noise(CODES)
    background = x.transpose(1, 0, 2, 3)[:, ~m]
    assert np.array_equal(background, noise.transpose(1, 0, 2, 3)[:, ~m])
    counts = np.bincount(noise.ravel(), minlength=256)
    expected = noise.size / 256
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 255 + 6 * np.sqrt(2 * 255)  # chi-square(255) far tail


def test_noise_backgrounds_are_distinct_and_uncorrelated(base: DSprites) -> None:
    ds = DSpritesVariant(base, "noisy")
    keys = np.arange(2000) * 367  # neighbouring grid rows share no bank pair
    noise = ds.noise(keys).reshape(2000, -1).astype(np.float64)
    assert len(np.unique(noise[:, :16], axis=0)) == 2000
    z = (noise - noise.mean(1, keepdims=True)) / noise.std(1, keepdims=True)
    corr = z[:-1] * z[1:]
    assert np.abs(corr.mean(1)).max() < 0.06  # 12,288 px: sd of a correlation ~ 0.009


def test_scream_is_texture_crop_averaged_and_inverted_under_sprite(base: DSprites) -> None:
    ds = DSpritesVariant(base, "scream")
    keys = CODES[:50]
    tex = variants.scream_texture().astype(int)
    _, h, w = variants.TEXTURE_SHAPE
    y = (variants.index_hash(keys, 0, 3) % np.uint64(h - 63)).astype(int)
    x = (variants.index_hash(keys, 0, 4) % np.uint64(w - 63)).astype(int)
    col = np.stack([variants.index_hash(keys, 0, 5 + c) >> np.uint64(56) for c in range(3)], 1)
    crops = np.stack([tex[:, a : a + 64, b : b + 64] for a, b in zip(y, x, strict=True)])
    expected = (crops + col.astype(int)[:, :, None, None]) // 2
    bg = ds.scream_background(keys)
    assert np.array_equal(bg, expected)
    zero = np.zeros((50, 1, 64, 64), np.uint8)
    full = np.full((50, 1, 64, 64), 255, np.uint8)
    assert np.array_equal(ds.compose(zero, keys), expected)
    assert np.array_equal(ds.compose(full, keys), 255 - expected)


def test_scream_texture_is_fixed_and_textured() -> None:
    t = variants.scream_texture()
    assert t.shape == variants.TEXTURE_SHAPE and t.dtype == np.uint8 and not t.flags.writeable
    variants.scream_texture.cache_clear()
    assert np.array_equal(variants.scream_texture(), t)
    assert t.std(axis=(1, 2)).min() > 20  # not flat
    top, bottom = t[:, :60].mean(axis=(1, 2)), t[:, -60:].mean(axis=(1, 2))
    assert top[0] > top[2] and bottom[2] > bottom[0]  # warm sky above, cool below


# ---- bases and the registry -------------------------------------------------------------------


def test_official_base_gives_the_same_images(base: DSprites) -> None:
    official = PackedBinaryData(
        name=dsprites_official.NAME,
        factor_names=dsprites.FACTOR_NAMES,
        factor_sizes=FACTOR_SIZES,
        image_shape=(1, 64, 64),
        packed=base.packed.clone(),
        codes=CODES.copy(),
    )
    for v in variants.VARIANTS:
        a, b = DSpritesVariant(official, v), DSpritesVariant(base, v)
        assert a.name == f"dsprites-official-{v}"
        assert torch.equal(a.images(torch.arange(30)), b.images(torch.arange(30)))


def test_registry_loaders() -> None:
    for v in variants.VARIANTS:
        ds = load_dataset(f"dsprites-{v}", subset=40, seed=2)
        assert isinstance(ds, DSpritesVariant) and ds.variant == v and len(ds) == 40
        expected = grid.unravel_np(ds.base.codes, FACTOR_SIZES)
        assert np.array_equal(ds.factors(torch.arange(40)).numpy(), expected)
    with pytest.raises(ConfigError, match="base"):
        load_dataset("dsprites-color", subset=5, base="nope")
    with pytest.raises(ConfigError, match="official"):
        load_dataset("dsprites-color", subset=5, download=True)
    with pytest.raises(ConfigError, match="variant"):
        variants.load(variant="sepia", subset=5)
    with pytest.raises(ConfigError, match="binary"):
        DSpritesVariant(load_dataset("dsprites-color", subset=5), "noisy")
