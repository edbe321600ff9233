"""Disentanglement metrics: seeded sampling from an encoder and a dataset, and array scoring cores.

``score(name, codes, factors, codes_test, factors_test, mode=..., seed=...)`` scores arrays,
``evaluate(encode, dataset, metrics, ...)`` samples and scores, ``available_metrics()`` lists
the names. ``mode="compat"`` reproduces disentanglement_lib; ``mode="fast"`` (default) computes
the same definitions faster (see docs/metrics.md for the measured deviations).

The names are imported on first use, so that a worker process can import one scoring module
(e.g. :mod:`.gbt`, numpy and scipy only) without torch and scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._checks import MetricInputError
    from .api import available_metrics, evaluate, score
    from .registry import DEFAULT_SUITE

_EXPORTS = {
    "DEFAULT_SUITE": ".registry",
    "MetricInputError": "._checks",
    "available_metrics": ".api",
    "evaluate": ".api",
    "score": ".api",
}

__all__ = ["DEFAULT_SUITE", "MetricInputError", "available_metrics", "evaluate", "score"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
