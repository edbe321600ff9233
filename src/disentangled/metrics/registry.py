"""Metric names, their array-level scoring cores and the reference's default sample sizes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .beta_vae import beta_vae_score
from .clustering import clustering
from .dci import dci
from .factor_vae import factor_vae_score
from .irs import irs
from .mig import mig
from .modularity import modularity_explicitness
from .sap import sap
from .unsupervised import unsupervised


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its scoring core, whether it needs a test set, its factor needs and sizes."""

    name: str
    core: Callable[..., dict]
    needs_test: bool
    min_factors: int
    sizes: dict[str, int] = field(default_factory=dict)
    seeded: bool = False  # the core takes ``seed`` (stochastic estimator)
    sampled: bool = True  # evaluate() can sample it from an encoder and a dataset


METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec(
            "beta_vae",
            beta_vae_score,
            True,
            2,
            {"num_train": 10000, "num_eval": 5000, "batch_size": 64},
        ),
        MetricSpec(
            "factor_vae",
            factor_vae_score,
            True,
            2,
            {
                "num_train": 10000,
                "num_eval": 5000,
                "batch_size": 64,
                "num_variance_estimate": 10000,
            },
        ),
        MetricSpec("mig", mig, False, 1, {"num_train": 10000, "batch_size": 16}),
        MetricSpec(
            "dci",
            dci,
            True,
            2,
            {"num_train": 10000, "num_test": 5000, "batch_size": 16},
            seeded=True,
        ),
        MetricSpec("sap", sap, True, 1, {"num_train": 10000, "num_test": 5000, "batch_size": 16}),
        MetricSpec(
            "modularity_explicitness",
            modularity_explicitness,
            True,
            2,
            {"num_train": 10000, "num_test": 5000, "batch_size": 16},
        ),
        MetricSpec("irs", irs, False, 1, {"num_train": 10000, "batch_size": 16}),
        MetricSpec("unsupervised", unsupervised, False, 0, {"num_train": 10000, "batch_size": 16}),
        MetricSpec("clustering", clustering, False, 1, {}, sampled=False),
    )
}

ALIASES = {
    "betavae": "beta_vae",
    "factorvae": "factor_vae",
    "modularity": "modularity_explicitness",
    "explicitness": "modularity_explicitness",
    "sap_score": "sap",
    "discrete_mig": "mig",
}

DEFAULT_SUITE = ("beta_vae", "factor_vae", "mig", "dci", "sap", "modularity_explicitness")
