"""Disentanglement metrics: seeded sampling from an encoder and a dataset, and array scoring cores.

``score(name, codes, factors, codes_test, factors_test, mode=..., seed=...)`` scores arrays,
``evaluate(encode, dataset, metrics, ...)`` samples and scores, ``available_metrics()`` lists
the names. ``mode="compat"`` reproduces disentanglement_lib; ``mode="fast"`` (default) computes
the same definitions faster (see docs/metrics.md for the measured deviations).
"""

from __future__ import annotations

from ._checks import MetricInputError
from .api import available_metrics, evaluate, score
from .registry import DEFAULT_SUITE

__all__ = ["DEFAULT_SUITE", "MetricInputError", "available_metrics", "evaluate", "score"]
