"""Evaluate a trained run: the disentanglement metrics and, for categorical codes, the
unsupervised classification accuracy; results go to ``RUN_DIR/eval/metrics.json``."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..data import load_configured
from ..data.base import varying_factors
from ..errors import UserError
from ..io import atomic_write_text
from ..metrics import DEFAULT_SUITE, MetricInputError
from ..metrics import evaluate as evaluate_metrics
from ..models.kind import categorical_sizes, is_generative_adversarial
from ..train.device import resolve_device
from ..train.load import load_model
from ..train.rundir import RunDir
from .discrete_code import evaluate_discrete_code, held_out_split

DISCRETE = "discrete_code"


def default_metrics(dataset, model) -> list[str]:
    """The reference suite where the dataset has >= 2 sampleable factors, plus the discrete-code
    scores when the model has categoricals."""
    names: list[str] = []
    if len(dataset.factor_sizes) >= 2 and _can_sample(dataset):
        names += list(DEFAULT_SUITE)
    if _disc(model):
        names.append(DISCRETE)
    return names


def _can_sample(dataset) -> bool:
    import numpy as np

    try:
        f = dataset.sample_factors(2, np.random.RandomState(0))
        dataset.images_for(f)
    except Exception:  # noqa: BLE001 - any failure means "cannot sample by factors"
        return False
    return True


def _disc(model) -> list[int]:
    return categorical_sizes(model)


def _score_categorical(model, dataset, device) -> dict:
    """The categorical codes' scores: Q's argmax for an InfoGAN, the posterior's for a VAE."""
    if is_generative_adversarial(model):
        from .infogan import evaluate_infogan_categorical

        return evaluate_infogan_categorical(model, dataset, device)
    return evaluate_discrete_code(model, dataset, device)


def evaluate_run(
    run_dir: str | Path,
    metrics: Sequence[str] | None = None,
    *,
    mode: str = "fast",
    seed: int = 0,
    device: str = "auto",
    sizes: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, Any]:
    """Score the newest checkpoint of a run; write and return the ``eval/metrics.json`` record
    ``{"metrics": {name: {key: value}}, "mode", "seed", "step", "sizes", "seconds", "version"}``."""
    run = RunDir.open(run_dir)
    cfg = run.load_config()
    dev = resolve_device(device)
    dataset = load_configured(cfg.data, seed=cfg.train.seed)
    _, model, step = load_model(run, image_shape=dataset.image_shape, device=dev)
    dataset = varying_factors(dataset)  # as disentanglement_lib: constant factors are not scored
    names = list(metrics) if metrics else default_metrics(dataset, model)
    if not names:
        raise UserError(
            f"no metric applies to this run: dataset {cfg.data.name!r} has "
            f"{len(dataset.factor_sizes)} factor(s) and the model no categorical code"
        )
    t0 = time.perf_counter()
    results: dict[str, dict] = {}
    suite = [n for n in names if n != DISCRETE]
    if suite:
        results.update(
            evaluate_metrics(
                model.encode, dataset, suite, mode=mode, seed=seed, device=dev, sizes=sizes
            )
        )
    if DISCRETE in names:
        if not _disc(model):
            raise MetricInputError("discrete_code: the model has no categorical latent")
        test = held_out_split(cfg.data.name, cfg.data.path, cfg.data.size) or dataset
        results[DISCRETE] = _score_categorical(model, test, dev)
    record = {
        "metrics": results,
        "mode": mode,
        "seed": seed,
        "step": step,
        "dataset": cfg.data.name,
        "sizes": {k: dict(v) for k, v in (sizes or {}).items()},
        "seconds": round(time.perf_counter() - t0, 3),
        "device": str(dev),
        "version": __version__,
    }
    run.eval.mkdir(exist_ok=True)
    atomic_write_text(run.eval / "metrics.json", json.dumps(record, indent=2) + "\n")
    return record


def flatten(record: Mapping[str, Any]) -> dict[str, float]:
    """``{"mig.discrete_mig": 0.3, ...}``: every scalar of the metrics record."""
    out: dict[str, float] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[prefix] = float(value)

    walk("", record.get("metrics", {}))
    return out


def as_table(record: Mapping[str, Any]) -> str:
    """A plain-text table of the scalar results."""
    rows = flatten(record)
    width = max((len(k) for k in rows), default=10)
    lines = [f"{k:<{width}}  {v:>10.4f}" for k, v in rows.items()]
    head = (
        f"step {record.get('step')}  mode {record.get('mode')}  seed {record.get('seed')}  "
        f"{record.get('seconds', 0):.1f} s on {record.get('device')}"
    )
    return "\n".join([head, *lines])
