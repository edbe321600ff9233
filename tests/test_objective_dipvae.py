"""DIP-VAE I and II: the loss against a hand computation, closed-form cases of the covariance
penalty, training and exact resume."""

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
from disentangled.objectives.dipvae import batch_covariance, dip_penalties
from disentangled.train import RunDir, build_session, train

FAST = ["net=mlp", "hidden=32", "subset=256", "batch_size=32", "progress=false", "log_every=10"]


pytestmark = pytest.mark.usefixtures("one_thread")


def _cfg(preset, *extra):
    return load_config(preset=preset, overrides=[*FAST, *extra])


def _cov_by_hand(rows):
    """Biased covariance of a list of M rows of D floats, by loops."""
    M, D = len(rows), len(rows[0])
    mean = [sum(r[d] for r in rows) / M for d in range(D)]
    return [
        [sum((r[i] - mean[i]) * (r[j] - mean[j]) for r in rows) / M for j in range(D)]
        for i in range(D)
    ]


@pytest.mark.parametrize("which", ["dipvae1", "dipvae2"])
def test_loss_matches_hand_computation(which):
    torch.manual_seed(0)
    model = VAE.from_config(ModelConfig(net="mlp", latent_dim=4, hidden=16), (1, 8, 8))
    x = (torch.rand(7, 1, 8, 8, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    obj = build_objective(
        {"name": which, "lambda_od": 3.0, "lambda_d": 5.0}, dataset_size=100, recon="bernoulli"
    )
    terms = obj.loss(model, x, 0, torch.Generator().manual_seed(2))

    post = model.posterior(x)
    eps = torch.randn(post.mu.shape, generator=torch.Generator().manual_seed(2))
    logits = model.decode(post.mu + (0.5 * post.logvar).exp() * eps)
    rec = -(x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).sum().item() / 7
    kl = 0.5 * (post.mu**2 + post.logvar.exp() - 1 - post.logvar).sum().item() / 7
    cov = _cov_by_hand(post.mu.tolist())
    if which == "dipvae2":
        var = post.logvar.exp().mean(0).tolist()
        cov = [
            [c + (var[i] if i == j else 0.0) for j, c in enumerate(row)]
            for i, row in enumerate(cov)
        ]
    off = sum(cov[i][j] ** 2 for i in range(4) for j in range(4) if i != j)
    diag = sum((cov[i][i] - 1) ** 2 for i in range(4))
    assert terms["dip_offdiag"].item() == pytest.approx(off, rel=1e-4, abs=1e-7)
    assert terms["dip_diag"].item() == pytest.approx(diag, rel=1e-5)
    assert terms["loss"].item() == pytest.approx(rec + kl + 3.0 * off + 5.0 * diag, rel=1e-6)


def _whitened(m, d, seed):
    """m rows with mean 0 and biased covariance exactly I (d <= m - 1)."""
    a = torch.randn(m, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    a = a - a.mean(0)
    q, _ = torch.linalg.qr(a)  # orthonormal columns, still orthogonal to the ones vector
    return math.sqrt(m) * q


@settings(max_examples=30, deadline=None)
@given(
    m=st.integers(8, 64),
    d=st.integers(1, 6),
    seed=st.integers(0, 2**31 - 1),
    scale=st.floats(0.1, 3.0),
    shift=st.floats(-5, 5),
)
def test_penalty_of_scaled_white_means(m, d, seed, scale, shift):
    """Means with covariance scale² I (any offset): off-diagonal penalty 0, diagonal
    d (scale² − 1)²."""
    mu = scale * _whitened(m, d, seed) + shift
    off, diag = dip_penalties(batch_covariance(mu))
    assert off.item() == pytest.approx(0.0, abs=1e-9)
    assert diag.item() == pytest.approx(d * (scale**2 - 1) ** 2, rel=1e-7, abs=1e-9)


def test_penalty_of_correlated_means():
    """mu = [u, c u] with Var u = 1: Cov = [[1, c], [c, c²]], off = 2c², diag = (c² − 1)²."""
    u = _whitened(50, 1, 0)
    for c in (0.0, 0.5, 2.0):
        off, diag = dip_penalties(batch_covariance(torch.cat([u, c * u], 1)))
        assert off.item() == pytest.approx(2 * c**2, abs=1e-9)
        assert diag.item() == pytest.approx((c**2 - 1) ** 2, abs=1e-9)


def test_dipvae2_matches_the_covariance_of_qz():
    """Means with covariance (1 − s²) I and posterior variances s²: Cov_q(z) = I, penalty 0 for
    DIP-VAE-II, while DIP-VAE-I sees the means alone ((1 − s²) I)."""
    s2 = 0.36
    mu = math.sqrt(1 - s2) * _whitened(40, 3, 1)
    logvar = torch.full_like(mu, math.log(s2))
    one = build_objective({"name": "dipvae1"}, dataset_size=10, recon="bernoulli")
    two = build_objective({"name": "dipvae2"}, dataset_size=10, recon="bernoulli")
    off2, diag2 = dip_penalties(two.covariance(mu, logvar))
    assert off2.item() == pytest.approx(0, abs=1e-9) and diag2.item() == pytest.approx(0, abs=1e-9)
    off1, diag1 = dip_penalties(one.covariance(mu, logvar))
    assert diag1.item() == pytest.approx(3 * s2**2, rel=1e-9)


def test_covariance_matches_torch_cov():
    mu = torch.randn(33, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    torch.testing.assert_close(batch_covariance(mu), torch.cov(mu.T, correction=0))


@pytest.mark.parametrize("preset", ["dipvae1-dsprites", "dipvae2-dsprites"])
def test_training_decreases_the_loss(tmp_path, preset):
    cfg = _cfg(preset, "steps=300", "lr=1e-3")
    s = train(cfg, RunDir.create(tmp_path / "r", cfg))
    losses = [r["loss"] for r in s.history]
    assert sum(losses[-3:]) / 3 < 0.6 * sum(losses[:3]) / 3


def test_resume_is_bit_for_bit(tmp_path):
    n = 8

    def cfg(steps):
        return _cfg("dipvae2-dsprites", f"steps={steps}")

    straight = train(cfg(2 * n), RunDir.create(tmp_path / "a", cfg(2 * n)))
    run = RunDir.create(tmp_path / "b", cfg(n))
    train(cfg(n), run)
    resumed = train(cfg(2 * n), run, resume=True)
    for (name, a), (_, b) in zip(
        straight.model.state_dict().items(), resumed.model.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    sa, sb = straight.optimizers["main"].state_dict(), resumed.optimizers["main"].state_dict()
    for pid in sa["state"]:
        assert torch.equal(sa["state"][pid]["exp_avg_sq"], sb["state"][pid]["exp_avg_sq"])


def test_presets_follow_the_reference_ratios():
    """REFERENCES.md: λ_d = 10 λ_od for DIP-VAE-I and λ_d = λ_od for DIP-VAE-II."""
    one = load_config(preset="dipvae1-dsprites").objective
    two = load_config(preset="dipvae2-dsprites").objective
    assert one["lambda_d"] == 10 * one["lambda_od"]
    assert two["lambda_d"] == two["lambda_od"]
    assert one["lambda_od"] in (1, 2, 5, 10, 20, 50) and two["lambda_od"] in (1, 2, 5, 10, 20, 50)


@pytest.mark.parametrize("override", ["lambda_od=-1", "lambda_d=-0.5"])
def test_bad_parameters_name_the_field(override):
    with pytest.raises(ConfigError, match="objective." + override.split("=")[0]):
        _cfg("dipvae1-dsprites", override)


def test_categorical_codes_are_rejected(tmp_path):
    with pytest.raises(ConfigError, match="dipvae2 needs a Gaussian code"):
        build_session(_cfg("dipvae2-dsprites", "disc=[3]"), RunDir(tmp_path))
