"""β-TCVAE: the loss against a hand computation of both estimators, the decomposition
MI + TC + dwKL of the objective's own estimator, constructed cases, training and exact resume."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from disentangled.config import ModelConfig, load_config
from disentangled.errors import ConfigError
from disentangled.info import kl_normal_std, log_qz_mws
from disentangled.models import VAE
from disentangled.objectives import build_objective
from disentangled.objectives.tcvae import kl_decomposition
from disentangled.train import RunDir, build_session, train

FAST = ["net=mlp", "hidden=32", "subset=256", "batch_size=32", "progress=false", "log_every=10"]


pytestmark = pytest.mark.usefixtures("one_thread")


def _cfg(*extra):
    return load_config(preset="tcvae-dsprites", overrides=[*FAST, *extra])


def _tiny():
    torch.manual_seed(0)
    return VAE.from_config(ModelConfig(net="mlp", latent_dim=3, hidden=16), (1, 8, 8))


def _log_normal(z, mu, logvar):
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mu) ** 2 / math.exp(logvar))


def _decomposition_by_hand(z, mu, lv, n_data, estimator):
    """Loops over samples i, posteriors j and dimensions d, in Python floats."""
    M, D = len(z), len(z[0])

    def weight(i, j):
        if estimator == "mws":
            return 1.0 / M
        if i == j:
            return 1.0 / n_data
        if j == (i + 1) % M:
            return (n_data - M + 1) / (n_data * (M - 1))
        return 1.0 / (M - 1)

    mi = tc = dwkl = 0.0
    for i in range(M):
        dens = [
            [math.exp(_log_normal(z[i][d], mu[j][d], lv[j][d])) for d in range(D)] for j in range(M)
        ]
        log_qz = math.log(sum(weight(i, j) * math.prod(dens[j]) for j in range(M)))
        log_qzd = [math.log(sum(weight(i, j) * dens[j][d] for j in range(M))) for d in range(D)]
        log_qzx = sum(_log_normal(z[i][d], mu[i][d], lv[i][d]) for d in range(D))
        log_pz = sum(_log_normal(z[i][d], 0.0, 0.0) for d in range(D))
        mi += (log_qzx - log_qz) / M
        tc += (log_qz - sum(log_qzd)) / M
        dwkl += (sum(log_qzd) - log_pz) / M
    return mi, tc, dwkl


@pytest.mark.parametrize("estimator", ["mss", "mws"])
def test_loss_matches_hand_computation(estimator):
    model = _tiny()
    x = (torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    spec = {"name": "tcvae", "alpha": 0.5, "beta": 6.0, "gamma": 2.0, "estimator": estimator}
    obj = build_objective(spec, dataset_size=20, recon="bernoulli")
    terms = obj.loss(model, x, 0, torch.Generator().manual_seed(3))

    post = model.posterior(x)
    eps = torch.randn(post.mu.shape, generator=torch.Generator().manual_seed(3))
    z = post.mu + (0.5 * post.logvar).exp() * eps
    logits = model.decode(z)
    rec = -(x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).sum().item() / 5
    mi, tc, dwkl = _decomposition_by_hand(
        z.tolist(), post.mu.tolist(), post.logvar.tolist(), 20, estimator
    )
    assert terms["mi"].item() == pytest.approx(mi, rel=1e-4, abs=1e-5)
    assert terms["tc"].item() == pytest.approx(tc, rel=1e-4, abs=1e-5)
    assert terms["dwkl"].item() == pytest.approx(dwkl, rel=1e-4, abs=1e-5)
    expected = rec + 0.5 * mi + 6.0 * tc + 2.0 * dwkl
    assert terms["loss"].item() == pytest.approx(expected, rel=1e-5)


def _posteriors(seed, m, d, spread=1.0):
    g = torch.Generator().manual_seed(seed)
    mu = spread * torch.randn(m, d, generator=g, dtype=torch.float64)
    logvar = torch.empty(m, d, dtype=torch.float64).uniform_(-3, 1, generator=g)
    z = mu + (0.5 * logvar).exp() * torch.randn(m, d, generator=g, dtype=torch.float64)
    return z, mu, logvar


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    m=st.integers(2, 40),
    d=st.integers(1, 6),
    extra=st.integers(0, 10_000),
    estimator=st.sampled_from(["mss", "mws"]),
)
def test_mi_tc_dwkl_add_up_to_the_sampled_kl(seed, m, d, extra, estimator):
    """MI + TC + dwKL telescopes to mean_i [log q(z_i|x_i) − log p(z_i)]: the estimator's
    log q(z) and log q(z_d) cancel, whatever their constants."""
    z, mu, logvar = _posteriors(seed, m, d)
    parts = kl_decomposition(z, mu, logvar, m + extra, estimator)
    total = parts["mi"] + parts["tc"] + parts["dwkl"]
    assert total.item() == pytest.approx(parts["kl_sample"].item(), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("estimator", ["mss", "mws"])
def test_sampled_kl_estimates_the_closed_form(estimator):
    """Over many samples the objective's kl_sample (= MI + TC + dwKL) matches E KL(q(z|x)||p(z))
    in closed form within Monte Carlo error."""
    z, mu, logvar = _posteriors(0, 1500, 3)
    parts = kl_decomposition(z, mu, logvar, 100_000, estimator)
    closed = kl_normal_std(mu, logvar).sum(1)
    per_sample = (-0.5 * ((z - mu) ** 2 / logvar.exp() + logvar) + 0.5 * z**2).sum(1)
    se = per_sample.std().item() / math.sqrt(1500)
    assert abs(parts["kl_sample"].item() - closed.mean().item()) < 4 * se


def test_mws_terms_sit_chen_constant_away_from_the_papers_values():
    """Logged MWS terms use − log M; Chen et al.'s − log(N·M) moves MI by + log N, TC by
    + (D − 1) log N and dwKL by − D log N, and their sum not at all."""
    z, mu, logvar = _posteriors(2, 16, 4)
    n = 5000
    ours = kl_decomposition(z, mu, logvar, n, "mws")
    log_qz, log_qzd = log_qz_mws(z, mu, logvar, n, paper_constant=True)
    log_qzx = (-0.5 * ((z - mu) ** 2 / logvar.exp() + logvar + math.log(2 * math.pi))).sum(1)
    paper_mi = (log_qzx - log_qz).mean().item()
    paper_tc = (log_qz - log_qzd.sum(1)).mean().item()
    log_n = math.log(n)
    assert paper_mi - ours["mi"].item() == pytest.approx(log_n, rel=1e-9)
    assert paper_tc - ours["tc"].item() == pytest.approx(3 * log_n, rel=1e-9)


@pytest.mark.parametrize("estimator", ["mss", "mws"])
def test_identical_posteriors_have_no_mi_and_no_tc(estimator):
    """All x alike: q(z) = q(z|x), so MI = TC = 0 exactly when the weights of each row sum to 1
    (the stratified weights must)."""
    _, mu, logvar = _posteriors(1, 1, 4)
    mu, logvar = mu.repeat(12, 1), logvar.repeat(12, 1)
    z = mu + (0.5 * logvar).exp() * torch.randn(
        12, 4, generator=torch.Generator().manual_seed(4), dtype=torch.float64
    )
    parts = kl_decomposition(z, mu, logvar, 700, estimator)
    assert abs(parts["mi"].item()) < 1e-12 and abs(parts["tc"].item()) < 1e-12
    assert parts["dwkl"].item() == pytest.approx(parts["kl_sample"].item(), rel=1e-12)


@pytest.mark.parametrize("estimator, tolerance", [("mws", 0.01), ("mss", 0.2)])
def test_independent_dimensions_have_no_tc_and_dependent_ones_do(estimator, tolerance):
    """Narrow posteriors at every combination of 8 values per dimension (a product grid, the
    batch is the whole dataset): q(z) factorises and TC ≈ 0 (MWS weights are then exactly the
    data's; MSS's unequal weights leave a little). With z_0 = z_1 on 8 points TC = log 8."""
    values = torch.linspace(-2, 2, 8, dtype=torch.float64)
    grid = torch.cartesian_prod(values, values)  # (64, 2): all combinations
    diag = torch.stack([values.repeat(8), values.repeat(8)], 1)  # z_0 = z_1
    logvar = torch.full((64, 2), -6.0, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    noise = (0.5 * logvar).exp() * torch.randn(64, 2, generator=g, dtype=torch.float64)
    tc_grid = kl_decomposition(grid + noise, grid, logvar, 64, estimator)["tc"].item()
    tc_diag = kl_decomposition(diag + noise, diag, logvar, 64, estimator)["tc"].item()
    assert abs(tc_grid) < tolerance
    assert tc_diag == pytest.approx(math.log(8), abs=tolerance)


def test_training_decreases_the_loss(tmp_path):
    cfg = _cfg("steps=300", "lr=1e-3")
    s = train(cfg, RunDir.create(tmp_path / "r", cfg))
    losses = [r["loss"] for r in s.history]
    assert sum(losses[-3:]) / 3 < 0.6 * sum(losses[:3]) / 3
    last = s.history[-1]
    assert last["mi"] + last["tc"] + last["dwkl"] == pytest.approx(last["kl_sample"], abs=1e-3)


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


def test_preset_is_the_papers_setting():
    cfg = load_config(preset="tcvae-dsprites")
    assert cfg.objective == {
        "name": "tcvae",
        "alpha": 1.0,
        "beta": 6.0,
        "gamma": 1.0,
        "estimator": "mss",
    }
    assert (
        load_config(preset="tcvae-dsprites", overrides=["estimator=mws"]).objective["estimator"]
        == "mws"
    )


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("estimator=full", "objective.estimator"),
        ("beta=-1", "objective.beta"),
        ("alpha=-0.5", "objective.alpha"),
    ],
)
def test_bad_parameters_name_the_field(override, fragment):
    with pytest.raises(ConfigError, match=fragment):
        _cfg(override)


def test_batch_larger_than_the_dataset_is_a_config_error(tmp_path):
    cfg = _cfg("subset=16", "batch_size=32", "steps=1")
    with pytest.raises(ConfigError, match="batch size <= dataset size"):
        train(cfg, RunDir.create(tmp_path / "r", cfg))


def test_categorical_codes_are_rejected(tmp_path):
    with pytest.raises(ConfigError, match="tcvae needs a Gaussian code"):
        build_session(_cfg("disc=[3]"), RunDir(tmp_path))
