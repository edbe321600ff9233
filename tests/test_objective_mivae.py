"""MI-regularised VAE: the bound and the loss against hand computations (Gaussian subsets and a
JointVAE's categorical code), where the gradients go, warm-up, training and exact resume."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from disentangled.config import ModelConfig, load_config
from disentangled.errors import ConfigError
from disentangled.models import VAE
from disentangled.objectives import build_objective
from disentangled.train import RunDir, build_session, train

FAST = ["net=mlp", "hidden=32", "subset=256", "batch_size=32", "progress=false", "log_every=10"]


pytestmark = pytest.mark.usefixtures("one_thread")


def _cfg(*extra):
    return load_config(preset="mivae-dsprites", overrides=[*FAST, *extra])


def _tiny(latent_dim=4, disc=()):
    torch.manual_seed(0)
    cfg = ModelConfig(net="mlp", latent_dim=latent_dim, disc=list(disc), hidden=16)
    return VAE.from_config(cfg, (1, 8, 8))


def _batch(n=6, seed=1):
    return (torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) > 0.5).float()


def _bernoulli_nll(logits, x):
    return -(x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).sum() / x.shape[0]


def test_gaussian_bound_and_loss_match_hand_computation():
    model = _tiny()
    x = _batch()
    spec = {"name": "mivae", "beta": 2.0, "lam": 3.0, "dims": [1, 3], "warmup_steps": 100}
    obj = build_objective(spec, dataset_size=100, recon="bernoulli")
    obj.check_model(model)
    terms = obj.loss(model, x, 25, torch.Generator().manual_seed(9))

    g = torch.Generator().manual_seed(9)  # VAE sample first, then the prior sample
    post = model.posterior(x)
    z = post.mu + (0.5 * post.logvar).exp() * torch.randn(post.mu.shape, generator=g)
    rec = _bernoulli_nll(model.decode(z), x)
    kl = 0.5 * (post.mu**2 + post.logvar.exp() - 1 - post.logvar).sum() / 6
    z_prior = torch.randn(6, 4, generator=g)
    x_prime = 1 / (1 + torch.exp(-model.decode(z_prior)))
    post_p = model.posterior(x_prime)
    log_q = 0.0
    for d in (1, 3):
        mu, lv, zd = post_p.mu[:, d], post_p.logvar[:, d], z_prior[:, d]
        log_q = log_q - 0.5 * (math.log(2 * math.pi) + lv + (zd - mu) ** 2 / lv.exp())
    entropy = 2 * 0.5 * math.log(2 * math.pi * math.e)
    bound = log_q.mean() + entropy
    lam = 3.0 * 25 / 100
    assert terms["mi_bound"].item() == pytest.approx(bound.item(), rel=1e-5, abs=1e-5)
    assert terms["lam"].item() == pytest.approx(lam)
    expected = rec + 2.0 * kl - lam * bound
    assert terms["loss"].item() == pytest.approx(expected.item(), rel=1e-6)


def test_categorical_bound_matches_hand_computation():
    model = _tiny(latent_dim=2, disc=[3])
    x = _batch(n=8)
    obj = build_objective({"name": "mivae", "dims": "disc"}, dataset_size=100, recon="bernoulli")
    obj.check_model(model)
    g = torch.Generator().manual_seed(4)
    model(x, g)  # the VAE's own draws come first
    bound = obj.mi_bound(model, 8, g, x.device)

    g = torch.Generator().manual_seed(4)
    model(x, g)
    z_cont = torch.randn(8, 2, generator=g)
    c = torch.randint(3, (8,), generator=g)
    z = torch.cat([z_cont, F.one_hot(c, 3).float()], 1)
    logits = model.posterior(torch.sigmoid(model.decode(z))).logits[0]
    expected = logits.log_softmax(1)[torch.arange(8), c].mean() + math.log(3)
    assert bound.item() == pytest.approx(expected.item(), rel=1e-6)
    assert bound.item() <= math.log(3)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), k=st.integers(2, 6))
def test_categorical_bound_never_exceeds_log_k(seed, k):
    """I(c; x') <= H(c) = log K, and the bound E log q(c|x') + log K respects it."""
    model = _tiny(latent_dim=1, disc=[k])
    obj = build_objective({"name": "mivae", "dims": "disc"}, dataset_size=10, recon="bernoulli")
    bound = obj.mi_bound(model, 16, torch.Generator().manual_seed(seed), torch.device("cpu"))
    assert bound.item() <= math.log(k) + 1e-6


def test_half_is_the_first_half_of_the_gaussian_dimensions():
    obj = build_objective({"name": "mivae", "dims": "half"}, dataset_size=10, recon="bernoulli")
    assert obj.gaussian_subset(10) == [0, 1, 2, 3, 4]
    assert obj.gaussian_subset(5) == [0, 1]


def test_bound_gradient_reaches_decoder_through_x_prime_and_encoder():
    model = _tiny()
    obj = build_objective({"name": "mivae", "dims": "half"}, dataset_size=10, recon="bernoulli")
    bound = obj.mi_bound(model, 16, torch.Generator().manual_seed(0), torch.device("cpu"))
    enc = torch.autograd.grad(bound, list(model.encoder.parameters()), retain_graph=True)
    dec = torch.autograd.grad(bound, list(model.decoder.parameters()))
    assert all(g.abs().sum() > 0 for g in enc)
    assert all(g.abs().sum() > 0 for g in dec)


def test_lam_zero_is_the_beta_vae_loss():
    model, x = _tiny(), _batch()
    mi = build_objective(
        {"name": "mivae", "beta": 4.0, "lam": 0.0}, dataset_size=10, recon="bernoulli"
    )
    beta = build_objective({"name": "betavae", "beta": 4.0}, dataset_size=10, recon="bernoulli")
    a = mi.loss(model, x, 0, torch.Generator().manual_seed(1))
    b = beta.loss(model, x, 0, torch.Generator().manual_seed(1))
    assert a["loss"].item() == pytest.approx(b["loss"].item(), rel=1e-7)
    assert not a["mi_bound"].requires_grad  # still logged, but outside the graph


def test_warm_up_is_linear():
    obj = build_objective(
        {"name": "mivae", "lam": 2.0, "warmup_steps": 1000}, dataset_size=10, recon="bernoulli"
    )
    assert [obj.lam_at(t) for t in (0, 250, 1000, 5000)] == [0.0, 0.5, 2.0, 2.0]
    none = build_objective({"name": "mivae", "lam": 2.0}, dataset_size=10, recon="bernoulli")
    assert none.lam_at(0) == 2.0


def test_training_decreases_the_loss_and_raises_the_bound(tmp_path):
    """300 steps from the same start: the loss falls, and enforcing the bound (lam = 1) leaves it
    higher than not enforcing it (lam = 0)."""
    bounds = {}
    for lam in (0, 1):
        cfg = _cfg("steps=300", "lr=1e-3", f"lam={lam}")
        s = train(cfg, RunDir.create(tmp_path / f"r{lam}", cfg))
        losses = [r["loss"] for r in s.history]
        assert sum(losses[-3:]) / 3 < 0.6 * sum(losses[:3]) / 3
        bounds[lam] = sum(r["mi_bound"] for r in s.history[-5:]) / 5
    assert bounds[1] > bounds[0] + 1.0


def test_resume_is_bit_for_bit(tmp_path):
    n = 8
    straight = train(_cfg(f"steps={2 * n}"), RunDir.create(tmp_path / "a", _cfg(f"steps={2 * n}")))
    run = RunDir.create(tmp_path / "b", _cfg(f"steps={n}"))
    train(_cfg(f"steps={n}"), run)
    resumed = train(_cfg(f"steps={2 * n}"), run, resume=True)
    for (name, a), (_, b) in zip(
        straight.model.state_dict().items(), resumed.model.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    sa, sb = straight.optimizers["main"].state_dict(), resumed.optimizers["main"].state_dict()
    for pid in sa["state"]:
        assert torch.equal(sa["state"][pid]["exp_avg_sq"], sb["state"][pid]["exp_avg_sq"])


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("dims=third", "objective.dims"),
        ("dims=[]", "objective.dims"),
        ("dims=[0,0]", "twice"),
        ("dims=[-1]", "objective.dims"),
        ("lam=-1", "objective.lam"),
        ("warmup_steps=-5", "objective.warmup_steps"),
    ],
)
def test_bad_parameters_name_the_field(override, fragment):
    with pytest.raises(ConfigError, match=fragment):
        _cfg(override)


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        (["dims=[10]"], "out of range"),
        (["dims=disc"], "needs categorical codes"),
        (["latent_dim=1"], "at least 2 Gaussian"),
    ],
)
def test_subsets_the_model_lacks_are_rejected(tmp_path, overrides, fragment):
    with pytest.raises(ConfigError, match=fragment):
        build_session(_cfg(*overrides), RunDir(tmp_path))
