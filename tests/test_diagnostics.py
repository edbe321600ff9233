"""Information diagnostics: estimates against closed forms, the capacity monitor, the loop hook."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from disentangled.cli import main
from disentangled.config import load_config
from disentangled.diagnostics import CapacityMonitor, information_estimates
from disentangled.diagnostics.estimate import Posteriors, reconstruction_at_mode
from disentangled.train import RunDir, train
from disentangled.train.runlog import read_metrics


def _linear_gaussian(n=3000, d=3, a=1.5, s2=0.25, seed=0):
    """x ~ N(0, I), q(z|x) = N(a x, s2): q(z) = N(0, a^2 + s2) per dim, independent dims."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    return Posteriors(
        mu=a * x, logvar=torch.full((n, d), math.log(s2), dtype=torch.float64), probs=[]
    ), g


def test_estimates_match_the_linear_gaussian_closed_form():
    a, s2, d = 1.5, 0.25, 3
    post, g = _linear_gaussian(a=a, s2=s2, d=d)
    est = information_estimates(post, generator=g)
    v = a * a + s2
    kl_post = d * 0.5 * (a * a + s2 - 1 - math.log(s2))  # E_x KL(N(ax, s2) || N(0,1))
    mi = d * 0.5 * math.log(v / s2)  # I(x;z) of the continuous model
    kl_qp = d * 0.5 * (v - 1 - math.log(v))
    # The N-point empirical mixture stands in for the continuous q(z). Over seeds 0..19 the largest
    # errors were 0.080 (kl_post), 0.065 (mi), 0.078 (kl_qz_pz), 0.031 (tc), 0.051 (identity gap).
    assert est["kl_post"] == pytest.approx(kl_post, abs=0.12)
    assert est["mi"] == pytest.approx(mi, abs=0.12)
    assert est["kl_qz_pz"] == pytest.approx(kl_qp, abs=0.12)
    assert abs(est["tc"]) < 0.05  # independent dimensions
    assert est["mi"] <= est["mi_ceiling"] == pytest.approx(math.log(3000))
    # E KL = I + KL(q(z)||p(z)) within the Monte Carlo error of one sample per point
    assert est["kl_post"] == pytest.approx(est["mi"] + est["kl_qz_pz"], abs=0.1)
    assert est["active_units"] == d


def test_correlated_code_has_the_gaussian_total_correlation():
    g = torch.Generator().manual_seed(1)
    n, rho = 4000, 0.8
    u = torch.randn(n, 2, generator=g, dtype=torch.float64)
    mu = torch.stack([u[:, 0], rho * u[:, 0] + math.sqrt(1 - rho**2) * u[:, 1]], 1)
    post = Posteriors(
        mu=mu, logvar=torch.full((n, 2), math.log(0.05), dtype=torch.float64), probs=[]
    )
    est = information_estimates(post, generator=g)
    # q(z) ~ N(0, Sigma + 0.05 I): TC = -1/2 log det(corr)
    c = rho / 1.05
    assert est["tc"] == pytest.approx(-0.5 * math.log(1 - c * c), abs=0.08)


def test_discrete_information_is_exact():
    probs = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.5, 0.5]], dtype=torch.float64)
    post = Posteriors(mu=torch.zeros(4, 0), logvar=torch.zeros(4, 0), probs=[probs])
    est = information_estimates(post)
    # H(E q(c|x)) = log 2; E H(q(c|x)) = (0 + 0 + log2 + log2)/4
    assert est["mi_disc_0"] == pytest.approx(math.log(2) / 2, abs=1e-12)
    assert est["kl_disc_0"] == pytest.approx(math.log(2) / 2, abs=1e-12)


class _FixedDecoder:
    """encode -> zeros; decode -> the given logits for every image: a model with a known NLL."""

    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits

    def encode(self, x):
        return torch.zeros(x.shape[0], 2)

    def decode(self, z):
        return self.logits.expand(z.shape[0], *self.logits.shape)


def test_reconstruction_at_mode_matches_the_bernoulli_closed_form():
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(10, 1, 4, 4, generator=g) > 0.5).float()
    batches = [x[:3], x[3:]]  # unequal batches: the mean is over images, not batches
    # logits 0: p = 1/2 on every pixel, -log p(x|z) = 16 log 2 for every image
    half = reconstruction_at_mode(_FixedDecoder(torch.zeros(1, 4, 4)), batches, "bernoulli")
    assert half == pytest.approx(16 * math.log(2), rel=1e-6)
    # logit l on every pixel: a pixel costs log(1 + e^-l) when on, log(1 + e^l) when off
    lo = 1.5
    want = float(
        (x * math.log1p(math.exp(-lo)) + (1 - x) * math.log1p(math.exp(lo))).sum() / len(x)
    )
    got = reconstruction_at_mode(_FixedDecoder(torch.full((1, 4, 4), lo)), batches, "bernoulli")
    assert got == pytest.approx(want, rel=1e-6)
    # gaussian: the squared error of sigmoid(0) = 1/2 is 1/4 per pixel
    sq = reconstruction_at_mode(_FixedDecoder(torch.zeros(1, 4, 4)), batches, "gaussian")
    assert sq == pytest.approx(16 * 0.25, rel=1e-6)


def test_monitor_warns_once_when_capacity_exceeds_log_n():
    mon = CapacityMonitor(dataset_size=1000)
    assert mon.update(1, {"capacity": 5.0}, {}) == []
    first = mon.update(2, {"capacity": 7.5}, {})
    assert len(first) == 1 and "log N = 6.91" in first[0]
    assert mon.update(3, {"capacity": 8.0}, {}) == []


def test_monitor_is_silent_at_a_capacity_capped_at_log_n():
    """capacity_max=auto logs C = log N rounded to float32, which may be just above log N."""
    bound = math.log(737_280)
    c = float(np.float32(bound))
    assert c > bound  # the premise: float32 rounds this one up
    mon = CapacityMonitor(dataset_size=737_280)
    assert mon.update(1, {"capacity": c}, {}) == []


def test_monitor_is_silent_at_a_discrete_capacity_clipped_at_log_k():
    """C_disc clipped at log 10 is logged in float32, just above log 10; 2.5 nats is above."""
    bound = math.log(10)
    c = float(np.float32(bound))
    assert c > bound  # the premise: float32 rounds this one up
    mon = CapacityMonitor(dataset_size=60_000, disc_bound=bound)
    assert mon.update(1, {"capacity_disc": c}, {}) == []
    warned = mon.update(2, {"capacity_disc": 2.5}, {})
    assert len(warned) == 1 and "sum log K = 2.303" in warned[0]


def test_monitor_warns_when_divergence_grows_but_information_does_not():
    mon = CapacityMonitor(dataset_size=10**6, window=2)
    diag = {"mi_ceiling": 9.0}
    out = []
    for step, (mi, kl) in enumerate([(3.0, 1.0), (4.0, 1.1), (4.01, 2.0), (4.02, 3.0)]):
        out += mon.update(step, {}, {**diag, "mi": mi, "kl_qz_pz": kl})
    assert len(out) == 1 and "not information" in out[0]


def test_monitor_blames_the_estimate_at_its_ceiling():
    mon = CapacityMonitor(dataset_size=10**6, window=1)
    out = []
    for step, (mi, kl) in enumerate([(8.2, 1.0), (8.21, 2.0)]):
        out += mon.update(step, {}, {"mi_ceiling": 8.3, "mi": mi, "kl_qz_pz": kl})
    assert len(out) == 1 and "ceiling" in out[0]


FAST = ["subset=3000", "progress=false", "log_every=10", "batch_size=32"]


def test_training_logs_diagnostics_and_auto_capacity(tmp_path, capsys):
    cfg = load_config(
        preset="capacity-dsprites",
        overrides=[
            *FAST,
            "steps=40",
            "diagnostics_every=20",
            "diagnostics_samples=512",
            "capacity_max=auto",
            "capacity_steps=20",
        ],
    )
    run = RunDir.create(tmp_path / "r", cfg)
    train(cfg, run)
    recs = read_metrics(run.metrics)
    diags = [r for r in recs if r.get("kind") == "diagnostics"]
    assert [r["step"] for r in diags] == [20, 40]
    for r in diags:
        assert r["mi"] <= r["mi_ceiling"] + 1e-6 and r["mi_ceiling"] == pytest.approx(math.log(512))
        assert r["kl_qz_pz"] == pytest.approx(r["tc"] + r["dwkl"], abs=1e-4)
        assert len(r["kl_post_dims"]) == 10
    caps = [r["capacity"] for r in recs if "capacity" in r]
    assert max(caps) == pytest.approx(math.log(3000), rel=1e-6)  # auto = log N


def test_diagnose_command_on_a_trained_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        main(["train", "--preset", "betavae-dsprites", "--out", str(out), "steps=30", *FAST]) == 0
    )
    assert main(["diagnose", str(out), "--images", "800", "--samples", "400"]) == 0
    res = json.loads((out / "eval" / "diagnostics.json").read_text())
    assert res["n_images"] == 800 and res["samples"] == 400
    assert res["mi"] <= math.log(800) + 1e-6
    assert res["kl_qz_pz"] == pytest.approx(res["tc"] + res["dwkl"], abs=1e-4)
    assert res["recon"] == "bernoulli"
    # 64x64 binary images: a Bernoulli NLL is positive and below 4096 log 2 for any decoder
    # better than a coin flip, which a trained one is after 30 steps
    assert 0 < res["recon_mode"] < 4096 * math.log(2)
    printed = capsys.readouterr().out
    assert "I(x;z)" in printed and "reconstruction at mode" in printed
