"""The JointVAE objective: closed form, capacity schedules, capacity bound, control, bad input."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from disentangled.cli import main
from disentangled.config import ModelConfig, load_config
from disentangled.errors import ConfigError
from disentangled.models import VAE
from disentangled.objectives import build_objective
from disentangled.objectives.jointvae import JointVAEObjective, disc_capacity_bound
from disentangled.train import RunDir, train
from disentangled.train.runlog import read_metrics

SHAPE = (1, 8, 8)


def small_model(cont: int = 3, disc: tuple[int, ...] = (3, 4), seed: int = 0) -> VAE:
    torch.manual_seed(seed)
    cfg = ModelConfig(net="mlp", latent_dim=cont, disc=list(disc), hidden=32)
    return VAE.from_config(cfg, SHAPE)


def objective(**params) -> JointVAEObjective:
    return build_objective({"name": "jointvae", **params}, dataset_size=100, recon="bernoulli")


def ramp(step: int, cmax: float, steps: int) -> float:
    return cmax * min(1.0, step / steps)


@pytest.fixture
def one_thread():
    """One intra-op thread for the training tests: these nets are tiny, and two threads on a
    busy 2-core machine made them an order of magnitude slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ----------------------------------------------------------------------------- closed form


@pytest.mark.parametrize("step", [0, 700, 5000, 40000])
def test_loss_is_the_closed_form(step):
    """recon + g_c |sum_j KL_j - C_c(t)| + g_d |sum_i (log K_i - H(alpha_i)) - C_d(t)|."""
    model = small_model()
    params = dict(
        cont_capacity_max=3.0,
        cont_capacity_steps=10_000,
        cont_gamma=7.0,
        disc_capacity_max=2.0,
        disc_capacity_steps=4_000,
        disc_gamma=11.0,
    )
    obj = objective(**params)
    obj.check_model(model)
    x = (torch.rand(16, *SHAPE, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    terms = obj.loss(model, x, step, torch.Generator().manual_seed(2))

    post = model.posterior(x)
    kl_cont_dims = 0.5 * (post.mu**2 + post.logvar.exp() - 1 - post.logvar)
    kl_cont = kl_cont_dims.sum(1).mean()
    kl_disc_vars = []
    for logits in post.logits:
        p = logits.softmax(-1)
        kl_disc_vars.append((math.log(p.shape[1]) + (p * p.log()).sum(1)).mean())
    kl_disc = torch.stack(kl_disc_vars).sum()
    out = model(x, torch.Generator().manual_seed(2))  # the same Gumbel and Gaussian noise
    recon = F.binary_cross_entropy_with_logits(out.logits, x, reduction="none").sum((1, 2, 3))
    c_cont = ramp(step, 3.0, 10_000)
    c_disc = ramp(step, 2.0, 4_000)
    expected = recon.mean() + 7.0 * (kl_cont - c_cont).abs() + 11.0 * (kl_disc - c_disc).abs()

    torch.testing.assert_close(terms["loss"], expected, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(terms["kl_cont"], kl_cont, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(terms["kl_disc"], kl_disc, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(terms["kl"], kl_cont + kl_disc, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(terms["kl_cont_dims"], kl_cont_dims.mean(0), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(terms["kl_disc_dims"], torch.stack(kl_disc_vars))
    assert terms["kl_dims"].shape == (3 + 2,)
    assert float(terms["capacity_cont"]) == pytest.approx(c_cont)
    assert float(terms["capacity_disc"]) == pytest.approx(c_disc)
    for v, k in zip(kl_disc_vars, (3, 4), strict=True):
        assert 0 <= float(v.detach()) <= math.log(k) + 1e-6


# ----------------------------------------------------------------------------- schedules


@settings(max_examples=200, deadline=None)
@given(
    cont_max=st.floats(0, 50),
    cont_steps=st.integers(0, 10**6),
    disc_max=st.floats(0, 20),
    disc_steps=st.integers(0, 10**6),
    disc=st.lists(st.integers(2, 50), min_size=1, max_size=4),
    t=st.integers(0, 2 * 10**6),
    clip=st.booleans(),
)
def test_capacity_schedules(cont_max, cont_steps, disc_max, disc_steps, disc, t, clip):
    """C(t) = min(C_max, C_max t / T) for each part; C_disc never exceeds sum log K_i; a C_max
    above the bound is refused, or (clip) the ramp keeps its slope and stops at the bound."""
    obj = objective(
        cont_capacity_max=cont_max,
        cont_capacity_steps=cont_steps,
        disc_capacity_max=disc_max,
        disc_capacity_steps=disc_steps,
        disc_capacity_clip=clip,
    )
    bound = sum(math.log(k) for k in disc)
    if disc_max > bound and not clip:
        with pytest.raises(ConfigError, match="exceeds sum log K"):
            obj.capacities(t, disc)
        return
    c_cont, c_disc = obj.capacities(t, disc)
    assert c_cont == pytest.approx(cont_max if cont_steps == 0 else ramp(t, cont_max, cont_steps))
    full = disc_max if disc_steps == 0 else ramp(t, disc_max, disc_steps)
    assert c_disc == pytest.approx(min(full, bound))
    assert c_disc <= bound + 1e-12
    later_cont, later_disc = obj.capacities(t + 1000, disc)
    assert later_cont >= c_cont and later_disc >= c_disc


def test_auto_sets_the_maximum_to_the_bound():
    obj = objective(disc_capacity_max="auto", disc_capacity_steps=1000)
    bound = math.log(2) * 3
    assert disc_capacity_bound([2, 2, 2]) == pytest.approx(bound)
    assert obj.capacities(500, [2, 2, 2])[1] == pytest.approx(bound / 2)
    assert obj.capacities(1000, [2, 2, 2])[1] == pytest.approx(bound)


def test_oversized_discrete_capacity_is_refused_naming_the_bound():
    model = small_model(cont=10, disc=(10,))
    with pytest.raises(ConfigError) as err:
        objective(disc_capacity_max=5.0).check_model(model)
    msg = str(err.value)
    assert "2.3026" in msg and "disc_capacity_clip" in msg and "auto" in msg


def test_clipping_only_when_asked_with_a_warning():
    model = small_model(cont=10, disc=(10,))
    obj = objective(disc_capacity_max=5.0, disc_capacity_steps=25_000, disc_capacity_clip=True)
    with pytest.warns(UserWarning, match=r"clipped there \(reached at step 11513 of 25000\)"):
        obj.check_model(model)
    assert obj.capacities(10_000, [10])[1] == pytest.approx(2.0)  # slope 5 / 25,000 kept
    assert obj.capacities(20_000, [10])[1] == pytest.approx(math.log(10))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning when nothing is clipped
        objective(disc_capacity_max=2.0, disc_capacity_clip=True).check_model(model)


@pytest.mark.parametrize("cmax", ["auto", 0.5])
def test_empty_discrete_spec_with_a_discrete_capacity_is_refused(cmax):
    with pytest.raises(ConfigError, match="model.disc is empty"):
        objective(disc_capacity_max=cmax).check_model(small_model(disc=()))
    objective(disc_capacity_max=0.0).check_model(small_model(disc=()))  # a plain capacity VAE


@pytest.mark.parametrize(
    "override, match",
    [
        ("disc_capacity_max=lots", "disc_capacity_max must be a number >= 0 or auto"),
        ("disc_capacity_max=-1", "disc_capacity_max"),
        ("cont_gamma=-2", "cont_gamma"),
        ("cont_capacity_steps=-5", "cont_capacity_steps"),
        ("disc_capacity_clip=maybe", "disc_capacity_clip"),
        ("model.disc=[1]", "K >= 2"),
        ("model.disc=[10, 0]", "K >= 2"),
        ("temperature=0", "temperature"),
        ("temperature=-0.5", "temperature"),
    ],
)
def test_bad_settings_are_config_errors(override, match):
    with pytest.raises(ConfigError, match=match):
        load_config(preset="jointvae-mnist", overrides=[override])


# ----------------------------------------------------------------------------- CLI exit codes


@pytest.mark.parametrize(
    "override, match",
    [
        ("model.disc=[]", "model.disc is empty"),
        ("disc_capacity_clip=false", "exceeds sum log K = 1.0986"),
        ("model.disc=[1]", "K >= 2"),
        ("temperature=0", "temperature"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys, override, match):
    argv = ["train", "--preset", "jointvae-dsprites", "--out", str(tmp_path / "r")]
    code = main([*argv, "subset=64", "steps=1", "progress=false", override])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and "\n" not in err and match in err


# ----------------------------------------------------------------------------- behaviour


def test_capacities_control_the_two_kls(one_thread):
    """With C held at (2.0, 0.7) nats and gamma 100, training drives KL_cont and KL_disc there
    although the data (32 random binary patterns) would use far more information."""
    g = torch.Generator().manual_seed(0)
    data = (torch.rand(32, *SHAPE, generator=g) > 0.5).float()
    model = small_model(cont=4, disc=(3,))
    obj = objective(
        cont_capacity_max=2.0,
        cont_capacity_steps=0,
        cont_gamma=100.0,
        disc_capacity_max=0.7,
        disc_capacity_steps=0,
        disc_gamma=100.0,
    )
    obj.check_model(model)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    history = []
    for step in range(600):
        x = data[torch.randint(32, (32,), generator=g)]
        terms = obj.loss(model, x, step, g)
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        history.append((float(terms["kl_cont"]), float(terms["kl_disc"])))
    kl_cont = sum(h[0] for h in history[-100:]) / 100
    kl_disc = sum(h[1] for h in history[-100:]) / 100
    assert kl_cont == pytest.approx(2.0, abs=0.1)
    assert kl_disc == pytest.approx(0.7, abs=0.05)


def test_training_logs_both_kls_capacities_and_per_dim_kl(tmp_path, one_thread):
    overrides = ["subset=128", "steps=6", "log_every=1", "progress=false", "diagnostics_every=0"]
    overrides += ["cont_capacity_steps=4", "disc_capacity_steps=4", "disc_capacity_max=auto"]
    cfg = load_config(preset="jointvae-dsprites", overrides=overrides)
    train(cfg, RunDir.create(tmp_path / "r", cfg))
    records = [r for r in read_metrics(tmp_path / "r" / "metrics.jsonl") if "loss" in r]
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6]
    for r in records:
        t = r["step"] - 1  # the schedule is read at the step the update is made
        assert r["capacity_cont"] == pytest.approx(ramp(t, 40.0, 4))
        assert r["capacity_disc"] == pytest.approx(ramp(t, math.log(3), 4))
        assert len(r["kl_dims"]) == 7 and len(r["kl_cont_dims"]) == 6
        assert len(r["kl_disc_dims"]) == 1
        assert r["kl"] == pytest.approx(r["kl_cont"] + r["kl_disc"], rel=1e-5)
        assert r["kl_cont"] == pytest.approx(sum(r["kl_cont_dims"]), rel=1e-4, abs=1e-6)
        assert 0 <= r["kl_disc"] <= math.log(3) + 1e-6
