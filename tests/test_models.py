"""Latents, nets and the VAE-family objectives against closed forms."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from disentangled.config import ModelConfig, load_config
from disentangled.errors import ConfigError
from disentangled.latents import Concrete, JointLatent
from disentangled.models import VAE
from disentangled.nets import build_networks
from disentangled.objectives import build_objective
from disentangled.objectives.schedules import linear_capacity


@pytest.mark.parametrize(
    "net, shape",
    [
        ("burgess", (1, 64, 64)),
        ("burgess", (3, 64, 64)),
        ("conv32", (1, 32, 32)),
        ("conv32", (3, 64, 64)),
        ("mlp", (1, 8, 8)),
    ],
)
def test_networks_map_shapes(net, shape):
    enc, dec = build_networks(net, shape, num_params=20, code_size=10)
    x = torch.rand(3, *shape)
    assert enc(x).shape == (3, 20)
    assert dec(torch.randn(3, 10)).shape == (3, *shape)


def test_burgess_rejects_wrong_size():
    with pytest.raises(ConfigError, match="64x64"):
        build_networks("burgess", (1, 32, 32), 20, 10)


def test_burgess_has_the_papers_multiply_adds():
    """REFERENCES.md: about 12.5 M multiply-adds per image forward (encoder + decoder)."""
    enc, dec = build_networks("burgess", (1, 64, 64), 20, 10)
    macs = 0

    def hook(mod, inp, out):
        nonlocal macs
        if isinstance(mod, torch.nn.Conv2d):
            macs += out[0].numel() * mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1]
        elif isinstance(mod, torch.nn.ConvTranspose2d):
            macs += inp[0][0].numel() * mod.out_channels * mod.kernel_size[0] * mod.kernel_size[1]
        elif isinstance(mod, torch.nn.Linear):
            macs += mod.in_features * mod.out_features

    for m in [*enc.modules(), *dec.modules()]:
        m.register_forward_hook(hook)
    dec(enc(torch.rand(1, 1, 64, 64))[:, :10])
    assert 11e6 < macs < 14e6


def test_concrete_sample_is_a_distribution_and_sharpens():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(500, 5, generator=g)
    soft = Concrete(5, temperature=1.0).sample(logits, g)
    assert torch.allclose(soft.sum(-1), torch.ones(500), atol=1e-6) and (soft >= 0).all()
    sharp = Concrete(5, temperature=0.01).sample(logits, g)
    assert (sharp.max(-1).values > 0.99).float().mean() > 0.95


def test_concrete_frequencies_follow_probabilities():
    g = torch.Generator().manual_seed(1)
    probs = torch.tensor([0.1, 0.2, 0.7])
    logits = probs.log().expand(20000, 3)
    counts = Concrete(3, 0.1).sample(logits, g).argmax(-1).bincount(minlength=3) / 20000
    assert torch.allclose(counts, probs, atol=0.02)


def test_kl_disc_is_log_k_minus_entropy():
    logits = torch.randn(7, 4)
    p = logits.softmax(-1)
    expected = math.log(4) + (p * p.log()).sum(-1)
    assert torch.allclose(Concrete.kl(logits), expected, atol=1e-6)


def test_joint_latent_split_and_mode():
    lat = JointLatent(3, [2, 4])
    assert (lat.num_params, lat.code_size) == (2 * 3 + 6, 3 + 6)
    params = torch.randn(5, lat.num_params)
    post = lat.split(params)
    assert post.mu.shape == (5, 3) and [lg.shape[1] for lg in post.logits] == [2, 4]
    mode = lat.mode(post)
    assert torch.equal(mode[:, :3], post.mu)
    assert torch.equal(mode[:, 3:5].argmax(1), post.logits[0].argmax(1))
    assert lat.disc_capacity_bound == pytest.approx(math.log(2) + math.log(4))


def _model_and_batch():
    torch.manual_seed(0)
    model = VAE.from_config(ModelConfig(net="mlp", latent_dim=4, hidden=32), (1, 8, 8))
    x = (torch.rand(16, 1, 8, 8) > 0.5).float()
    return model, x


def _reference_terms(model, x, seed):
    post = model.posterior(x)
    eps = torch.randn(post.mu.shape, generator=torch.Generator().manual_seed(seed))
    z = post.mu + (0.5 * post.logvar).exp() * eps
    rec = (
        F.binary_cross_entropy_with_logits(model.decode(z), x, reduction="none")
        .sum((1, 2, 3))
        .mean()
    )
    var = post.logvar.exp()
    kl = 0.5 * (post.mu**2 + var - 1 - post.logvar).sum(1).mean()
    return rec, kl


@pytest.mark.parametrize(
    "spec, weight",
    [
        ({"name": "vae"}, lambda kl, c: kl),
        ({"name": "betavae", "beta": 4.0}, lambda kl, c: 4 * kl),
        ({"name": "infomax", "lam": 3.0}, lambda kl, c: kl / 4.0),
        (
            {"name": "capacity", "gamma": 1000.0, "capacity_max": 25.0, "capacity_steps": 100},
            lambda kl, c: 1000 * (kl - c).abs(),
        ),
    ],
)
def test_objectives_match_closed_form(spec, weight):
    model, x = _model_and_batch()
    obj = build_objective(spec, dataset_size=100, recon="bernoulli")
    step = 40
    terms = obj.loss(model, x, step, torch.Generator().manual_seed(7))
    rec, kl = _reference_terms(model, x, 7)
    c = 25.0 * 40 / 100
    assert terms["recon"].item() == pytest.approx(rec.item(), rel=1e-5)
    assert terms["kl"].item() == pytest.approx(kl.item(), rel=1e-5)
    assert terms["kl_dims"].sum().item() == pytest.approx(kl.item(), rel=1e-5)
    assert terms["loss"].item() == pytest.approx((rec + weight(kl, c)).item(), rel=1e-5)


def test_capacity_schedule():
    assert linear_capacity(0, 25, 100_000) == 0
    assert linear_capacity(50_000, 25, 100_000) == pytest.approx(12.5)
    assert linear_capacity(10**6, 25, 100_000) == 25
    assert linear_capacity(5, 25, 0) == 25


def test_infomax_beta_and_rejection():
    cfg = load_config(preset="infomax-dsprites", overrides=["lam=1"])
    obj = build_objective(cfg.objective, dataset_size=10, recon="bernoulli")
    assert obj.beta == pytest.approx(0.5)
    for lam in (-1, -2):
        with pytest.raises(ConfigError, match="lam"):
            load_config(preset="infomax-dsprites", overrides=[f"lam={lam}"])


def test_gaussian_recon_is_sum_of_squares():
    from disentangled.objectives.recon import reconstruction

    logits, x = torch.randn(4, 1, 3, 3), torch.rand(4, 1, 3, 3)
    expected = ((torch.sigmoid(logits) - x) ** 2).sum() / 4
    assert reconstruction("gaussian", logits, x).item() == pytest.approx(expected.item(), rel=1e-6)
