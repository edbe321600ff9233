"""The sweep file: which configs to train (presets x grid / random points x seeds), how long, on
what resources, and which metrics to score afterwards.

A sweep file is YAML. Top-level keys (every one optional except the experiments)::

    name: my-sweep                # default: the file's stem
    seeds: [0, 1]                 # or an integer n (seeds 0..n-1); default [0]
    steps: 3000                   # train.steps of every trial
    time_limit: 600               # seconds of training per trial (train.time_limit)
    overrides: [subset=20000]     # key=value strings, as for `disentangled train`
    resources: {cpus: 1, gpus: auto}
    max_retries: 3                # re-runs of a trial whose worker process died
    eval: {metrics: [mig, dci], mode: fast, num_train: 2000, sizes: {}}
    experiments:                  # or the experiment keys at the top level (one experiment)
      - preset: betavae-dsprites  # or presets: [...], or config: PATH (relative to the file)
        grid: {beta: [1, 4]}      # cartesian product; or a list of points [{k: v, ...}, ...]
      - preset: tcvae-dsprites
        random: {samples: 4, seed: 0, space: {beta: {loguniform: [1, 10]}}}

An experiment may also set its own ``name``, ``seeds``, ``steps``, ``time_limit`` and
``overrides`` (appended to the top-level ones).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources as pkg_resources
from pathlib import Path
from typing import Any

from ..config import load_yaml, preset_names
from ..errors import ConfigError

EXPERIMENT_KEYS = (
    "name",
    "preset",
    "presets",
    "config",
    "grid",
    "random",
    "seeds",
    "steps",
    "time_limit",
    "overrides",
)
SWEEP_KEYS = ("resources", "max_retries", "eval", "experiments", "inject_fault")
DISTRIBUTIONS = ("uniform", "loguniform", "randint", "choice")
FAULT_KEYS = ("kill_at_batch", "nan_at_batch", "trials")
GPU_FRACTION_AUTO = 0.25  # a GPU shared by four small trials when the cluster has GPUs


class SweepError(ConfigError):
    """An invalid sweep file: one line naming the key."""


@dataclass(frozen=True)
class RandomSearch:
    """``samples`` points drawn from ``space`` with a generator seeded by ``seed``."""

    samples: int
    seed: int
    space: dict[str, Any]


@dataclass(frozen=True)
class Experiment:
    """One group of trials: base configs x points x seeds (a 'method' in the figures)."""

    name: str
    bases: tuple[tuple[str, str], ...]  # (kind 'preset'|'config', preset name or file path)
    points: tuple[dict[str, Any], ...]  # grid points (at least one, possibly empty)
    random: RandomSearch | None
    seeds: tuple[int, ...]
    overrides: tuple[str, ...]
    steps: int | None
    time_limit: float | None


@dataclass(frozen=True)
class EvalSpec:
    """Metrics scored after training (empty: none), their mode and sample sizes."""

    metrics: tuple[str, ...] = ()
    mode: str = "fast"
    sizes: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class FaultSpec:
    """Fault injection for testing fault tolerance: trials whose id contains ``trials`` kill
    their worker once at batch ``kill_at_batch`` and/or feed NaN at batch ``nan_at_batch``."""

    trials: str = ""
    kill_at_batch: int | None = None
    nan_at_batch: int | None = None


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep file."""

    name: str
    text: str
    experiments: tuple[Experiment, ...]
    cpus: float = 1.0
    gpus: float | str = "auto"
    max_retries: int = 3
    eval: EvalSpec = field(default_factory=EvalSpec)
    faults: tuple[FaultSpec, ...] = ()
    overrides: tuple[str, ...] = ()  # key=value applied last to every trial (command line)

    def with_overrides(self, items: list[str] | tuple[str, ...]) -> SweepSpec:
        """This sweep with ``key=value`` overrides applied last to every trial."""
        from dataclasses import replace

        return replace(self, overrides=(*self.overrides, *_overrides(list(items), "overrides")))


# ----------------------------------------------------------------------------- loading


def sweep_preset_names() -> list[str]:
    """Names of the sweep files shipped with the package."""
    folder = pkg_resources.files("disentangled") / "presets" / "sweeps"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_sweep(source: str | Path) -> SweepSpec:
    """A sweep from a YAML file, or from a shipped sweep preset when no such file exists."""
    path = Path(source)
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SweepError(f"cannot read sweep file {path}: {exc}") from None
        return parse_sweep(text, name=path.stem, where=str(path), folder=path.parent)
    name = str(source)
    if name in sweep_preset_names():
        res = pkg_resources.files("disentangled") / "presets" / "sweeps" / f"{name}.yaml"
        return parse_sweep(res.read_text(), name=name, where=f"sweep preset {name}", folder=None)
    raise SweepError(
        f"no sweep file {source!r}; shipped sweeps: {', '.join(sweep_preset_names()) or 'none'}"
    )


def parse_sweep(text: str, *, name: str, where: str, folder: Path | None) -> SweepSpec:
    """Validate a sweep file's text; config paths are resolved against ``folder``."""
    raw = load_yaml(text, where)
    has_experiments = "experiments" in raw
    allowed = set(SWEEP_KEYS) | set(EXPERIMENT_KEYS)
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        raise SweepError(
            f"{where}: unknown key {unknown[0]!r}; known: {', '.join(sorted(allowed))}"
        )
    defaults = {k: raw[k] for k in ("seeds", "steps", "time_limit", "overrides") if k in raw}
    if has_experiments:
        stray = [k for k in ("preset", "presets", "config", "grid", "random") if k in raw]
        if stray:
            raise SweepError(
                f"{where}: {stray[0]!r} belongs inside an experiment when 'experiments' is given"
            )
        items = raw["experiments"]
        if not isinstance(items, list) or not items:
            raise SweepError(f"{where}: 'experiments' must be a non-empty list")
    else:
        items = [{k: raw[k] for k in EXPERIMENT_KEYS if k in raw and k != "name"}]
    sweep_name = raw.get("name", name)
    _check_name(f"{where}: name", sweep_name)
    experiments = tuple(
        _experiment(item, defaults, f"{where}: experiments[{i}]", folder)
        for i, item in enumerate(items)
    )
    names = [e.name for e in experiments]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise SweepError(f"{where}: two experiments are named {dup!r}; give them distinct names")
    cpus, gpus = _resources(raw.get("resources") or {}, where)
    retries = raw.get("max_retries", 3)
    if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 100:
        raise SweepError(f"{where}: max_retries must be an integer in [0, 100], got {retries!r}")
    return SweepSpec(
        name=sweep_name,
        text=text,
        experiments=experiments,
        cpus=cpus,
        gpus=gpus,
        max_retries=retries,
        eval=_eval(raw.get("eval") or {}, where),
        faults=_faults(raw.get("inject_fault"), where),
    )


# ----------------------------------------------------------------------------- sections


def _experiment(item: Any, defaults: dict[str, Any], where: str, folder: Path | None) -> Experiment:
    if not isinstance(item, dict):
        raise SweepError(f"{where} must be a mapping")
    unknown = sorted(str(k) for k in item if k not in EXPERIMENT_KEYS)
    if unknown:
        raise SweepError(
            f"{where}: unknown key {unknown[0]!r}; known: {', '.join(EXPERIMENT_KEYS)}"
        )
    bases = _bases(item, where, folder)
    name = item.get("name", bases[0][1] if bases[0][0] == "preset" else Path(bases[0][1]).stem)
    _check_name(f"{where}: name", name)
    merged = {**defaults, **{k: v for k, v in item.items() if k != "overrides"}}
    overrides = [*_overrides(defaults.get("overrides", []), where)]
    overrides += _overrides(item.get("overrides", []), where)
    steps = merged.get("steps")
    if steps is not None and (not isinstance(steps, int) or isinstance(steps, bool) or steps < 1):
        raise SweepError(f"{where}: steps must be a positive integer, got {steps!r}")
    limit = merged.get("time_limit")
    if limit is not None and (not _is_number(limit) or limit <= 0):
        raise SweepError(f"{where}: time_limit must be a positive number of seconds, got {limit!r}")
    return Experiment(
        name=name,
        bases=bases,
        points=_grid(item.get("grid"), where),
        random=_random(item["random"], where) if item.get("random") is not None else None,
        seeds=_seeds(merged.get("seeds", [0]), where),
        overrides=tuple(overrides),
        steps=steps,
        time_limit=float(limit) if limit is not None else None,
    )


def _bases(item: dict[str, Any], where: str, folder: Path | None) -> tuple[tuple[str, str], ...]:
    given = [k for k in ("preset", "presets", "config") if k in item]
    if len(given) != 1:
        raise SweepError(f"{where}: give exactly one of preset, presets or config")
    key = given[0]
    if key == "config":
        path = item["config"]
        if not isinstance(path, str) or not path:
            raise SweepError(f"{where}: config must be a file path")
        if folder is None and not Path(path).is_absolute():
            raise SweepError(f"{where}: a shipped sweep cannot name a relative config file")
        full = Path(path) if Path(path).is_absolute() else (folder or Path()) / path
        if not full.is_file():
            raise SweepError(f"{where}: config file {full} does not exist")
        return (("config", str(full.resolve())),)
    names = item[key] if key == "presets" else [item[key]]
    if not isinstance(names, list) or not names:
        raise SweepError(f"{where}: presets must be a non-empty list of preset names")
    known = preset_names()
    for n in names:
        if n not in known:
            raise SweepError(f"{where}: unknown preset {n!r}; known: {', '.join(known)}")
    return tuple(("preset", n) for n in names)


def _grid(grid: Any, where: str) -> tuple[dict[str, Any], ...]:
    """Points of a grid: a mapping key -> list of values (cartesian product, first key slowest)
    or a list of mappings (explicit points, e.g. coupled values). None gives one empty point."""
    import itertools

    if grid is None:
        return ({},)
    if isinstance(grid, dict):
        keys = [str(k) for k in grid]
        values = [v if isinstance(v, list) else [v] for v in grid.values()]
        for k, v in zip(keys, values, strict=True):
            if not v:
                raise SweepError(f"{where}: grid key {k!r} has no values")
        return tuple(dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values))
    if isinstance(grid, list) and grid and all(isinstance(p, dict) for p in grid):
        return tuple({str(k): v for k, v in p.items()} for p in grid)
    raise SweepError(f"{where}: grid must be a mapping key -> list of values or a list of mappings")


def _random(raw: Any, where: str) -> RandomSearch:
    if not isinstance(raw, dict):
        raise SweepError(f"{where}: random must be a mapping with samples, seed and space")
    unknown = sorted(set(raw) - {"samples", "seed", "space"})
    if unknown:
        raise SweepError(f"{where}: random has no key {unknown[0]!r}; known: samples, seed, space")
    samples, seed, space = raw.get("samples"), raw.get("seed", 0), raw.get("space")
    if not isinstance(samples, int) or isinstance(samples, bool) or not 1 <= samples <= 100_000:
        raise SweepError(f"{where}: random.samples must be an integer in [1, 100000]")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise SweepError(f"{where}: random.seed must be a non-negative integer")
    if not isinstance(space, dict) or not space:
        raise SweepError(f"{where}: random.space must be a non-empty mapping key -> distribution")
    for key, dist in space.items():
        _check_distribution(dist, f"{where}: random.space.{key}")
    return RandomSearch(samples=samples, seed=seed, space={str(k): v for k, v in space.items()})


def _check_distribution(dist: Any, where: str) -> None:
    """A distribution: {uniform|loguniform|randint: [lo, hi]}, {choice: [...]}, a list (a
    choice) or a scalar (a constant)."""
    if isinstance(dist, list):
        if not dist:
            raise SweepError(f"{where}: an empty list of choices")
        return
    if not isinstance(dist, dict):
        return
    if len(dist) != 1 or next(iter(dist)) not in DISTRIBUTIONS:
        raise SweepError(f"{where}: a distribution is one of {', '.join(DISTRIBUTIONS)}")
    kind, args = next(iter(dist.items()))
    if kind == "choice":
        if not isinstance(args, list) or not args:
            raise SweepError(f"{where}: choice needs a non-empty list")
        return
    if not (isinstance(args, list) and len(args) == 2 and all(_is_number(a) for a in args)):
        raise SweepError(f"{where}: {kind} needs [low, high]")
    lo, hi = args
    if not lo <= hi:
        raise SweepError(f"{where}: {kind} needs low <= high, got [{lo}, {hi}]")
    if kind == "loguniform" and lo <= 0:
        raise SweepError(f"{where}: loguniform needs 0 < low")
    if kind == "randint" and not all(isinstance(a, int) for a in args):
        raise SweepError(f"{where}: randint needs integer bounds")


def _seeds(raw: Any, where: str) -> tuple[int, ...]:
    if isinstance(raw, int) and not isinstance(raw, bool):
        if not 1 <= raw <= 100_000:
            raise SweepError(f"{where}: seeds as a count must be in [1, 100000], got {raw}")
        return tuple(range(raw))
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in raw)
    ):
        raise SweepError(f"{where}: seeds must be a count or a list of non-negative integers")
    if len(set(raw)) != len(raw):
        raise SweepError(f"{where}: seeds has a repeated value")
    return tuple(raw)


def _overrides(raw: Any, where: str) -> list[str]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(o, str) and "=" in o for o in raw):
        raise SweepError(f"{where}: overrides must be a list of key=value strings")
    return list(raw)


def _resources(raw: Any, where: str) -> tuple[float, float | str]:
    if not isinstance(raw, dict):
        raise SweepError(f"{where}: resources must be a mapping with cpus and gpus")
    unknown = sorted(set(raw) - {"cpus", "gpus"})
    if unknown:
        raise SweepError(f"{where}: resources has no key {unknown[0]!r}; known: cpus, gpus")
    cpus = raw.get("cpus", 1)
    if not _is_number(cpus) or cpus <= 0:
        raise SweepError(f"{where}: resources.cpus must be a positive number, got {cpus!r}")
    gpus = raw.get("gpus", "auto")
    if gpus != "auto" and (not _is_number(gpus) or gpus < 0):
        raise SweepError(f"{where}: resources.gpus must be auto or a number >= 0, got {gpus!r}")
    if _is_number(gpus) and gpus > 1 and gpus != int(gpus):
        raise SweepError(f"{where}: resources.gpus above 1 must be a whole number, got {gpus}")
    return float(cpus), gpus if gpus == "auto" else float(gpus)


def _eval(raw: Any, where: str) -> EvalSpec:
    from ..metrics import available_metrics
    from ..metrics.registry import METRICS

    if not isinstance(raw, dict):
        raise SweepError(f"{where}: eval must be a mapping with metrics, mode, num_train, sizes")
    unknown = sorted(set(raw) - {"metrics", "mode", "num_train", "sizes"})
    if unknown:
        raise SweepError(f"{where}: eval has no key {unknown[0]!r}")
    metrics = raw.get("metrics") or []
    known = {*available_metrics(), "discrete_code"}
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise SweepError(f"{where}: eval.metrics must be a list of metric names")
    for m in metrics:
        if m not in known:
            raise SweepError(f"{where}: unknown metric {m!r}; known: {', '.join(sorted(known))}")
    mode = raw.get("mode", "fast")
    if mode not in ("fast", "compat"):
        raise SweepError(f"{where}: eval.mode must be fast or compat, got {mode!r}")
    sizes: dict[str, dict[str, int]] = {}
    n = raw.get("num_train")
    if n is not None:
        if not isinstance(n, int) or isinstance(n, bool) or n < 10:
            raise SweepError(f"{where}: eval.num_train must be an integer >= 10")
        for m in metrics:
            spec = METRICS.get(m)
            if spec is not None and spec.sizes:
                sizes[m] = {k: n for k in spec.sizes if k.startswith("num_")}
    given = raw.get("sizes") or {}
    if not isinstance(given, dict):
        raise SweepError(f"{where}: eval.sizes must be a mapping metric -> {{size: value}}")
    for m, values in given.items():
        if m not in metrics or not isinstance(values, dict):
            raise SweepError(f"{where}: eval.sizes.{m} must name a listed metric with a mapping")
        sizes.setdefault(m, {}).update({str(k): v for k, v in values.items()})
    return EvalSpec(metrics=tuple(metrics), mode=mode, sizes=sizes)


def _faults(raw: Any, where: str) -> tuple[FaultSpec, ...]:
    """``inject_fault``: one mapping or a list of them."""
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    return tuple(_fault(item, where) for item in items)


def _fault(raw: Any, where: str) -> FaultSpec:
    if not isinstance(raw, dict):
        raise SweepError(f"{where}: inject_fault must be a mapping or a list of mappings")
    unknown = sorted(set(raw) - set(FAULT_KEYS))
    if unknown:
        raise SweepError(f"{where}: inject_fault has no key {unknown[0]!r}")
    for key in ("kill_at_batch", "nan_at_batch"):
        v = raw.get(key)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
            raise SweepError(f"{where}: inject_fault.{key} must be a positive integer")
    trials = raw.get("trials", "")
    if not isinstance(trials, str):
        raise SweepError(f"{where}: inject_fault.trials must be a substring of trial ids")
    return FaultSpec(
        trials=trials, kill_at_batch=raw.get("kill_at_batch"), nan_at_batch=raw.get("nan_at_batch")
    )


def _check_name(where: str, name: Any) -> None:
    import re

    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,79}", name):
        raise SweepError(
            f"{where} must be 1-80 letters, digits or ._+- (starting with a letter or digit), "
            f"got {name!r}"
        )


def _is_number(v: Any) -> bool:
    import math

    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
