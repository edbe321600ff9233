"""Config: presets, overrides and validation errors (always ConfigError, never a traceback)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from disentangled.config import apply_override, from_dict, load_config, preset_names
from disentangled.errors import ConfigError

REQUIRED_PRESETS = {"vae-dsprites", "betavae-dsprites", "capacity-dsprites", "infomax-dsprites"}


def test_required_presets_ship_and_validate():
    assert set(preset_names()) >= REQUIRED_PRESETS
    for name in preset_names():
        cfg = load_config(preset=name)
        assert cfg.name == name


def test_reference_settings_of_presets():
    beta = load_config(preset="betavae-dsprites")
    assert beta.objective == {"name": "betavae", "beta": 4.0}
    assert (beta.train.lr, beta.train.batch_size, beta.model.net) == (5e-4, 64, "burgess")
    cap = load_config(preset="capacity-dsprites").objective
    assert (cap["gamma"], cap["capacity_max"], cap["capacity_steps"]) == (1000.0, 25.0, 100_000)


def test_overrides_reach_their_sections():
    cfg = load_config(
        preset="betavae-dsprites",
        overrides=[
            "steps=200",
            "subset=5000",
            "seed=1",
            "batch_size=32",
            "beta=8",
            "checkpoint_every=50",
        ],
    )
    assert (cfg.train.steps, cfg.data.subset, cfg.train.seed, cfg.train.batch_size) == (
        200,
        5000,
        1,
        32,
    )
    assert cfg.objective["beta"] == 8
    assert cfg.train.checkpoint_every == 50
    cfg = load_config(preset="betavae-dsprites", overrides=["train.lr=1e-3", "model.latent_dim=6"])
    assert cfg.train.lr == 1e-3 and cfg.model.latent_dim == 6


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("beta=-1", "objective.beta"),
        ("temperature=0", "model.temperature"),
        ("capacity_max=-2", "objective.capacity_max"),
        ("steps=abc", "train.steps"),
        ("steps=0", "train.steps"),
        ("nonsense=3", "unknown key objective.nonsense"),
        ("data.colour=1", "unknown key data.colour"),
        ("precision=fp8", "train.precision"),
        ("lam=-1", "objective.lam"),
        ("justtext", "key=value"),
        ("disc=[1]", "K >= 2"),
        ("lr=.inf", "finite"),
        ("data.size=4", "data.size"),
        ("size=28.5", "data.size"),
    ],
)
def test_bad_values_name_the_field(override, fragment):
    preset = "infomax-dsprites" if override.startswith("lam") else None
    preset = preset or ("capacity-dsprites" if "capacity" in override else "betavae-dsprites")
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.").replace("[", r"\[")):
        load_config(preset=preset, overrides=[override])


def test_data_size_is_optional_and_reaches_the_data_section():
    assert load_config(preset="jointvae-mnist").data.size is None  # the loader's 32
    assert load_config(preset="infogan-mnist").data.size == 28  # the paper's side
    assert load_config(preset="jointvae-mnist", overrides=["size=28"]).data.size == 28
    assert load_config(preset="infogan-mnist", overrides=["data.size=64"]).data.size == 64


def test_unknown_preset_lists_known():
    with pytest.raises(ConfigError, match="betavae-dsprites"):
        load_config(preset="no-such-preset")


def test_roundtrip_through_dict():
    cfg = load_config(preset="capacity-dsprites", overrides=["subset=100"])
    assert from_dict(cfg.to_dict()) == cfg


yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
values = st.recursive(
    yaml_scalars,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=8,
)
keys = st.sampled_from(
    [
        "steps",
        "beta",
        "subset",
        "lr",
        "disc",
        "temperature",
        "net",
        "name",
        "train.seed",
        "data.name",
        "model.latent_dim",
        "objective.name",
        "precision",
        "progress",
        "x",
        "train.x.y",
        ".",
        "train.",
    ]
) | st.text(max_size=12)


@settings(max_examples=300, deadline=None)
@given(key=keys, value=values)
def test_fuzzed_overrides_raise_only_config_errors(key, value):
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
    try:
        load_config(preset="betavae-dsprites", overrides=[f"{key}={text}"])
    except ConfigError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(raw=values)
def test_fuzzed_config_mappings_raise_only_config_errors(raw):
    with contextlib.suppress(ConfigError):
        from_dict(raw if not isinstance(raw, dict) else {"train": raw})


def test_apply_override_creates_sections():
    raw: dict = {}
    apply_override(raw, "beta=2")
    apply_override(raw, "steps=10")
    assert raw == {"objective": {"beta": 2}, "train": {"steps": 10}}
