"""Typed run configuration: sections as dataclasses, YAML presets, ``key=value`` overrides.

A run is reproducible from its config alone. Every value is validated on construction and a bad
value raises :class:`~disentangled.errors.ConfigError` naming the field and the allowed range.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

PRECISIONS = ("fp32", "bf16")
NETS = ("burgess", "conv32", "mlp", "infogan", "infogan64")
RECONS = ("bernoulli", "gaussian")


@dataclass
class DataConfig:
    """Which dataset to train on. ``subset`` picks a seeded random subset of that many images;
    ``size`` (pixels) sets the image side of datasets that resize (MNIST, Fashion-MNIST: 32 when
    unset, 28 their native side); other datasets refuse it."""

    name: str = "dsprites"
    subset: int | None = None
    path: str | None = None
    size: int | None = None

    def validate(self) -> None:
        check_str("data.name", self.name)
        if self.subset is not None:
            check_int("data.subset", self.subset, lo=1)
        if self.path is not None:
            check_str("data.path", self.path)
        if self.size is not None:
            check_int("data.size", self.size, lo=8, hi=256)


@dataclass
class ModelConfig:
    """Network and code: ``latent_dim`` Gaussian dimensions plus categoricals of sizes ``disc``.
    ``leaky_slope`` is the negative slope of the InfoGAN discriminator's and Q head's leaky
    ReLUs (other nets have none)."""

    net: str = "burgess"
    latent_dim: int = 10
    disc: list[int] = field(default_factory=list)
    temperature: float = 0.67
    recon: str = "bernoulli"
    hidden: int = 256
    leaky_slope: float = 0.1

    def validate(self) -> None:
        check_choice("model.net", self.net, NETS)
        check_int("model.latent_dim", self.latent_dim, lo=0, hi=4096)
        if not isinstance(self.disc, list) or not all(
            isinstance(k, int) and not isinstance(k, bool) for k in self.disc
        ):
            raise ConfigError(f"model.disc must be a list of integers, got {self.disc!r}")
        for k in self.disc:
            if k < 2:
                raise ConfigError(f"model.disc: every categorical needs K >= 2 values, got {k}")
            if k > 10_000:
                raise ConfigError(f"model.disc: K must be <= 10000, got {k}")
        if self.latent_dim == 0 and not self.disc:
            raise ConfigError("model: the code is empty; set model.latent_dim > 0 or model.disc")
        check_float("model.temperature", self.temperature, lo=0.0, lo_open=True)
        check_choice("model.recon", self.recon, RECONS)
        check_int("model.hidden", self.hidden, lo=1, hi=65536)
        check_float("model.leaky_slope", self.leaky_slope, lo=0.0, hi=1.0, hi_open=True)


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping. ``time_limit`` (seconds) stops early, checkpointing first;
    every ``diagnostics_every`` steps (0: never) the information diagnostics are estimated on a
    fixed sample of ``diagnostics_samples`` training images."""

    steps: int = 10_000
    batch_size: int = 64
    lr: float = 5e-4
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"
    log_every: int = 50
    checkpoint_every: int = 5_000
    keep_checkpoints: int = 2
    time_limit: float | None = None
    progress: bool = True
    diagnostics_every: int = 1000
    diagnostics_samples: int = 4096
    on_nonfinite: str = "stop"
    rollback_lr_factor: float = 0.5
    max_rollbacks: int = 3
    tensorboard: bool = False

    def validate(self) -> None:
        check_int("train.steps", self.steps, lo=1, hi=10**9)
        check_int("train.batch_size", self.batch_size, lo=1, hi=1_000_000)
        check_float("train.lr", self.lr, lo=0.0, lo_open=True, hi=10.0)
        check_float("train.adam_beta1", self.adam_beta1, lo=0.0, hi=1.0, hi_open=True)
        check_float("train.adam_beta2", self.adam_beta2, lo=0.0, hi=1.0, hi_open=True)
        check_int("train.seed", self.seed, lo=0, hi=2**63 - 1)
        check_str("train.device", self.device)
        check_choice("train.precision", self.precision, PRECISIONS)
        check_int("train.log_every", self.log_every, lo=1)
        check_int("train.checkpoint_every", self.checkpoint_every, lo=1)
        check_int("train.keep_checkpoints", self.keep_checkpoints, lo=1, hi=10_000)
        if self.time_limit is not None:
            check_float("train.time_limit", self.time_limit, lo=0.0, lo_open=True)
        check_int("train.diagnostics_every", self.diagnostics_every, lo=0)
        check_choice("train.on_nonfinite", self.on_nonfinite, ("stop", "rollback"))
        check_float(
            "train.rollback_lr_factor", self.rollback_lr_factor, lo=0.0, hi=1.0, lo_open=True
        )
        check_int("train.max_rollbacks", self.max_rollbacks, lo=0, hi=1000)
        check_int("train.diagnostics_samples", self.diagnostics_samples, lo=2, hi=10_000_000)
        if not isinstance(self.tensorboard, bool):
            raise ConfigError(f"train.tensorboard must be true or false, got {self.tensorboard!r}")
        if not isinstance(self.progress, bool):
            raise ConfigError(f"train.progress must be true or false, got {self.progress!r}")


@dataclass
class RunConfig:
    """The whole run: data, model, objective (a mapping validated by the objective) and training."""

    name: str = "run"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    objective: dict[str, Any] = field(default_factory=lambda: {"name": "vae"})
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> RunConfig:
        """Validate every section, the objective's parameters included; returns self."""
        check_str("name", self.name)
        self.data.validate()
        self.model.validate()
        self.train.validate()
        from .objectives import objective_params  # late import: objectives import config

        objective_params(self.objective)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


SECTIONS: dict[str, type] = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


def from_dict(raw: Any) -> RunConfig:
    """Build and validate a :class:`RunConfig` from a nested mapping (as read from YAML)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"a config must be a mapping of sections, got {type(raw).__name__}")
    known = {"name", "objective", *SECTIONS}
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        raise ConfigError(f"unknown config section {unknown[0]!r}; known: {sorted(known)}")
    kwargs: dict[str, Any] = {}
    if "name" in raw:
        kwargs["name"] = raw["name"]
    for section, cls in SECTIONS.items():
        values = raw.get(section) or {}
        if not isinstance(values, dict):
            raise ConfigError(f"config section {section!r} must be a mapping")
        kwargs[section] = build_dataclass(cls, values, section)
    objective = raw.get("objective", {"name": "vae"})
    if not isinstance(objective, dict):
        raise ConfigError("config section 'objective' must be a mapping with a 'name'")
    kwargs["objective"] = dict(objective)
    return RunConfig(**kwargs).validate()


def build_dataclass(cls: type, values: dict[str, Any], section: str) -> Any:
    """Instantiate a config dataclass from a mapping, type-checking each value by annotation."""
    names = {f.name for f in fields(cls)}
    for key in values:
        if key not in names:
            known = ", ".join(sorted(names)) or "none"
            raise ConfigError(f"unknown key {section}.{key}; known: {known}")
    return cls(**{k: _coerce(cls, k, v, f"{section}.{k}") for k, v in values.items()})


def _coerce(cls: type, key: str, value: Any, where: str) -> Any:
    """Check a value against the dataclass field's annotated type (unions such as
    ``float | str`` accept either); ints widen to floats."""
    ann = str({f.name: f.type for f in fields(cls)}[key])
    kinds = [a.strip().split("[")[0] for a in ann.split("|")]
    if value is None:
        if "None" in kinds:
            return None
        raise ConfigError(f"{where} may not be null")
    for kind in kinds:
        ok, out = _as_kind(kind, value)
        if ok:
            return out
    wanted = " or ".join(_KIND_WORDS.get(k, k) for k in kinds if k != "None")
    raise ConfigError(f"{where} must be {wanted}, got {value!r}")


_KIND_WORDS = {
    "bool": "true or false",
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "list": "a list",
    "dict": "a mapping",
}


def _as_kind(kind: str, value: Any) -> tuple[bool, Any]:
    """(True, converted value) when ``value`` is acceptable as ``kind``."""
    is_num = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool), value
    if kind == "int":
        if is_num and isinstance(value, int):
            return True, value
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
            return True, int(value)
        return False, None
    if kind == "float":
        return is_num, float(value) if is_num else None
    if kind == "str":
        return isinstance(value, str), value
    if kind == "list":
        return isinstance(value, list), value
    if kind == "dict":
        return isinstance(value, dict), value
    return True, value


# ----------------------------------------------------------------------------- presets


def preset_names() -> list[str]:
    """Names of the presets shipped with the package."""
    folder = resources.files("disentangled") / "presets"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def preset_text(name: str) -> str:
    """The YAML text of a shipped preset."""
    if name not in preset_names():
        raise ConfigError(f"unknown preset {name!r}; known: {', '.join(preset_names())}")
    return (resources.files("disentangled") / "presets" / f"{name}.yaml").read_text()


def preset_summary(name: str) -> str:
    """The first comment line of a preset: what it reproduces."""
    for line in preset_text(name).splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def load_yaml(text: str, where: str) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{where}: not valid YAML ({first})") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level")
    return raw


def load_config(
    preset: str | None = None, path: str | Path | None = None, overrides: list[str] = ()
) -> RunConfig:
    """A preset or a YAML file (or the defaults), then ``key=value`` overrides, validated."""
    if preset is not None and path is not None:
        raise ConfigError("give either a preset or a config file, not both")
    if preset is not None:
        raw = load_yaml(preset_text(preset), f"preset {preset}")
        raw.setdefault("name", preset)
    elif path is not None:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {p}: {exc}") from None
        raw = load_yaml(text, str(p))
    else:
        raw = {}
    for item in overrides:
        apply_override(raw, item)
    return from_dict(raw)


def _number_or_text(text: str) -> Any:
    """YAML 1.1 reads ``1e-3`` as a string; take it as the number it means."""
    try:
        return float(text)
    except ValueError:
        return text


def _section_of(key: str) -> tuple[str, str]:
    """Resolve ``beta`` or ``objective.beta`` or ``train.steps`` to (section, key)."""
    if "." in key:
        section, _, sub = key.partition(".")
        if section not in (*SECTIONS, "objective") or not sub or "." in sub:
            raise ConfigError(
                f"unknown key {key!r}: use SECTION.KEY with a section of "
                f"{', '.join([*SECTIONS, 'objective'])}"
            )
        return section, sub
    if key == "name":
        return "", key
    owners = [s for s, cls in SECTIONS.items() if key in {f.name for f in fields(cls)}]
    if len(owners) > 1:
        raise ConfigError(
            f"ambiguous key {key!r}: write one of {', '.join(o + '.' + key for o in owners)}"
        )
    if owners:
        return owners[0], key
    return "objective", key  # objective parameters are validated by the objective itself


def apply_override(raw: dict[str, Any], item: str) -> None:
    """Apply one ``key=value`` override (value parsed as YAML) to a raw config mapping."""
    if not isinstance(item, str) or "=" not in item:
        raise ConfigError(f"override {item!r} is not of the form key=value")
    key, _, text = item.partition("=")
    key = key.strip()
    if not key:
        raise ConfigError(f"override {item!r} has an empty key")
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        value = text
    if isinstance(value, str):
        value = _number_or_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"override {key}: value must be finite, got {text!r}")
    section, sub = _section_of(key)
    if not section:
        raw[sub] = value
        return
    target = raw.setdefault(section, {})
    if target is None:
        target = raw[section] = {}
    if not isinstance(target, dict):
        raise ConfigError(f"config section {section!r} must be a mapping")
    target[sub] = value


# ----------------------------------------------------------------------------- checks


def check_str(where: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where} must be a non-empty string, got {value!r}")


def check_choice(where: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{where} must be one of {', '.join(choices)}; got {value!r}")


def check_int(where: str, value: Any, lo: int | None = None, hi: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{where} must be an integer, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(
            f"{where} must be in [{lo}, {hi if hi is not None else 'inf'}], got {value}"
        )


def check_float(
    where: str,
    value: Any,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ConfigError(f"{where} must be a finite number, got {value!r}")
    bad = (lo is not None and (value < lo or (lo_open and value == lo))) or (
        hi is not None and (value > hi or (hi_open and value == hi))
    )
    if bad:
        lb = "(" if lo_open else "["
        rb = ")" if hi_open else "]"
        raise ConfigError(
            f"{where} must be in {lb}{lo if lo is not None else '-inf'}, "
            f"{hi if hi is not None else 'inf'}{rb}, got {value}"
        )
