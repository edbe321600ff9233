"""Procedural dSprites, the GroundTruthData interface, bit packing, subsets and the registry."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from disentangled.data import (
    GroundTruthData,
    Subset,
    available_datasets,
    bits,
    cache,
    dsprites,
    grid,
    load_dataset,
    sprites,
)
from disentangled.data.dsprites import FACTOR_SIZES, NUM_IMAGES, DSprites
from disentangled.errors import ConfigError

SIZES = FACTOR_SIZES


@pytest.fixture(scope="module")
def full_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("dsprites_cache")


@pytest.fixture(scope="module")
def full(full_cache) -> DSprites:
    """The full procedural set, built once (and cached) into a private cache folder."""
    return DSprites.full(cache_dir=full_cache)


@pytest.fixture(scope="module")
def small() -> DSprites:
    return load_dataset("dsprites", subset=500, seed=0)


def factor_rows(**fixed: int) -> np.ndarray:
    """Every combination of the factors not fixed, with the others fixed: (n, 6)."""
    pairs = zip(dsprites.FACTOR_NAMES, SIZES, strict=True)
    axes = [np.array([fixed[n]]) if n in fixed else np.arange(s) for n, s in pairs]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(SIZES))


# ---- factor grid and index arithmetic ------------------------------------------------------


def test_factor_grid_matches_official() -> None:
    assert dsprites.FACTOR_NAMES == ("color", "shape", "scale", "orientation", "posX", "posY")
    assert SIZES == (1, 3, 6, 40, 32, 32)
    assert NUM_IMAGES == 737_280
    v = dsprites.FACTOR_VALUES
    assert [len(v[n]) for n in dsprites.FACTOR_NAMES] == list(SIZES)
    np.testing.assert_allclose(v["scale"], [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    np.testing.assert_allclose(
        v["orientation"][[0, 1, -1]], [0.0, 0.16110732, 2 * np.pi], atol=1e-8
    )
    np.testing.assert_allclose(v["posX"][[0, 1, -1]], [0.0, 0.03225806, 1.0], atol=1e-8)


def test_mixed_radix_place_values() -> None:
    assert grid.strides(SIZES).tolist() == [737280, 245760, 40960, 1024, 32, 1]
    f = np.eye(6, dtype=np.int64)[1:]  # one factor at index 1, the rest 0
    assert grid.ravel(f, SIZES).tolist() == [245760, 40960, 1024, 32, 1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, NUM_IMAGES - 1), min_size=1, max_size=50))
def test_index_round_trip(index: list[int]) -> None:
    idx = torch.tensor(index)
    f = grid.unravel(idx, SIZES)
    assert (f >= 0).all() and (f < torch.tensor(SIZES)).all()
    assert grid.ravel(f.numpy(), SIZES).tolist() == index
    np.testing.assert_array_equal(grid.unravel_np(np.array(index), SIZES), f.numpy())


@settings(max_examples=200, deadline=None)
@given(st.tuples(*[st.integers(0, s - 1) for s in SIZES]))
def test_factor_round_trip(f: tuple[int, ...]) -> None:
    idx = grid.ravel(np.array([f]), SIZES)
    assert grid.unravel(torch.from_numpy(idx), SIZES).tolist() == [list(f)]


def test_out_of_range_factors_raise(small: DSprites) -> None:
    with pytest.raises(ValueError, match="not in the dataset"):
        small.index_of(np.array([[0, 3, 0, 0, 0, 0]]))
    with pytest.raises(ValueError, match="not in the dataset"):
        small.images_for(np.array([[0, 0, 0, 0, -1, 0]]))
    with pytest.raises(ValueError, match="shape"):
        small.index_of(np.zeros((2, 5), dtype=np.int64))


# ---- the full set --------------------------------------------------------------------------


def test_full_set_size_and_memory(full: DSprites) -> None:
    assert len(full) == NUM_IMAGES
    assert full.packed.dtype == torch.uint8 and full.packed.shape == (NUM_IMAGES, 512)
    assert full.codes is None  # official order: factors cost no memory
    assert full.nbytes == 377_487_360 <= 400_000_000


def test_full_set_matches_direct_rendering(full: DSprites) -> None:
    index = torch.from_numpy(np.random.default_rng(0).choice(NUM_IMAGES, 3000, replace=False))
    f = full.factors(index)
    assert f.dtype == torch.long and f.shape == (3000, 6)
    assert torch.equal(full.images(index), full.images_for(f.numpy()))
    assert full.index_of(f.numpy()).tolist() == index.tolist()


def test_images_for_equals_images_of_index_of(full: DSprites) -> None:
    f = full.sample_factors(257, np.random.default_rng(5))
    a = full.images_for(f)
    b = full.images(torch.from_numpy(full.index_of(f)))
    assert a.dtype == torch.uint8 and a.shape == (257, 1, 64, 64)
    assert torch.equal(a, b)


def test_orientation_zero_and_two_pi_identical(full: DSprites) -> None:
    first, last = factor_rows(orientation=0, posX=7), factor_rows(orientation=39, posX=7)
    assert torch.equal(full.images_for(first), full.images_for(last))
    assert torch.equal(
        full.images(torch.from_numpy(full.index_of(first))),
        full.images(torch.from_numpy(full.index_of(last))),
    )
    # but neighbouring orientations differ for the heart
    a = full.images_for(factor_rows(shape=2, scale=5, orientation=0, posX=3, posY=3))
    b = full.images_for(factor_rows(shape=2, scale=5, orientation=1, posX=3, posY=3))
    assert not torch.equal(a, b)


def test_cache_round_trip_and_rebuild(full_cache, full: DSprites, monkeypatch) -> None:
    path = dsprites.cache_path(full_cache)
    assert f"v{dsprites.GENERATOR_VERSION}" in path.name
    assert [p.name for p in full_cache.iterdir()] == [path.name]  # no temp file left behind
    assert os.path.getsize(path) == 128 + full.nbytes
    assert torch.equal(DSprites.full(cache_dir=full_cache).packed, full.packed)
    # a truncated cache file is rebuilt (with a warning) and written again
    built, saved = [], []
    monkeypatch.setattr(dsprites, "build_packed", lambda: built.append(1) or full.packed.numpy())
    monkeypatch.setattr(dsprites.cache, "save", lambda p, a: saved.append(p) or True)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 1000)
    with pytest.warns(UserWarning, match="corrupt"):
        DSprites.full(cache_dir=full_cache)
    assert built == [1] and saved == [path]
    DSprites.full(cache_dir=full_cache, use_cache=False)  # no cache: neither read nor written
    assert built == [1, 1] and saved == [path]


def test_cache_save_is_atomic(tmp_path) -> None:
    path = tmp_path / "a.npy"
    assert cache.save(path, np.arange(10, dtype=np.uint8))
    assert cache.load(path, (10,), np.uint8).tolist() == list(range(10))
    data = path.read_bytes()
    with open(path, "r+b") as f:
        f.truncate(len(data) - 1)
    with pytest.warns(UserWarning, match="corrupt"):
        assert cache.load(path, (10,), np.uint8) is None
    bad = np.array([object()], dtype=object)  # write_array refuses pickles: nothing replaced
    with pytest.raises(ValueError):
        cache.save(path, bad)
    assert path.read_bytes() == data[:-1] and [p.name for p in tmp_path.iterdir()] == ["a.npy"]


def test_cache_rejects_wrong_shape(tmp_path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((4, 512), np.uint8))
    with pytest.warns(UserWarning):
        assert cache.load(path, (5, 512), np.uint8) is None
    assert cache.load(path, (4, 512), np.uint8).shape == (4, 512)
    assert cache.load(tmp_path / "absent.npy", (4, 512), np.uint8) is None


# ---- what the images look like -------------------------------------------------------------


def test_rendering_is_deterministic() -> None:
    scales, angles = dsprites.FACTOR_VALUES["scale"], dsprites.FACTOR_VALUES["orientation"][:-1]
    again = sprites.render_masks(scales, angles)
    assert np.array_equal(again, dsprites.masks()[:, :, :-1])
    a = load_dataset("dsprites", subset=300, seed=7)
    b = load_dataset("dsprites", subset=300, seed=7)
    c = load_dataset("dsprites", subset=300, seed=8)
    assert torch.equal(a.packed, b.packed) and np.array_equal(a.codes, b.codes)
    assert not np.array_equal(a.codes, c.codes)


def test_images_are_binary(small: DSprites) -> None:
    x = small.images(torch.arange(len(small)))
    assert x.dtype == torch.uint8 and x.shape == (500, 1, 64, 64)
    assert set(torch.unique(x).tolist()) == {0, 255}
    assert small.binary and small.image_shape == (1, 64, 64)


def test_every_sprite_is_one_connected_blob(small: DSprites) -> None:
    for mask in dsprites.masks().reshape(-1, sprites.WINDOW, sprites.WINDOW):
        assert ndimage.label(mask)[1] == 1
    for img in small.images(torch.arange(len(small)))[:, 0].numpy():
        assert ndimage.label(img)[1] == 1


def _centroids(imgs: torch.Tensor) -> np.ndarray:
    x = imgs[:, 0].numpy().astype(np.float64)
    rows, cols = np.arange(64)[None, :, None], np.arange(64)[None, None, :]
    mass = x.sum((1, 2))
    return np.stack([(x * cols).sum((1, 2)) / mass, (x * rows).sum((1, 2)) / mass], 1)


@pytest.mark.parametrize("shape,scale,orient", [(0, 0, 0), (1, 3, 7), (2, 5, 22), (2, 1, 39)])
def test_centroid_moves_with_position(full: DSprites, shape: int, scale: int, orient: int) -> None:
    fixed = {"shape": shape, "scale": scale, "orientation": orient}
    cx = _centroids(full.images_for(factor_rows(**fixed, posY=11)))  # posX varies
    np.testing.assert_allclose(np.diff(cx[:, 0]), 1.0)  # right by one pixel per step
    np.testing.assert_allclose(cx[:, 1], cx[0, 1])
    cy = _centroids(full.images_for(factor_rows(**fixed, posX=20)))  # posY varies
    np.testing.assert_allclose(np.diff(cy[:, 1]), 1.0)  # down by one pixel per step
    np.testing.assert_allclose(cy[:, 0], cy[0, 0])


def test_sprites_stay_on_the_canvas_and_centres_span_the_middle(full: DSprites) -> None:
    corner = full.images_for(factor_rows(orientation=5, posX=0, posY=0))[:, 0]
    assert corner[:, :2].sum() == 0 and corner[:, :, :2].sum() == 0  # 2 px margin, no clipping
    c = _centroids(full.images_for(np.array([[0, 0, 5, 0, 0, 0], [0, 0, 5, 0, 31, 31]])))
    np.testing.assert_allclose(c / 64, [[0.258, 0.258], [0.742, 0.742]], atol=0.01)


def test_area_grows_with_scale_and_sizes_look_like_dsprites() -> None:
    area = dsprites.masks().sum((-1, -2))  # (shape, scale, orientation)
    assert (np.diff(area, axis=1) > 0).all()
    square = dsprites.masks()[0, :, 0]
    widths = square.any(axis=1).sum(-1)  # columns covered at orientation 0
    assert widths[0] in (10, 11) and widths[-1] == 21


def test_shape_classes_differ() -> None:
    m = dsprites.masks()
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        assert (m[a] != m[b]).any(axis=(-1, -2)).all()
    heart = m[2, 5, 0]
    assert not np.array_equal(heart, heart[::-1])  # point down, lobes up
    assert np.array_equal(heart, heart[:, ::-1])  # mirror-symmetric


# ---- packing and batches -------------------------------------------------------------------


@pytest.mark.parametrize("num_pixels", [4096, 13, 64])
def test_pack_unpack_round_trip(num_pixels: int) -> None:
    x = np.random.default_rng(num_pixels).integers(0, 2, (37, num_pixels), dtype=np.uint8)
    packed = bits.pack(x)
    assert packed.shape == (37, math.ceil(num_pixels / 8))
    got = bits.unpack(torch.from_numpy(packed), num_pixels)
    assert got.dtype == torch.uint8 and np.array_equal(got.numpy(), x)
    # the pure-torch path used on accelerators agrees (int32 words or bytes)
    assert np.array_equal(bits.unpack_torch(torch.from_numpy(packed), num_pixels).numpy(), x)
    f = bits.unpack(torch.from_numpy(packed), num_pixels, torch.float32, 1)
    assert f.dtype == torch.float32 and np.array_equal(f.numpy(), x)


def test_batch_is_float_in_unit_interval(small: DSprites) -> None:
    index = torch.tensor([0, 5, 499, 5])
    x = small.batch(index, "cpu")
    assert x.dtype == torch.float32 and x.shape == (4, 1, 64, 64)
    assert x.min() == 0 and x.max() == 1
    assert torch.equal(x, small.images(index).float() / 255)
    assert torch.equal(x, GroundTruthData.batch(small, index, "cpu"))  # the default agrees


# ---- factors, sampling, subsets ------------------------------------------------------------


def test_sample_factors_reproduces_disentanglement_lib_stream(small: DSprites) -> None:
    got = small.sample_factors(100, np.random.RandomState(0))
    rs = np.random.RandomState(0)
    expected = np.stack([rs.randint(s, size=100) for s in SIZES], axis=1)
    assert got.dtype == np.int64 and np.array_equal(got, expected)
    # disentanglement_lib draws only the 5 latent factors of dSprites (not color): same stream
    rs = np.random.RandomState(0)
    lib = np.stack([rs.randint(s, size=100) for s in SIZES[1:]], axis=1)
    assert np.array_equal(got[:, 1:], lib) and (got[:, 0] == 0).all()
    g = small.sample_factors(1000, np.random.default_rng(0))
    assert g.shape == (1000, 6) and (g >= 0).all() and (g < np.array(SIZES)).all()
    assert np.array_equal(g, small.sample_factors(1000, np.random.default_rng(0)))


def test_subset_renders_only_its_rows_and_answers_for_the_full_space(small: DSprites) -> None:
    assert len(small) == 500 and small.codes.shape == (500,)
    assert np.array_equal(small.codes, np.sort(small.codes))
    assert len(np.unique(small.codes)) == 500
    index = torch.arange(0, 500, 9)
    f = small.factors(index)
    assert torch.equal(f, grid.unravel(torch.from_numpy(small.codes[index.numpy()]), SIZES))
    assert torch.equal(small.images(index), small.images_for(f.numpy()))
    other = np.array([[0, 1, 2, 3, 4, 5]])  # almost surely not in the subset: still rendered
    assert small.images_for(other).shape == (1, 1, 64, 64)
    assert np.array_equal(small.rows_of(f.numpy()), index.numpy())


def test_generic_subset_wrapper(small: DSprites) -> None:
    sub = Subset.random(small, 50, seed=1)
    assert len(sub) == 50 and sub.factor_sizes == SIZES and sub.binary
    rows = sub.indices
    index = torch.tensor([0, 49, 3])
    assert torch.equal(sub.images(index), small.images(rows[index]))
    assert torch.equal(sub.batch(index, "cpu"), small.batch(rows[index], "cpu"))
    assert torch.equal(sub.factors(index), small.factors(rows[index]))
    f = np.array([[0, 2, 5, 39, 31, 0]])
    assert torch.equal(sub.images_for(f), small.images_for(f))  # full factor space
    assert np.array_equal(sub.index_of(f), small.index_of(f))
    assert np.array_equal(
        sub.sample_factors(9, np.random.RandomState(3)),
        small.sample_factors(9, np.random.RandomState(3)),
    )
    assert torch.equal(Subset.random(small, 50, seed=1).indices, rows)


# ---- registry ------------------------------------------------------------------------------


def test_registry_names_and_errors() -> None:
    assert available_datasets()[:2] == ("dsprites", "dsprites-official")
    with pytest.raises(ConfigError, match="dsprites-official"):
        load_dataset("mnistt")
    with pytest.raises(ConfigError, match="no option"):
        load_dataset("dsprites", subset=10, colour=1)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ConfigError, match="subset"):
            load_dataset("dsprites", subset=bad)
    with pytest.raises(ConfigError, match="between 1 and 737280"):
        load_dataset("dsprites", subset=NUM_IMAGES + 1)


def test_varying_factors_view_drops_the_constant_colour_like_disentanglement_lib():
    import numpy as np
    import torch

    from disentangled.data import load_dataset
    from disentangled.data.base import VaryingFactors, varying_factors

    ds = load_dataset("dsprites", subset=64, seed=0)
    view = varying_factors(ds)
    assert isinstance(view, VaryingFactors)
    assert view.factor_names == ("shape", "scale", "orientation", "posX", "posY")
    assert view.factor_sizes == (3, 6, 40, 32, 32)
    # the same RandomState stream as the 6-factor dataset (colour consumes no randomness)
    a = ds.sample_factors(50, np.random.RandomState(0))
    b = view.sample_factors(50, np.random.RandomState(0))
    np.testing.assert_array_equal(a[:, 1:], b)
    assert torch.equal(view.images_for(b), ds.images_for(a))
    idx = torch.arange(5)
    assert torch.equal(view.factors(idx), ds.factors(idx)[:, 1:])
    assert varying_factors(view) is view
