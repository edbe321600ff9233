"""From a sweep spec to its trials: base config x points x seeds, each with a deterministic id.

A trial's id is ``EXPERIMENT_POINT_seedS_HASH``: HASH is the first 10 hex digits of the SHA-256 of
the trial's resolved config (without its name and without the keys that may change when a run is
resumed: steps, time limit, logging and checkpoint cadence, device). The same config always gets
the same id, so ``--resume`` finds its run directory, two spellings of one config collapse into one
trial, and raising ``steps`` continues the trials instead of starting new ones.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from ..config import apply_override, from_dict, load_yaml, preset_text
from ..errors import ConfigError
from .search import random_points
from .spec import Experiment, SweepError, SweepSpec

# train.* keys that may differ between two attempts of one trial (as for `disentangled train
# --resume`); they are not part of the trial's identity.
RESUMABLE = (
    "steps",
    "time_limit",
    "progress",
    "log_every",
    "checkpoint_every",
    "keep_checkpoints",
    "device",
)
HASH_DIGITS = 10
_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+-]")


@dataclass(frozen=True)
class Trial:
    """One model of the sweep. ``config`` is the validated config mapping, or the raw mapping
    with ``error`` set when it does not validate (the trial is then recorded as failed)."""

    id: str
    experiment: str
    params: dict[str, Any]
    seed: int
    config: dict[str, Any]
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Trial:
        return cls(**raw)


def expand(spec: SweepSpec) -> list[Trial]:
    """All trials of the sweep in a fixed order (experiment, base, point, seed); a config
    reached twice (same hash) is kept once, under its first id. Raises SweepError when no trial
    has a valid config."""
    trials: dict[str, Trial] = {}  # by config hash: one config is one trial
    for exp in spec.experiments:
        for trial in _experiment_trials(exp, spec.overrides):
            trials.setdefault(trial.id.rsplit("_", 1)[1], trial)
    out = list(trials.values())
    if out and all(t.error for t in out):
        raise SweepError(f"no trial of the sweep has a valid config; the first: {out[0].error}")
    return out


def _experiment_trials(exp: Experiment, last: tuple[str, ...]) -> list[Trial]:
    points = list(exp.points)
    if exp.random is not None:
        drawn = random_points(exp.random, exp.name)
        points = [{**p, **q} for p in points for q in drawn]
    trials = []
    for kind, base in exp.bases:
        for point in points:
            for seed in exp.seeds:
                trials.append(_trial(exp, kind, base, point, seed, len(exp.bases) > 1, last))
    return trials


def _trial(
    exp: Experiment,
    kind: str,
    base: str,
    point: dict[str, Any],
    seed: int,
    name_base: bool,
    last: tuple[str, ...],
) -> Trial:
    raw = _base_raw(kind, base)
    items = [*exp.overrides]
    items += [f"{k}={json.dumps(v)}" for k, v in point.items()]
    items.append(f"train.seed={seed}")
    if exp.steps is not None:
        items.append(f"train.steps={exp.steps}")
    if exp.time_limit is not None:
        items.append(f"train.time_limit={exp.time_limit}")
    items.append("train.progress=false")
    items += last
    error = None
    try:
        for item in items:
            apply_override(raw, item)
        config = from_dict(raw).to_dict()
    except ConfigError as exc:
        error, config = str(exc), raw
    params = {**({"preset": base} if name_base else {}), **point}
    tid = trial_id(exp.name, params, seed, config, invalid=error is not None)
    config = copy.deepcopy(config)
    config["name"] = tid
    return Trial(id=tid, experiment=exp.name, params=params, seed=seed, config=config, error=error)


def _base_raw(kind: str, base: str) -> dict[str, Any]:
    if kind == "preset":
        raw = load_yaml(preset_text(base), f"preset {base}")
    else:
        from pathlib import Path

        try:
            raw = load_yaml(Path(base).read_text(encoding="utf-8"), base)
        except OSError as exc:
            raise SweepError(f"cannot read config file {base}: {exc}") from None
    return raw


def identity(config: dict[str, Any]) -> dict[str, Any]:
    """The part of a config mapping that defines the trial (name and resumable keys removed)."""
    ident = {k: v for k, v in config.items() if k != "name"}
    train = ident.get("train")
    if isinstance(train, dict):
        ident["train"] = {k: v for k, v in train.items() if k not in RESUMABLE}
    return ident


def trial_id(
    experiment: str, params: dict[str, Any], seed: int, config: dict[str, Any], invalid: bool
) -> str:
    """``EXPERIMENT_POINT_seedS_HASH`` (POINT ``k=v,...`` or ``base``), safe as a folder name."""
    ident = _normalize({"config": identity(config), "invalid": invalid})
    text = json.dumps(ident, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:HASH_DIGITS]
    point = ",".join(f"{k}={_fmt(v)}" for k, v in params.items()) or "base"
    point = _UNSAFE.sub("_", point)[:80]
    return f"{experiment}_{point}_seed{seed}_{digest}"


def _normalize(v: Any) -> Any:
    """Integral floats as ints (``beta: 4`` and ``beta: 4.0`` are one config), recursively."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, dict):
        return {k: _normalize(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_normalize(x) for x in v]
    return v


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, dict)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)
