"""Input checks shared by the scoring cores, and the error they raise."""

from __future__ import annotations

import numpy as np

from disentangled.errors import UserError

MODES = ("fast", "compat")


class MetricInputError(UserError):
    """Arrays, a dataset or a representation that a metric cannot score (one clear line)."""


def check_mode(mode: str) -> str:
    """Return ``mode`` if it is ``"fast"`` or ``"compat"``, else raise :class:`MetricInputError`."""
    if mode not in MODES:
        raise MetricInputError(f"mode must be one of {MODES}, got {mode!r}")
    return mode


def as_codes(codes: object, name: str = "codes") -> np.ndarray:
    """Validate a code matrix (N, D) of finite floats; returns it as a float ndarray."""
    arr = np.asarray(codes)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise MetricInputError(f"{name} must be a non-empty (N, D) array, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise MetricInputError(f"{name} contains NaN or infinite values")
    return arr


def as_factors(factors: object, n: int | None = None, name: str = "factors") -> np.ndarray:
    """Validate a factor matrix (N, K) of integers; returns it as an int64 ndarray."""
    arr = np.asarray(factors)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise MetricInputError(f"{name} must be a non-empty (N, K) array, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer) and (
        not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr))
    ):
        raise MetricInputError(f"{name} must hold integer factor indices")
    arr = arr.astype(np.int64)
    if n is not None and arr.shape[0] != n:
        raise MetricInputError(f"{name} has {arr.shape[0]} rows but the codes have {n}")
    return arr


def require(condition: bool, message: str) -> None:
    """Raise :class:`MetricInputError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise MetricInputError(message)


def require_varying_factors(factors: np.ndarray, metric: str) -> None:
    """Every factor column must take at least two values in the sample."""
    constant = np.flatnonzero(factors.min(axis=0) == factors.max(axis=0))
    require(
        constant.size == 0,
        f"{metric} needs every factor to vary in the sample; factor(s) "
        f"{constant.tolist()} are constant (use more points or drop those factors)",
    )
