"""Sweep files: grid and random points, seeds, deterministic trial ids, validation, the preset."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from disentangled.sweep import SweepError, expand, parse_sweep
from disentangled.sweep.search import draw, random_points
from disentangled.sweep.spec import RandomSearch, load_sweep

BASE = "overrides: [subset=500, diagnostics_every=0]\n"


def _spec(text: str, name: str = "s"):
    return parse_sweep(BASE + text, name=name, where="test", folder=None)


def test_grid_is_the_cartesian_product_times_seeds_first_key_slowest():
    spec = _spec(
        "preset: betavae-dsprites\nseeds: [3, 5]\ngrid: {beta: [1, 2, 4], lr: [1.0e-4, 5.0e-4]}\n"
    )
    trials = expand(spec)
    want = [(b, lr, s) for b, lr in itertools.product([1, 2, 4], [1e-4, 5e-4]) for s in (3, 5)]
    got = [
        (t.config["objective"]["beta"], t.config["train"]["lr"], t.config["train"]["seed"])
        for t in trials
    ]
    assert got == want
    assert [t.params for t in trials[:2]] == [{"beta": 1, "lr": 1e-4}] * 2
    assert len({t.id for t in trials}) == len(trials) == 12


def test_explicit_points_keep_coupled_values_together():
    spec = _spec(
        "preset: dipvae1-dsprites\ngrid: [{lambda_od: 1, lambda_d: 10}, {lambda_od: 5, "
        "lambda_d: 50}]\n"
    )
    objs = [t.config["objective"] for t in expand(spec)]
    assert [(o["lambda_od"], o["lambda_d"]) for o in objs] == [(1, 10), (5, 50)]


def test_several_presets_multiply_and_are_labelled():
    spec = _spec("presets: [betavae-dsprites, tcvae-dsprites]\ngrid: {beta: [2, 3]}\nseeds: 2\n")
    trials = expand(spec)
    assert len(trials) == 2 * 2 * 2
    assert {t.params["preset"] for t in trials} == {"betavae-dsprites", "tcvae-dsprites"}
    assert {t.config["objective"]["name"] for t in trials} == {"betavae", "tcvae"}


def test_trial_ids_are_deterministic_and_ignore_resumable_keys():
    text = "preset: betavae-dsprites\ngrid: {beta: [1, 4]}\nseeds: 2\n"
    a = [t.id for t in expand(_spec(text + "steps: 10\n"))]
    b = [t.id for t in expand(_spec(text + "steps: 500\ntime_limit: 60\n"))]
    assert a == b  # more steps continue the same trials
    c = [t.id for t in expand(_spec(text.replace("beta: [1, 4]", "beta: [1, 5]")))]
    assert a[:2] == c[:2] and not set(a[2:]) & set(c)


def test_one_config_spelled_twice_is_one_trial():
    spec = _spec("preset: betavae-dsprites\ngrid: [{beta: 4}, {beta: 4.0}, {beta: 2}]\n")
    trials = expand(spec)
    assert [t.config["objective"]["beta"] for t in trials] == [4, 2]


def test_an_invalid_config_is_a_trial_with_its_error_and_all_invalid_is_refused():
    trials = expand(_spec("preset: betavae-dsprites\ngrid: {beta: [-1, 2]}\n"))
    assert "objective.beta" in trials[0].error and trials[1].error is None
    with pytest.raises(SweepError, match="no trial of the sweep has a valid config"):
        expand(_spec("preset: betavae-dsprites\ngrid: {beta: [-1]}\n"))


def test_random_search_is_reproducible_and_depends_on_the_seed():
    text = (
        "preset: betavae-dsprites\n"
        "random: {samples: 5, seed: %d, space: {beta: {uniform: [1, 9]}}}\n"
    )
    a = [t.config["objective"]["beta"] for t in expand(_spec(text % 0))]
    b = [t.config["objective"]["beta"] for t in expand(_spec(text % 0))]
    c = [t.config["objective"]["beta"] for t in expand(_spec(text % 1))]
    assert a == b and a != c
    assert all(1 <= v <= 9 for v in a + c)


@settings(max_examples=40, deadline=None)
@given(
    lo=st.floats(1e-6, 1e3),
    ratio=st.floats(1.0, 1e4),
    ilo=st.integers(-50, 50),
    span=st.integers(0, 20),
    seed=st.integers(0, 2**32),
)
def test_random_draws_stay_in_their_ranges(lo, ratio, ilo, span, seed):
    rng = np.random.default_rng(seed)
    hi = lo * ratio
    for _ in range(20):
        u = draw({"loguniform": [lo, hi]}, rng)
        assert lo * (1 - 1e-5) <= u <= hi * (1 + 1e-5)  # 6 significant digits
        k = draw({"randint": [ilo, ilo + span]}, rng)
        assert isinstance(k, int) and ilo <= k <= ilo + span
        assert draw({"choice": ["a", "b"]}, rng) in ("a", "b")
        assert draw([3, 7], rng) in (3, 7)
        assert draw(0.25, rng) == 0.25


def test_loguniform_is_uniform_in_log_space():
    # P(x < sqrt(lo*hi)) = 1/2 for log-uniform; 1/(1 + sqrt(100)) ~ 0.09 for uniform on [1, 100].
    search = RandomSearch(samples=4000, seed=3, space={"x": {"loguniform": [1.0, 100.0]}})
    xs = np.array([p["x"] for p in random_points(search, "e")])
    below = float(np.mean(xs < 10.0))
    assert abs(below - 0.5) < 4 * math.sqrt(0.25 / xs.size)
    # random points do not depend on where the experiment sits in the file, only on its name
    assert random_points(search, "e") == random_points(search, "e")
    assert random_points(search, "e") != random_points(search, "f")


def test_steps_time_limit_seeds_and_overrides_reach_every_trial():
    spec = _spec(
        "seeds: 3\nsteps: 7\ntime_limit: 30\nexperiments:\n"
        "  - {preset: betavae-dsprites, overrides: [batch_size=8]}\n"
        "  - {preset: tcvae-dsprites, seeds: [9], steps: 11}\n"
    )
    trials = expand(spec)
    cfgs = [(t.experiment, t.seed, t.config["train"]) for t in trials]
    assert [(e, s, c["steps"], c["batch_size"]) for e, s, c in cfgs] == [
        ("betavae-dsprites", 0, 7, 8),
        ("betavae-dsprites", 1, 7, 8),
        ("betavae-dsprites", 2, 7, 8),
        ("tcvae-dsprites", 9, 11, 64),
    ]
    assert all(c["time_limit"] == 30 and c["progress"] is False for _, _, c in cfgs)
    assert all(t.config["data"]["subset"] == 500 and t.config["name"] == t.id for t in trials)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("preset: betavae-dsprites\nbogus: 1\n", "unknown key 'bogus'"),
        ("preset: nope\n", "unknown preset 'nope'"),
        ("grid: {beta: [1]}\n", "exactly one of preset, presets or config"),
        ("preset: betavae-dsprites\nseeds: [1, 1]\n", "repeated"),
        ("preset: betavae-dsprites\nseeds: -2\n", "seeds"),
        ("preset: betavae-dsprites\neval: {metrics: [nope]}\n", "unknown metric 'nope'"),
        (
            "preset: betavae-dsprites\nrandom: {samples: 2, space: {b: {normal: [0, 1]}}}\n",
            "one of",
        ),
        (
            "preset: betavae-dsprites\nrandom: {samples: 2, space: {b: {loguniform: [0, 1]}}}\n",
            "0 <",
        ),
        ("preset: betavae-dsprites\nresources: {cpus: 0}\n", "resources.cpus"),
        ("preset: betavae-dsprites\nresources: {gpus: 1.5}\n", "whole number"),
        ("experiments: [{preset: betavae-dsprites}, {preset: betavae-dsprites}]\n", "distinct"),
        ("experiments: []\n", "non-empty list"),
        ("experiments: [{preset: betavae-dsprites}]\ngrid: {beta: [1]}\n", "inside an experiment"),
        ("preset: betavae-dsprites\ninject_fault: {kill_at_batch: 0}\n", "positive integer"),
    ],
)
def test_bad_sweep_files_name_the_problem(text, match):
    with pytest.raises(SweepError, match=match):
        _spec(text)


def test_eval_num_train_sets_every_sample_size_of_the_listed_metrics():
    spec = _spec(
        "preset: betavae-dsprites\neval: {metrics: [mig, beta_vae], num_train: 300, "
        "sizes: {beta_vae: {num_eval: 50}}}\n"
    )
    assert spec.eval.sizes == {
        "mig": {"num_train": 300},
        "beta_vae": {"num_train": 300, "num_eval": 50},
    }


def test_a_config_file_is_resolved_next_to_the_sweep_file(tmp_path):
    (tmp_path / "base.yaml").write_text("objective: {name: betavae, beta: 3.0}\n")
    (tmp_path / "s.yaml").write_text("config: base.yaml\ngrid: {beta: [5]}\n")
    spec = load_sweep(tmp_path / "s.yaml")
    (trial,) = expand(spec)
    assert spec.name == "s" and trial.experiment == "base"
    assert trial.config["objective"] == {"name": "betavae", "beta": 5}


def test_the_locatello_mini_preset_has_the_study_grid():
    spec = load_sweep("locatello-dsprites-mini")
    trials = expand(spec)
    assert not [t.error for t in trials if t.error]
    grids = {}
    for t in trials:
        grids.setdefault(t.experiment, []).append(t.params)
    assert list(grids) == ["betavae", "annealedvae", "factorvae", "dipvae1", "dipvae2", "tcvae"]
    seeds = {t.seed for t in trials}
    assert seeds == {0, 1} and len(trials) == 6 * 6 * 2

    def values(exp, key):
        return sorted({p[key] for p in grids[exp]})

    assert values("betavae", "beta") == [1, 2, 4, 6, 8, 16]
    assert values("annealedvae", "capacity_max") == [5, 10, 25, 50, 75, 100]
    assert values("factorvae", "gamma") == [10, 20, 30, 40, 50, 100]
    assert values("tcvae", "beta") == [1, 2, 4, 6, 8, 10]
    for exp, ratio in (("dipvae1", 10), ("dipvae2", 1)):
        assert values(exp, "lambda_od") == [1, 2, 5, 10, 20, 50]
        assert all(p["lambda_d"] == ratio * p["lambda_od"] for p in grids[exp])
    steps = {t.config["train"]["steps"] for t in trials}
    (s,) = steps
    annealed = [t.config["objective"] for t in trials if t.experiment == "annealedvae"]
    assert all(o["gamma"] == 1000 and 3 * o["capacity_steps"] == s for o in annealed)
    assert {t.config["train"]["lr"] for t in trials} == {1e-4}
    assert {t.config["train"]["batch_size"] for t in trials} == {64}


def test_command_line_overrides_come_last_and_keep_the_resumable_identity():
    spec = _spec("preset: betavae-dsprites\nsteps: 5\ngrid: {beta: [1, 2]}\n")
    base = expand(spec)
    more = expand(spec.with_overrides(["steps=9"]))
    assert [t.id for t in more] == [t.id for t in base]
    assert {t.config["train"]["steps"] for t in more} == {9}
    pinned = expand(spec.with_overrides(["beta=3"]))  # the last word: both points become one
    assert [t.config["objective"]["beta"] for t in pinned] == [3]
    with pytest.raises(SweepError, match="key=value"):
        spec.with_overrides(["steps"])
