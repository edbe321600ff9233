"""Procedural 3D shapes: the Shapes3D factor space ray-cast here, rendered per batch (no download).

Factors in the official order and sizes (10, 10, 10, 8, 4, 15), orientation fastest, 480,000
RGB 64x64 images whose flat index is the mixed-radix number of the factor indices:
floor_hue, wall_hue, object_hue (10 hues each, 0, 0.1, ..., 0.9), scale (8 values
linspace(0.75, 1.25, 8)), shape (cube, cylinder, sphere, capsule), orientation (15 angles
linspace(-30, 30, 15) degrees).

The scene (world units, y up): a floor ``y = 0`` and three walls ``x = -ROOM``, ``x = +ROOM``,
``z = +ROOM``; the object stands on the floor at the origin; one directional light ``LIGHT``
with Lambert shading plus ``AMBIENT`` and cast shadows. ``orientation`` orbits the camera about
the vertical axis through the object (so the object and the room corners turn together).

Rendering is linear in the three colours: an image is ``sum_m W[g, m] * rgb(hue_m)`` over the
materials m = floor, wall, object, where ``W[g, m]`` (4096 px) holds the supersampled coverage
times shading of material m for geometry g = (scale, shape, orientation), 480 geometries in all.
:func:`build_weights` ray-casts those 480 maps once (float32, 23.6 MB, cached on disk); a batch
is then a gather and a (3 x 3) @ (3 x 4096) product per image, so nothing else is stored and
any subset or factor combination costs the same.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from . import cache, grid
from .arrays import unit_float
from .base import GroundTruthData, Subset
from .download import cache_dir

NAME = "shapes3d"
FACTOR_NAMES = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
FACTOR_SIZES = (10, 10, 10, 8, 4, 15)
SHAPE_NAMES = ("cube", "cylinder", "sphere", "capsule")
FACTOR_VALUES = {
    "floor_hue": np.linspace(0.0, 0.9, 10),
    "wall_hue": np.linspace(0.0, 0.9, 10),
    "object_hue": np.linspace(0.0, 0.9, 10),
    "scale": np.linspace(0.75, 1.25, 8),
    "shape": np.arange(4.0),
    "orientation": np.linspace(-30.0, 30.0, 15),
}
IMAGE_SHAPE = (3, 64, 64)
NUM_IMAGES = math.prod(FACTOR_SIZES)  # 480,000
NUM_GEOMETRIES = math.prod(FACTOR_SIZES[3:])  # 480 = scale x shape x orientation
RENDERER_VERSION = 1  # bump whenever the rendered pixels change: it names the cache file
SUPERSAMPLE = 4  # rays per pixel = SUPERSAMPLE ** 2
RENDER_CHUNK = 32  # images per matmul step of a batch

# scene constants (world units; y up; camera at orientation 0 looks along +z)
ROOM = 2.6  # walls at x = -ROOM, x = +ROOM, z = +ROOM
CAMERA_DISTANCE = 4.2  # horizontal distance of the camera from the vertical axis
CAMERA_HEIGHT = 1.7
TARGET_HEIGHT = 0.5  # the camera looks at (0, TARGET_HEIGHT, 0)
FOV_DEGREES = 40.0  # full field of view, vertical = horizontal
LIGHT = np.array([-0.45, 1.0, -0.55]) / np.linalg.norm([-0.45, 1.0, -0.55])  # towards the light
AMBIENT = 0.35
DIFFUSE = 0.65
SATURATION = 0.85  # HSV saturation and value of the hues
VALUE = 1.0
_EPS = 1e-4
FLOOR, WALL, OBJECT = 0, 1, 2

# object dimensions at scale 1 (scale multiplies all lengths)
CUBE_HALF = 0.45  # cube of side 0.9
CYLINDER_RADIUS, CYLINDER_HEIGHT = 0.45, 0.9  # vertical axis
SPHERE_RADIUS = 0.5
CAPSULE_RADIUS, CAPSULE_HALF_LENGTH = 0.3, 0.4  # lying along x: segment +-0.4, radius 0.3


def hue_rgb(hue: np.ndarray) -> np.ndarray:
    """HSV (hue, SATURATION, VALUE) -> RGB in [0, 1]: (...,) -> (..., 3) float64."""
    h = (np.asarray(hue, dtype=np.float64) % 1.0)[..., None] * 6.0
    k = (np.array([5.0, 3.0, 1.0]) + h) % 6.0
    return VALUE - VALUE * SATURATION * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def camera(theta_degrees: float, supersample: int) -> tuple[np.ndarray, np.ndarray]:
    """Camera position (3,) and unit ray directions (P, 3), P = (64 s)^2 row-major (y down)."""
    th = math.radians(theta_degrees)
    origin = np.array(
        [CAMERA_DISTANCE * math.sin(th), CAMERA_HEIGHT, -CAMERA_DISTANCE * math.cos(th)]
    )
    forward = np.array([0.0, TARGET_HEIGHT, 0.0]) - origin
    forward /= np.linalg.norm(forward)
    right = np.cross([0.0, 1.0, 0.0], forward)
    right /= np.linalg.norm(right)
    up = np.cross(forward, right)
    n = IMAGE_SHAPE[1] * supersample
    s = ((np.arange(n) + 0.5) / n * 2.0 - 1.0) * math.tan(math.radians(FOV_DEGREES) / 2)
    sx, sy = s[None, :], -s[:, None]
    d = forward + sx[..., None] * right + sy[..., None] * up  # (n, n, 3)
    d = d.reshape(-1, 3)
    return origin, d / np.linalg.norm(d, axis=1, keepdims=True)


def background(o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest floor/wall hit of rays from ``o`` (3,): distance t (P,), material (P,) (FLOOR or
    WALL) and surface normal (P, 3)."""
    normals = np.array([[0, 1, 0], [0, 0, -1], [-1, 0, 0], [1, 0, 0]], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ts = np.stack(
            [
                np.where(d[:, 1] < 0, -o[1] / d[:, 1], np.inf),  # floor y = 0
                np.where(d[:, 2] > 0, (ROOM - o[2]) / d[:, 2], np.inf),  # back wall z = ROOM
                np.where(d[:, 0] > 0, (ROOM - o[0]) / d[:, 0], np.inf),  # right wall x = ROOM
                np.where(d[:, 0] < 0, (-ROOM - o[0]) / d[:, 0], np.inf),  # left wall x = -ROOM
            ]
        )
    which = ts.argmin(axis=0)
    t = ts[which, np.arange(len(d))]
    if not np.isfinite(t).all():
        raise AssertionError("a camera ray leaves the room")
    return t, np.where(which == 0, FLOOR, WALL), normals[which]


def _sphere(o: np.ndarray, d: np.ndarray, centre: np.ndarray, r: float) -> np.ndarray:
    """Rays o (P, 3), d (P, 3) against a sphere: nearest t > eps, inf when missed: (P,)."""
    oc = o - centre
    b = (oc * d).sum(1)
    c = (oc * oc).sum(1) - r * r
    disc = b * b - c
    root = np.sqrt(np.maximum(disc, 0.0))
    t = -b - root
    t = np.where(t > _EPS, t, -b + root)
    return np.where((disc >= 0) & (t > _EPS), t, np.inf)


def _box(
    o: np.ndarray, d: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rays (P, 3) against an axis-aligned box: nearest t (P,), inf when missed; entry axis (P,)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d
        t1, t2 = (lo - o) * inv, (hi - o) * inv
        tn, tf = np.minimum(t1, t2), np.maximum(t1, t2)
        near, far = tn.max(axis=1), tf.min(axis=1)
        hit = (near <= far) & (near > _EPS)
    return np.where(hit, near, np.inf), tn.argmax(axis=1)


def _tube(
    o: np.ndarray, d: np.ndarray, axis: int, centre: np.ndarray, r: float, lo: float, hi: float
) -> np.ndarray:
    """Rays (P, 3) against the side of a cylinder of radius r along ``axis`` through ``centre``,
    limited to ``lo <= coordinate <= hi`` on that axis: nearest t (P,), inf when missed."""
    other = [i for i in range(3) if i != axis]
    oo = (o - centre)[:, other]
    dd = d[:, other]
    a = (dd * dd).sum(1)
    b = (oo * dd).sum(1)
    c = (oo * oo).sum(1) - r * r
    disc = b * b - a * c
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (-b - np.sqrt(np.maximum(disc, 0.0))) / a
    along = o[:, axis] + t * d[:, axis]
    ok = (disc >= 0) & (a > 1e-12) & (t > _EPS) & (along >= lo) & (along <= hi)
    return np.where(ok, t, np.inf)


def intersect(
    shape: int, scale: float, o: np.ndarray, d: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rays from ``o`` ((3,) or (P, 3)) along unit ``d`` (P, 3) against object ``shape`` at
    ``scale``: nearest distance t (P,) (inf when missed) and unit normals (P, 3) at the hits."""
    o2 = np.broadcast_to(o, d.shape)
    if shape == 0:  # cube standing on the floor
        a = CUBE_HALF * scale
        t, axis = _box(o2, d, np.array([-a, 0.0, -a]), np.array([a, 2 * a, a]))
        normal = np.zeros_like(d)
        rows = np.arange(len(d))
        normal[rows, axis] = -np.sign(d[rows, axis])
        return t, normal
    p_of = lambda t: o2 + np.where(np.isfinite(t), t, 0.0)[:, None] * d  # noqa: E731
    if shape == 2:  # sphere resting on the floor
        r = SPHERE_RADIUS * scale
        centre = np.array([0.0, r, 0.0])
        t = _sphere(o2, d, centre, r)
        return t, (p_of(t) - centre) / r
    if shape == 1:  # vertical cylinder with a flat top
        r, h = CYLINDER_RADIUS * scale, CYLINDER_HEIGHT * scale
        side = _tube(o2, d, 1, np.zeros(3), r, 0.0, h)
        with np.errstate(divide="ignore", invalid="ignore"):
            tc = (h - o2[:, 1]) / d[:, 1]
        pc = o2 + np.where(np.isfinite(tc), tc, 0.0)[:, None] * d
        top = np.where((tc > _EPS) & (pc[:, 0] ** 2 + pc[:, 2] ** 2 <= r * r), tc, np.inf)
        t = np.minimum(side, top)
        p = p_of(t)
        normal = np.stack([p[:, 0] / r, np.zeros(len(d)), p[:, 2] / r], axis=1)
        normal[top <= side] = (0.0, 1.0, 0.0)
        return t, normal
    # capsule lying along x: a segment of half-length l at height r, radius r
    r, half = CAPSULE_RADIUS * scale, CAPSULE_HALF_LENGTH * scale
    t = _tube(o2, d, 0, np.array([0.0, r, 0.0]), r, -half, half)
    for end in (-half, half):
        t = np.minimum(t, _sphere(o2, d, np.array([end, r, 0.0]), r))
    p = p_of(t)
    core = np.stack([np.clip(p[:, 0], -half, half), np.full(len(d), r), np.zeros(len(d))], 1)
    return t, (p - core) / r


def _lambert(normal: np.ndarray) -> np.ndarray:
    return AMBIENT + DIFFUSE * np.maximum(normal @ LIGHT, 0.0)


def render_orientation(theta_degrees: float, supersample: int = SUPERSAMPLE) -> np.ndarray:
    """Weight maps of one camera angle for every (scale, shape): float32 (8, 4, 3, 4096).

    Per pixel and material: the fraction of the pixel's rays that hit the material, each ray
    weighted by its shading (Lambert + ambient; floor and wall rays in the object's shadow get
    the ambient term only).
    """
    o, d = camera(theta_degrees, supersample)
    t_bg, material, n_bg = background(o, d)
    lit_bg = _lambert(n_bg)
    p_bg = o + t_bg[:, None] * d + 1e-3 * n_bg  # shadow-ray origins, just off the surface
    light = np.broadcast_to(LIGHT, d.shape)
    side = IMAGE_SHAPE[1]
    out = np.empty((FACTOR_SIZES[3], FACTOR_SIZES[4], 3, side * side), dtype=np.float32)
    for i, scale in enumerate(FACTOR_VALUES["scale"]):
        for shape in range(FACTOR_SIZES[4]):
            t_obj, n_obj = intersect(shape, float(scale), o, d)
            on_obj = t_obj < t_bg
            shadow_t, _ = intersect(shape, float(scale), p_bg, light)
            shade_bg = np.where(np.isfinite(shadow_t), AMBIENT, lit_bg)
            w = np.zeros((3, len(d)))
            w[FLOOR] = np.where(~on_obj & (material == FLOOR), shade_bg, 0.0)
            w[WALL] = np.where(~on_obj & (material == WALL), shade_bg, 0.0)
            w[OBJECT] = np.where(on_obj, _lambert(n_obj), 0.0)
            w = w.reshape(3, side, supersample, side, supersample).mean(axis=(2, 4))
            out[i, shape] = w.reshape(3, -1)
    return out


def build_weights(supersample: int = SUPERSAMPLE) -> np.ndarray:
    """All 480 geometries' weight maps: float32 (480, 3, 4096), row g = flat index of
    (scale, shape, orientation) in their factor sizes."""
    per_angle = [render_orientation(float(a), supersample) for a in FACTOR_VALUES["orientation"]]
    w = np.stack(per_angle, axis=2)  # (scale, shape, orientation, 3, P)
    return np.ascontiguousarray(w.reshape(NUM_GEOMETRIES, 3, -1))


def cache_path(directory: str | os.PathLike | None = None, supersample: int = SUPERSAMPLE) -> Path:
    """The cache file of the weight maps (its name carries the renderer version)."""
    base = Path(directory) if directory is not None else cache_dir()
    return base / f"shapes3d_procedural_v{RENDERER_VERSION}_ss{supersample}_weights.npy"


def load_or_build_weights(
    directory: str | os.PathLike | None = None,
    use_cache: bool = True,
    supersample: int = SUPERSAMPLE,
) -> np.ndarray:
    """The weight maps from the cache when its header and size are right, else built (and
    cached when allowed)."""
    path = cache_path(directory, supersample)
    shape = (NUM_GEOMETRIES, 3, math.prod(IMAGE_SHAPE[1:]))
    if use_cache:
        arr = cache.load(path, shape, np.float32)
        if arr is not None:
            return arr
    arr = build_weights(supersample)
    if use_cache:
        cache.save(path, arr)
    return arr


# the three hues of each image as rows of a (B, 3 materials, 3 channels) matrix, scaled to 0..255
_PALETTE = (hue_rgb(FACTOR_VALUES["floor_hue"]) * 255.0).astype(np.float32)  # (10, 3)


class Shapes3DProcedural(GroundTruthData):
    """All 480,000 procedural 3D-shapes images (RGB 3x64x64), rendered per batch from the weight
    maps (float32 (480, 3, 4096)); rows are in official mixed-radix order."""

    name = NAME
    factor_names = FACTOR_NAMES
    factor_sizes = FACTOR_SIZES
    image_shape = IMAGE_SHAPE
    binary = False

    def __init__(self, weights: np.ndarray) -> None:
        expected = (NUM_GEOMETRIES, 3, math.prod(IMAGE_SHAPE[1:]))
        if weights.shape != expected or weights.dtype != np.float32:
            raise ValueError(
                f"weights must be float32 {expected}, got {weights.dtype} {weights.shape}"
            )
        self.weights = weights

    @property
    def nbytes(self) -> int:
        return self.weights.nbytes

    def __len__(self) -> int:
        return NUM_IMAGES

    def factors(self, index: torch.Tensor) -> torch.Tensor:
        """Index long (B,) -> factor indices long (B, 6); IndexError outside 0..479,999."""
        idx = index.to("cpu", torch.long).numpy()
        if idx.size and (idx.min() < 0 or idx.max() >= NUM_IMAGES):
            raise IndexError(f"index out of range for {NUM_IMAGES} images")
        return torch.from_numpy(grid.unravel_np(idx, FACTOR_SIZES))

    def render(self, factors: np.ndarray, unit: bool = False) -> np.ndarray:
        """Factor indices (B, 6) -> float32 (B, 3, 64, 64): whole numbers 0..255, or those
        divided by 255 when ``unit``.

        Chunks of RENDER_CHUNK images keep the gathered maps and the output in cache.
        """
        f = np.asarray(factors, dtype=np.int64)
        g = (f[:, 3] * FACTOR_SIZES[4] + f[:, 4]) * FACTOR_SIZES[5] + f[:, 5]
        colours = np.ascontiguousarray(_PALETTE[f[:, :3]].transpose(0, 2, 1))  # (B, c, m)
        out = np.empty((len(f), 3, self.weights.shape[2]), dtype=np.float32)
        for s in range(0, len(f), RENDER_CHUNK):
            o = out[s : s + RENDER_CHUNK]
            np.matmul(
                colours[s : s + RENDER_CHUNK], self.weights.take(g[s : s + RENDER_CHUNK], 0), out=o
            )
            np.rint(o, out=o)
            if unit:
                o /= np.float32(255.0)
        return out.reshape(len(f), *IMAGE_SHAPE)

    def images_for(self, factors: np.ndarray) -> torch.Tensor:
        """Factor indices (n, 6) -> uint8 (n, 3, 64, 64); ValueError for indices out of range."""
        f = grid.check_factors(factors, FACTOR_SIZES)
        return torch.from_numpy(self.render(f).astype(np.uint8))

    def images(self, index: torch.Tensor) -> torch.Tensor:
        """Index long (B,) -> uint8 (B, 3, 64, 64)."""
        return torch.from_numpy(self.render(self.factors(index).numpy()).astype(np.uint8))

    def batch(self, index: torch.Tensor, device: torch.device | str) -> torch.Tensor:
        """Index long (B,) -> float32 (B, 3, 64, 64) in [0, 1], exactly ``images / 255``."""
        if torch.device(device).type != "cpu":
            return unit_float(self.images(index), device)
        return torch.from_numpy(self.render(self.factors(index).numpy(), unit=True))


def load(
    *,
    subset: int | None = None,
    seed: int = 0,
    path: str | os.PathLike | None = None,
    use_cache: bool = True,
    supersample: int = SUPERSAMPLE,
) -> GroundTruthData:
    """Registry loader. ``path``: cache folder of the weight maps; ``subset=N``: N seeded random
    images (a view: rendering costs the same for any subset)."""
    ds = Shapes3DProcedural(load_or_build_weights(path, use_cache, supersample))
    return ds if subset is None else Subset.random(ds, subset, seed)
