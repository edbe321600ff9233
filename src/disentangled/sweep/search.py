"""Random-search points: each drawn from a numpy generator seeded by (seed, experiment name)."""

from __future__ import annotations

import math
import zlib
from typing import Any

import numpy as np

from .spec import RandomSearch

SIGNIFICANT = 6  # random floats are rounded to 6 significant digits (readable ids and configs)


def random_points(search: RandomSearch, experiment: str) -> list[dict[str, Any]]:
    """``search.samples`` points {key: value}, reproducible from the seed and the experiment's
    name (so reordering experiments does not change them). Keys are drawn in the space's order."""
    rng = np.random.default_rng([search.seed, zlib.crc32(experiment.encode())])
    return [
        {key: draw(dist, rng) for key, dist in search.space.items()} for _ in range(search.samples)
    ]


def draw(dist: Any, rng: np.random.Generator) -> Any:
    """One value of a distribution (see :func:`disentangled.sweep.spec._check_distribution`)."""
    if isinstance(dist, list):
        return dist[int(rng.integers(len(dist)))]
    if not isinstance(dist, dict):
        return dist
    kind, args = next(iter(dist.items()))
    if kind == "choice":
        return args[int(rng.integers(len(args)))]
    lo, hi = args
    if kind == "randint":
        return int(rng.integers(lo, hi, endpoint=True))
    if kind == "uniform":
        return _round(float(rng.uniform(lo, hi)))
    # loguniform: uniform in log space
    return _round(float(math.exp(rng.uniform(math.log(lo), math.log(hi)))))


def _round(x: float) -> float:
    return float(f"{x:.{SIGNIFICANT}g}")
