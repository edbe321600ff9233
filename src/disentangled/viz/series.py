"""Time series out of ``metrics.jsonl`` records: scalars and per-dimension vectors by step."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

Record = dict[str, Any]

NOT_SERIES = frozenset({"step", "event", "message"})
# Shown first, in this order, when present; other keys follow in order of first appearance.
PREFERRED = ("loss", "recon", "kl", "capacity", "mi", "kl_qz_pz", "tc", "dwkl", "kl_post")
LAST = ("images_per_s", "time")


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def scalar_keys(records: Iterable[Record]) -> list[str]:
    """Every key with a numeric value in some record (``step`` excepted), in display order."""
    seen: dict[str, None] = {}
    for rec in records:
        for k, v in rec.items():
            if k not in NOT_SERIES and is_number(v):
                seen.setdefault(k, None)
    return display_order(seen)


def display_order(keys: Iterable[str]) -> list[str]:
    """PREFERRED keys first, LAST keys last, the others in their given order; no repeats."""
    keys = list(dict.fromkeys(keys))
    first = [k for k in PREFERRED if k in keys]
    last = [k for k in LAST if k in keys]
    return first + [k for k in keys if k not in first and k not in last] + last


def vector_keys(records: Iterable[Record]) -> list[str]:
    """Keys ending in ``_dims`` whose values are lists (per-dimension terms), in order seen."""
    seen: dict[str, None] = {}
    for rec in records:
        for k, v in rec.items():
            if k.endswith("_dims") and isinstance(v, list):
                seen.setdefault(k, None)
    return list(seen)


def series(records: Sequence[Record], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps (T,), values (T,)) of the records with a step and a finite numeric ``key``."""
    pts = [
        (float(r["step"]), float(r[key]))
        for r in records
        if is_number(r.get("step")) and is_number(r.get(key)) and math.isfinite(r[key])
    ]
    if not pts:
        return np.zeros(0), np.zeros(0)
    arr = np.asarray(pts, dtype=np.float64)
    return arr[:, 0], arr[:, 1]


def joint_series(records: Sequence[Record], keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(steps (T,), values (T, len(keys))) of the records where every key is finite."""
    rows = [
        [float(r["step"]), *(float(r[k]) for k in keys)]
        for r in records
        if is_number(r.get("step"))
        and all(is_number(r.get(k)) and math.isfinite(r[k]) for k in keys)
    ]
    if not rows:
        return np.zeros(0), np.zeros((0, len(keys)))
    arr = np.asarray(rows, dtype=np.float64)
    return arr[:, 0], arr[:, 1:]


def dims_series(records: Sequence[Record], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps (T,), values (T, D)) of a per-dimension term; D is the length in the last record
    that has ``key`` (records of another length are left out); null entries become NaN."""
    rows = [r for r in records if is_number(r.get("step")) and isinstance(r.get(key), list)]
    if not rows:
        return np.zeros(0), np.zeros((0, 0))
    d = len(rows[-1][key])
    rows = [r for r in rows if len(r[key]) == d]
    steps = np.array([float(r["step"]) for r in rows])
    vals = np.array(
        [[float(v) if is_number(v) else np.nan for v in r[key]] for r in rows], dtype=np.float64
    ).reshape(len(rows), d)
    return steps, vals


def last_values(records: Sequence[Record]) -> dict[str, float]:
    """The last finite value of every scalar key, in display order."""
    out: dict[str, float] = {}
    for k in scalar_keys(records):
        _, v = series(records, k)
        if v.size:
            out[k] = float(v[-1])
    return out


def last_step(records: Sequence[Record]) -> int | None:
    """The largest step logged, or None for an empty log."""
    steps = [int(r["step"]) for r in records if is_number(r.get("step"))]
    return max(steps) if steps else None
