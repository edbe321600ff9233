"""One call per use: ``score`` for arrays, ``evaluate`` for an encoder and a dataset."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import torch

from ._checks import MetricInputError, check_mode
from .beta_vae import sample_beta_vae_points
from .estimators import one_blas_thread
from .factor_vae import sample_factor_vae_points, sample_global_variances
from .registry import ALIASES, DEFAULT_SUITE, METRICS, MetricSpec
from .sampling import CodeCache, Encoder, check_dataset, sample_codes


def available_metrics() -> tuple[str, ...]:
    """Names accepted by :func:`score` (and, except ``clustering``, by :func:`evaluate`)."""
    return tuple(METRICS)


def _spec(name: str) -> MetricSpec:
    key = ALIASES.get(name.lower(), name.lower())
    if key not in METRICS:
        raise MetricInputError(f"unknown metric {name!r}; available: {', '.join(METRICS)}")
    return METRICS[key]


def score(
    name: str,
    codes: np.ndarray,
    factors: np.ndarray | None,
    codes_test: np.ndarray | None = None,
    factors_test: np.ndarray | None = None,
    *,
    mode: str = "fast",
    seed: int = 0,
    **options,
) -> dict:
    """Score arrays with one metric's core; returns the reference's key names.

    codes (N, D) float, factors (N, K) int; a test set where the metric needs one. For
    ``beta_vae`` the arrays are the sampled per-point features (N, D) and fixed-factor labels
    (N,); for ``factor_vae`` the per-point local code variances (N, D) and labels (N,), with
    ``global_variances=`` (D,) in ``options``. Other options go to the core (e.g. ``num_bins``).
    """
    check_mode(mode)
    spec = _spec(name)
    if spec.needs_test and (codes_test is None or factors_test is None):
        raise MetricInputError(f"{spec.name} needs codes_test and factors_test")
    if spec.name != "unsupervised":
        if factors is None:
            raise MetricInputError(f"{spec.name} needs ground-truth factors")
        if spec.seeded:
            options["seed"] = seed
    args = (codes, factors)
    if spec.needs_test or spec.name == "clustering":
        args += (codes_test, factors_test)
    with one_blas_thread():
        return spec.core(*args, mode=mode, **options)


def _evaluate_one(
    spec: MetricSpec, cache: CodeCache, sizes: Mapping[str, int], mode: str, seed: int
) -> dict:
    rng = np.random.RandomState(seed)  # each metric starts from the seed, as in the reference
    batch = sizes["batch_size"]
    if spec.name == "beta_vae":
        x, y = sample_beta_vae_points(cache, sizes["num_train"], rng, batch_size=batch, mode=mode)
        x_eval, y_eval = sample_beta_vae_points(
            cache, sizes["num_eval"], rng, batch_size=batch, mode=mode
        )
        return score(spec.name, x, y, x_eval, y_eval, mode=mode)
    if spec.name == "factor_vae":
        gv = sample_global_variances(cache, sizes["num_variance_estimate"], rng)
        if not np.any(np.sqrt(gv) >= 0.05):
            return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}
        lv, y = sample_factor_vae_points(
            cache, sizes["num_train"], rng, batch_size=batch, mode=mode
        )
        lv_eval, y_eval = sample_factor_vae_points(
            cache, sizes["num_eval"], rng, batch_size=batch, mode=mode
        )
        return score(
            spec.name,
            lv,
            y,
            lv_eval,
            y_eval,
            mode=mode,
            global_variances=gv,
            num_factors=len(cache.sizes),
        )
    codes, factors = sample_codes(cache, sizes["num_train"], rng, batch_size=batch)
    if spec.needs_test:
        codes_test, factors_test = sample_codes(cache, sizes["num_test"], rng, batch_size=batch)
        return score(spec.name, codes, factors, codes_test, factors_test, mode=mode, seed=seed)
    return score(spec.name, codes, factors, mode=mode, seed=seed)


def evaluate(
    encode: Encoder,
    dataset,
    metrics: Iterable[str] = DEFAULT_SUITE,
    *,
    mode: str = "fast",
    seed: int = 0,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    sizes: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, dict]:
    """Sample, encode and score each metric; returns {metric: {key: value}}.

    ``encode`` maps float images (B, C, H, W) in [0, 1] on ``device`` to codes (B, D); it is
    called on at most ``batch_size`` images at a time (default: 32 on a CPU, 512 on an
    accelerator), once per distinct image. Sample sizes
    default to the reference's (see ``registry.METRICS``); override per metric, e.g.
    ``sizes={"dci": {"num_train": 1000}}``. Each metric draws from ``RandomState(seed)``.
    """
    check_mode(mode)
    specs = list({spec.name: spec for spec in map(_spec, metrics)}.values())  # aliases once
    check_dataset(dataset)
    plan = []
    for spec in specs:  # every request checked before any work starts
        if not spec.sampled:
            raise MetricInputError(
                f"{spec.name} is scored from arrays only: call score({spec.name!r}, ...)"
            )
        check_dataset(dataset, spec.min_factors, spec.name)
        merged = dict(spec.sizes)
        unknown = set((sizes or {}).get(spec.name, {})) - set(merged)
        if unknown:
            raise MetricInputError(
                f"unknown size(s) {sorted(unknown)} for {spec.name}; known: {sorted(merged)}"
            )
        merged.update((sizes or {}).get(spec.name, {}))
        plan.append((spec, merged))
    cache = CodeCache(encode, dataset, batch_size=batch_size, device=device)
    results: dict[str, dict] = {}
    for spec, merged in plan:
        try:
            results[spec.name] = _evaluate_one(spec, cache, merged, mode, seed)
        except MetricInputError as err:
            raise MetricInputError(f"{spec.name}: {err}") from err
    return results
