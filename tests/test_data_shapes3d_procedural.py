"""Procedural 3D shapes: ray-object geometry, the linear colour model, factors and the cache."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from disentangled.data import grid, load_dataset
from disentangled.data import shapes3d_procedural as sp
from disentangled.data.base import Subset

SS = 1  # one ray per pixel keeps the module's build to a few seconds


@pytest.fixture(scope="module")
def cache_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("shapes3d_cache")


@pytest.fixture(scope="module")
def ds(cache_folder) -> sp.Shapes3DProcedural:
    return load_dataset("shapes3d", path=str(cache_folder), supersample=SS)


def rows(**fixed: int) -> np.ndarray:
    """Every combination of the factors not fixed: (n, 6)."""
    pairs = zip(sp.FACTOR_NAMES, sp.FACTOR_SIZES, strict=True)
    axes = [np.array([fixed[n]]) if n in fixed else np.arange(s) for n, s in pairs]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 6)


# ---- factor space ---------------------------------------------------------------------------


def test_factor_space_is_the_official_one(ds) -> None:
    assert sp.FACTOR_NAMES == (
        "floor_hue",
        "wall_hue",
        "object_hue",
        "scale",
        "shape",
        "orientation",
    )
    assert sp.FACTOR_SIZES == (10, 10, 10, 8, 4, 15) and len(ds) == sp.NUM_IMAGES == 480_000
    v = sp.FACTOR_VALUES
    np.testing.assert_allclose(v["floor_hue"], np.arange(10) / 10)
    np.testing.assert_allclose(v["scale"][[0, 1, -1]], [0.75, 0.75 + 0.5 / 7, 1.25])
    np.testing.assert_allclose(v["orientation"][[0, 7, -1]], [-30, 0, 30])
    assert sp.SHAPE_NAMES == ("cube", "cylinder", "sphere", "capsule")
    assert ds.image_shape == (3, 64, 64) and not ds.binary


def test_index_arithmetic(ds) -> None:
    index = torch.tensor([0, 1, 15, 60, 480_000 - 1])
    f = ds.factors(index).numpy()
    assert f.tolist()[:4] == [[0] * 6, [0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0], [0, 0, 0, 1, 0, 0]]
    assert f[-1].tolist() == [9, 9, 9, 7, 3, 14]
    assert ds.index_of(f).tolist() == index.tolist()


# ---- geometry: analytic hits ----------------------------------------------------------------


def ray(o, d):
    d = np.asarray(d, float)
    return np.asarray(o, float)[None], (d / np.linalg.norm(d))[None]


@pytest.mark.parametrize("scale", [0.75, 1.0, 1.25])
def test_head_on_hits(scale: float) -> None:
    s = scale
    cases = [  # (shape, origin, direction, t, normal)
        (0, (0, 0.45 * s, -5), (0, 0, 1), 5 - 0.45 * s, (0, 0, -1)),
        (0, (0, 5, 0), (0, -1, 0), 5 - 0.9 * s, (0, 1, 0)),
        (1, (0, 0.45 * s, -5), (0, 0, 1), 5 - 0.45 * s, (0, 0, -1)),
        (1, (0.1 * s, 5, 0), (0, -1, 0), 5 - 0.9 * s, (0, 1, 0)),
        (2, (0, 0.5 * s, -5), (0, 0, 1), 5 - 0.5 * s, (0, 0, -1)),
        (2, (0, 5, 0), (0, -1, 0), 5 - s, (0, 1, 0)),
        (3, (0, 0.3 * s, -5), (0, 0, 1), 5 - 0.3 * s, (0, 0, -1)),
        (3, (-5, 0.3 * s, 0), (1, 0, 0), 5 - 0.7 * s, (-1, 0, 0)),
    ]
    for shape, o, d, t, n in cases:
        got_t, got_n = sp.intersect(shape, s, *ray(o, d))
        np.testing.assert_allclose(got_t, [t], atol=1e-9, err_msg=sp.SHAPE_NAMES[shape])
        np.testing.assert_allclose(got_n, [n], atol=1e-9, err_msg=sp.SHAPE_NAMES[shape])


def test_misses_are_infinite() -> None:
    for shape in range(4):
        t, _ = sp.intersect(shape, 1.0, *ray((0, 3, -5), (0, 0, 1)))  # passes above
        assert np.isinf(t).all()
        t, _ = sp.intersect(shape, 1.0, *ray((0, 0.3, -5), (0, 0, -1)))  # points away
        assert np.isinf(t).all()


def on_surface(shape: int, s: float, p: np.ndarray) -> np.ndarray:
    """Distance of points (n, 3) from the shape's surface (0 on it)."""
    x, y, z = p.T
    if shape == 0:
        a = 0.45 * s
        q = np.abs(p - [0, a, 0])
        return np.abs(q.max(1) - a)
    if shape == 1:
        r, h = 0.45 * s, 0.9 * s
        side = np.abs(np.hypot(x, z) - r) + np.maximum(0, -y) + np.maximum(0, y - h)
        top = np.abs(y - h) + np.maximum(0, np.hypot(x, z) - r)
        return np.minimum(side, top)
    if shape == 2:
        return np.abs(np.linalg.norm(p - [0, 0.5 * s, 0], axis=1) - 0.5 * s)
    r, half = 0.3 * s, 0.4 * s
    core = np.stack([np.clip(x, -half, half), np.full_like(x, r), np.zeros_like(x)], 1)
    return np.abs(np.linalg.norm(p - core, axis=1) - r)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 3),
    st.floats(0.75, 1.25),
    st.floats(-math.pi, math.pi),
    st.floats(0.05, 1.2),
    st.floats(-0.2, 0.2),
    st.floats(-0.2, 0.2),
)
def test_hits_lie_on_the_surface_with_unit_normals(shape, s, yaw, height, jx, jy) -> None:
    o = np.array([4 * math.sin(yaw), 1.5, -4 * math.cos(yaw)])
    target = np.array([jx, height * s, jy])
    t, n = sp.intersect(shape, s, *ray(o, target - o))
    if np.isfinite(t[0]):
        d = (target - o) / np.linalg.norm(target - o)
        p = o + t[0] * d
        assert on_surface(shape, s, p[None])[0] < 1e-7
        np.testing.assert_allclose(np.linalg.norm(n[0]), 1.0, atol=1e-7)
        assert n[0] @ d < 1e-12  # the normal faces the incoming ray


@pytest.mark.parametrize("shape", range(4))
def test_silhouettes_are_mirrored_by_opposite_orientations(shape: int) -> None:
    """The room and objects are symmetric under x -> -x, so orientations +a and -a see mirrored
    silhouettes."""
    masks = []
    for theta in (-30.0, 30.0):
        o, d = sp.camera(theta, 1)
        t_bg, _, _ = sp.background(o, d)
        t_obj, _ = sp.intersect(shape, 1.25, o, d)
        masks.append((t_obj < t_bg).reshape(64, 64))
    assert masks[0].sum() > 100
    assert (masks[0] != masks[1][:, ::-1]).sum() <= 2  # float ties at the edges at most


def test_every_camera_ray_hits_the_floor_or_a_wall() -> None:
    for theta in sp.FACTOR_VALUES["orientation"]:
        o, d = sp.camera(float(theta), 1)
        t, material, _ = sp.background(o, d)
        assert np.isfinite(t).all()
        m = material.reshape(64, 64)
        assert (m[0] == sp.WALL).all() and (m[-1] == sp.FLOOR).all()
        p = o + t[:, None] * d
        np.testing.assert_allclose(p[material == sp.FLOOR, 1], 0.0, atol=1e-9)


# ---- the weight maps and the colour model -----------------------------------------------------


def test_weights_are_shading_fractions(ds) -> None:
    w = ds.weights
    assert w.shape == (480, 3, 4096) and w.dtype == np.float32
    total = w.sum(1)
    assert total.min() >= sp.AMBIENT - 1e-6 and total.max() <= sp.AMBIENT + sp.DIFFUSE + 1e-6
    assert (w >= 0).all()


def test_the_sphere_shadows_exactly_the_floor_points_it_hides_from_the_light() -> None:
    r = sp.SPHERE_RADIUS * sp.FACTOR_VALUES["scale"][3]
    centre = np.array([0.0, r, 0.0])
    o, d = sp.camera(0.0, 1)
    t, material, _ = sp.background(o, d)
    p = o + t[:, None] * d
    w = sp.render_orientation(0.0, 1)[3, 2, sp.FLOOR]  # scale index 3, sphere, floor weights
    visible = (material == sp.FLOOR) & (w > 0)
    v = centre - p  # distance from the centre to the ray p + s LIGHT, s >= 0
    s = np.maximum(v @ sp.LIGHT, 0.0)
    dist = np.linalg.norm(v - s[:, None] * sp.LIGHT, axis=1)
    dark, lit = visible & (dist < 0.95 * r), visible & (dist > 1.05 * r)
    assert dark.sum() > 10 and lit.sum() > 1000
    np.testing.assert_allclose(w[dark], sp.AMBIENT, atol=1e-6)
    np.testing.assert_allclose(w[lit], sp.AMBIENT + sp.DIFFUSE * sp.LIGHT[1], atol=1e-6)


def test_hue_rgb() -> None:
    s, v = sp.SATURATION, sp.VALUE
    lo = v * (1 - s)
    np.testing.assert_allclose(
        sp.hue_rgb(np.array([0.0, 1 / 3, 2 / 3])), [[v, lo, lo], [lo, v, lo], [lo, lo, v]]
    )
    h = sp.hue_rgb(np.random.default_rng(0).random(1000))
    np.testing.assert_allclose(h.max(1), v)
    np.testing.assert_allclose(h.min(1), lo)


def test_images_are_the_linear_colour_model(ds) -> None:
    f = rows(scale=5, shape=1, orientation=3)[::37]
    x = ds.images_for(f).numpy().reshape(len(f), 3, -1).astype(np.float64)
    g = (5 * 4 + 1) * 15 + 3
    rgb = sp.hue_rgb(sp.FACTOR_VALUES["floor_hue"][f[:, :3]]) * 255  # (n, material, channel)
    expected = np.einsum("nmc,mp->ncp", rgb, ds.weights[g].astype(np.float64))
    assert np.abs(x - expected).max() <= 0.5 + 1e-3


def test_each_hue_changes_only_its_material(ds) -> None:
    g = (2 * 4 + 3) * 15 + 9
    w = ds.weights[g]
    base = ds.images_for(np.array([[1, 4, 7, 2, 3, 9]])).numpy()[0].reshape(3, -1)
    for k in range(3):
        f = np.array([[1, 4, 7, 2, 3, 9]])
        f[0, k] = 6
        other = ds.images_for(f).numpy()[0].reshape(3, -1)
        changed = (other != base).any(0)
        assert changed.any()
        assert (w[k][changed] > 0).all()  # only pixels that show material k


def test_object_area_grows_with_scale(ds) -> None:
    for shape in range(4):
        for orientation in (0, 7, 14):
            g = (np.arange(8) * 4 + shape) * 15 + orientation
            area = (ds.weights[g, sp.OBJECT] > 0).sum(1)
            assert (np.diff(area) >= 0).all() and area[-1] > 1.4 * area[0]


def test_orientation_moves_the_background(ds) -> None:
    g = (3 * 4 + 2) * 15 + np.arange(15)  # sphere: only the camera angle changes
    walls = ds.weights[g, sp.WALL]
    assert all(not np.array_equal(walls[i], walls[i + 1]) for i in range(14))


# ---- the dataset contract ---------------------------------------------------------------------


def test_batch_is_images_over_255_and_independent_of_batch_layout(ds) -> None:
    index = torch.from_numpy(np.random.default_rng(0).choice(480_000, 100, replace=False))
    x = ds.images(index)
    assert x.dtype == torch.uint8 and x.shape == (100, 3, 64, 64)
    b = ds.batch(index, "cpu")
    assert b.dtype == torch.float32 and torch.equal(b, x.float() / 255)
    perm = torch.randperm(100, generator=torch.Generator().manual_seed(1))
    assert torch.equal(ds.images(index[perm]), x[perm])
    singles = torch.cat([ds.images(index[i : i + 1]) for i in range(0, 100, 9)])
    assert torch.equal(singles, x[::9])
    assert torch.equal(ds.images_for(ds.factors(index).numpy()), x)


def test_images_for_rejects_out_of_range(ds) -> None:
    with pytest.raises(ValueError, match="not in the dataset"):
        ds.images_for(np.array([[0, 0, 10, 0, 0, 0]]))
    with pytest.raises(IndexError):
        ds.images(torch.tensor([0, 480_000]))


def test_subset_and_registry(cache_folder) -> None:
    sub = load_dataset("shapes3d", subset=50, seed=3, path=str(cache_folder), supersample=SS)
    assert isinstance(sub, Subset) and len(sub) == 50
    f = sub.factors(torch.arange(50)).numpy()
    assert np.array_equal(sub.images(torch.arange(50)), sub.images_for(f))
    assert len(np.unique(grid.ravel(f, sp.FACTOR_SIZES))) == 50


def test_cache_round_trip_and_stale_cache(cache_folder, ds) -> None:
    path = sp.cache_path(cache_folder, SS)
    assert f"v{sp.RENDERER_VERSION}" in path.name and f"ss{SS}" in path.name
    assert np.array_equal(np.load(path), ds.weights)
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size - 100)
    with pytest.warns(UserWarning, match="corrupt"):
        again = sp.load_or_build_weights(cache_folder, supersample=SS)
    assert np.array_equal(again, ds.weights)  # the renderer is deterministic
    assert np.array_equal(np.load(path), ds.weights)  # and the cache was rewritten
